"""What every machine shares: who is acting, how input is refused, and the rules they share.

No Flask, no queries: these are pure functions of plain values and of the row being moved
(any object with the attributes a machine reads).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from statemachine import StateMachine

from machines.permissions import Can, grants

UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Actor:
    """The signed-in person a transition is attempted by (built by the view from the user)."""

    id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    team_id: int | None = None
    line_manager_id: int | None = None

    def can(self, capability: Can) -> bool:
        """Return True when one of the actor's roles grants the capability."""
        return grants(self.roles, capability)


# A scheduled command acting on its own (an agreement expiring when its end date passes): no
# person, no roles; the audit trail records no actor for it. Only guards that ask for it let
# it through, and no person can be it (every person has an id).
SCHEDULE = Actor(id=None)


class InputError(Exception):
    """A validator's refusal: form field name -> GOV.UK error message ("Enter the ...")."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# -- input values (the views parse forms; the machines read what they were given) ----------

_TRUE = {"true", "yes", "y", "on", "1"}


def text(value: Any) -> str:
    """A value as stripped text ("" when missing)."""
    return "" if value is None else str(value).strip()


def one_line(value: Any) -> str:
    """A value with its runs of whitespace (newlines too) collapsed to single spaces."""
    return " ".join(text(value).split())


def confirmed(value: Any) -> bool:
    """True for a ticked checkbox: True, or a string such as "yes" / "true" / "on"."""
    if isinstance(value, bool):
        return value
    return text(value).lower() in _TRUE


_DIGITS = re.compile(r"[0-9]+")
_GROUPED_DIGITS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")


def whole_number(value: Any, maximum: int, *, grouped: bool = False) -> int | None:
    """The one way a number is read: an int from 0 to `maximum`, or None.

    Text must be ASCII digits (optionally grouped with commas): `str.isdigit()` and `int()`
    accept "²" and other Unicode digits, and int() then raises or reads them as numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= maximum else None
    if not is_digits(value, grouped=grouped):
        return None
    digits = text(value).replace(",", "").lstrip("0") or "0"
    # Compare lengths first: int() of thousands of digits is slow, and refused past 4,300.
    if len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


def is_digits(value: Any, *, grouped: bool = False) -> bool:
    """True for text of ASCII digits only (optionally grouped with commas)."""
    return bool((_GROUPED_DIGITS if grouped else _DIGITS).fullmatch(text(value)))


def as_datetime(value: Any) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def uk_date(utc: dt.datetime) -> dt.date:
    """The UK calendar day of a naive UTC time (the day people mean)."""
    return utc.replace(tzinfo=dt.UTC).astimezone(UK).date()


def required_text(
    errors: dict[str, str], field: str, value: Any, missing: str, name: str, limit: int
) -> str:
    """Required free text: add `missing` when empty, a length error naming the limit when
    too long (refused, never cut)."""
    value = text(value)
    if not value:
        errors[field] = missing
    elif len(value) > limit:
        errors[field] = f"{name} must be {limit:,} characters or fewer"
    return value


def optional_text(errors: dict[str, str], field: str, value: Any, name: str, limit: int) -> str:
    """Optional free text: a length error naming the limit when too long."""
    value = text(value)
    if len(value) > limit:
        errors[field] = f"{name} must be {limit:,} characters or fewer"
    return value


def require_now(now: dt.datetime | None) -> None:
    """The caller passes the time; the machines never read the clock."""
    if not isinstance(now, dt.datetime):
        raise TypeError("pass now= (a naive UTC datetime) when sending an event")


# -- case-system IDs: one rule for records, dispatches and breach reports --------------------

CASE_ID_MIN = 3
CASE_ID_MAX = 20
# Digits, optionally after a letter prefix and a hyphen: 1234567, MOS-1234567, AB12345.
_CASE_ID = re.compile(r"(?:[A-Z]+-?)?[0-9]+")
CASE_ID_HINT = "digits, which may follow letters and a hyphen, like 1234567 or MOS-1234567"


def normalise_case_id(value: Any) -> str:
    """A case-system ID as stored: trimmed, capitals."""
    return text(value).upper()


def is_case_id(value: str) -> bool:
    """True for a normalised case-system ID that follows the one rule."""
    return CASE_ID_MIN <= len(value) <= CASE_ID_MAX and bool(_CASE_ID.fullmatch(value))


def case_id_error(value: Any, required: bool = True) -> str | None:
    """The GOV.UK error for a case-system ID, or None when it is fine (or optional and empty)."""
    case_id = normalise_case_id(value)
    if not case_id:
        return "Enter the case-system ID" if required else None
    if not is_case_id(case_id):
        return (
            f"Enter the case-system ID in the correct format: {CASE_ID_MIN} to {CASE_ID_MAX} "
            f"characters, {CASE_ID_HINT}"
        )
    return None


# -- relations every lifecycle asks about ----------------------------------------------------


def in_team(actor: Actor | None, model: Any) -> bool:
    """The actor works in the row's team."""
    return actor is not None and actor.team_id is not None and actor.team_id == model.team_id


def manages_team(actor: Actor | None, model: Any) -> bool:
    """A line manager of the row's team."""
    return in_team(actor, model) and actor.can(Can.MANAGE_TEAM_WORK)


# -- how a machine asks its rules and reports input ------------------------------------------


def guard(rule: Callable[[Actor | None, Any], bool]) -> Callable[..., bool]:
    """A machine's guard method that asks `rule(actor, model)`.

    The rules are plain module functions because views and queries ask them too (which
    buttons, who is waiting); the machine names each once, `can_x = guard(may_x)`, and
    python-statemachine fills `model` and `actor` by name.
    """

    def method(self: Any, model: Any, actor: Actor | None = None) -> bool:
        return rule(actor, model)

    method.__name__ = method.__qualname__ = f"guard_{rule.__name__}"
    method.__doc__ = rule.__doc__
    return method


@contextmanager
def input_errors() -> Iterator[dict[str, str]]:
    """Collect each field's error, then raise them together: GOV.UK pages show every error
    at once, so a validator checks every field before refusing."""
    errors: dict[str, str] = {}
    yield errors
    if errors:
        raise InputError(errors)


# -- building a machine for a row -------------------------------------------------------------

M = TypeVar("M", bound=StateMachine)


def machine_for(machine_class: type[M], model: Any, listeners: Iterable[object] = ()) -> M:
    """Build `machine_class` bound to a row; ValueError when its stored state is unknown.

    python-statemachine would otherwise fail late, with a bare KeyError, on first use.
    """
    state = getattr(model, "state", None)
    if state not in {s.id for s in machine_class.states}:
        raise ValueError(
            f"{machine_class.__name__} row {getattr(model, 'id', None)!r} has unknown "
            f"state {state!r}"
        )
    return machine_class(model=model, state_field="state", listeners=list(listeners))


def state_labels(machine_class: type[StateMachine]) -> dict[str, str]:
    """State id -> the words people read ("Out of the office"), from the machine's states."""
    return {state.id: state.name for state in machine_class.states}


def event_labels(machine_class: type[StateMachine]) -> dict[str, str]:
    """Event id -> its button text, from the machine's events."""
    return {event.id: event.name for event in machine_class.events}


def final_events(machine_class: type[StateMachine]) -> frozenset[str]:
    """The events that can end the lifecycle: nothing undoes them, so pages ask first."""
    return frozenset(
        event.id
        for state in machine_class.states
        for transition in state.transitions
        if transition.target is not None and transition.target.final
        for event in transition.events
    )
