"""What every machine shares: who is acting, how input is refused, and the rules they share.

No Flask, no queries: these are pure functions of plain values and of the row being moved
(any object with the attributes a machine reads).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from statemachine import State, StateMachine
from statemachine.transition_list import TransitionList

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


# A validator's errors as it collects them: form field name -> GOV.UK error message.
Errors = dict[str, str]


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


def stays_in(*states: State, cond: Callable[..., bool], validators: str) -> TransitionList:
    """A self-transition of each state, all with the same guard and validator: a fact
    recorded wherever the row stands, version-checked and audited like any other change."""
    transitions = [state.to.itself(cond=cond, validators=validators) for state in states]
    return functools.reduce(operator.or_, transitions)


@contextmanager
def input_errors() -> Iterator[dict[str, str]]:
    """Collect each field's error, then raise them together: GOV.UK pages show every error
    at once, so a validator checks every field before refusing."""
    errors: dict[str, str] = {}
    yield errors
    if errors:
        raise InputError(errors)


def validator(
    rule: Callable[..., bool], *, needs_now: bool = True
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Make `check(self, errors, model, now, <answers>)` a machine's validator.

    python-statemachine runs validators before guards, so the validator first asks `rule`
    (with `now` when the rule takes it) and stays silent for someone it refuses: the guard
    then refuses the event (TransitionNotAllowed) instead of the form showing errors. Then
    it needs the time (unless `needs_now=False`), and raises every error `check` adds to
    `errors` together. The answers are `check`'s parameters after `now`, filled by name from
    what the event was sent with (None when not sent; `actor` too when named), or all of it
    when `check` takes `**answers`.

    Unlike guards, validators stay methods named on the transition (`validators="validate_x"`),
    the library's own way: they run only in a built machine (on send, and in
    models.transitions.check_transition, which finds them by those names), never per row of
    a list, so nothing needs to call them without one.
    """
    takes_now = "now" in inspect.signature(rule).parameters

    def decorate(check: Callable[..., None]) -> Callable[..., None]:
        parameters = list(inspect.signature(check).parameters.values())[4:]
        takes_all = any(p.kind is p.VAR_KEYWORD for p in parameters)
        names = [p.name for p in parameters if p.kind is not p.VAR_KEYWORD]

        def method(
            self: Any, model: Any, actor: Actor | None = None, now: Any = None, **sent: Any
        ) -> None:
            if not (rule(model, actor, now=now) if takes_now else rule(model, actor)):
                return
            if needs_now:
                require_now(now)
            given = {"actor": actor, **sent}
            answers = given if takes_all else {name: given.get(name) for name in names}
            with input_errors() as errors:
                check(self, errors, model, now, **answers)

        method.__name__ = check.__name__
        method.__qualname__ = check.__qualname__
        method.__doc__ = check.__doc__
        return method

    return decorate


def text_validator(
    rule: Callable[..., bool],
    field: str,
    name: str,
    limit: int,
    missing: str | None = None,
    *,
    passed: tuple[Callable[[Any, dt.datetime], bool], str] | None = None,
    needs_now: bool = False,
) -> Callable[..., None]:
    """A machine's validator of one free-text answer (a note, a reason): required when
    `missing` is given. `passed` is (has what was asked for passed?, the error on the field
    when it has): a request can wait past its own date. A class names it once:
    `validate_x = text_validator(...)`."""

    @validator(rule, needs_now=needs_now or passed is not None)
    def check(self: Any, errors: Errors, model: Any, now: Any, **answers: Any) -> None:
        if passed is not None and passed[0](model, now):
            errors[field] = passed[1]
        if missing is None:
            optional_text(errors, field, answers.get(field), name, limit)
        else:
            required_text(errors, field, answers.get(field), missing, name, limit)

    return check


# -- what request lifecycles record the same way ----------------------------------------------


def date_ahead(
    errors: Errors, field: str, value: Any, now: dt.datetime, missing: str, name: str
) -> None:
    """A date from today (UK) to a year ahead: `missing` when none was given, else an error
    naming it (`name`, "The end date") when it is past or further off."""
    today = uk_date(now)
    if not isinstance(value, dt.date):
        errors[field] = missing
    elif value < today:
        errors[field] = f"{name} must be today or in the future"
    elif value > today + dt.timedelta(days=366):
        errors[field] = f"{name} must be within a year"


def record_decision(
    model: Any, actor: Actor, now: dt.datetime, note: Any, *, closes: bool = False
) -> None:
    """Who agreed or declined a request, when, and their words; a decline closes it."""
    model.decided_by_id = actor.id
    model.decided_at = now
    model.decision_note = text(note) or None
    if closes:
        model.closed_at = now


# -- building a machine for a row -------------------------------------------------------------

M = TypeVar("M", bound=StateMachine)


def machine_for(machine_class: type[M], model: Any, listeners: Iterable[object] = ()) -> M:
    """Build `machine_class` bound to a row; ValueError when its stored state is unknown."""
    check_stored_state(machine_class, model)
    return machine_class(model=model, state_field="state", listeners=list(listeners))


def check_stored_state(machine_class: type[StateMachine], model: Any) -> None:
    """ValueError naming the row when its stored state is not one of `machine_class`'s.

    python-statemachine would otherwise fail late, with a bare KeyError, on first use.
    """
    state = getattr(model, "state", None)
    if not isinstance(state, str) or state not in transition_table(machine_class):
        raise ValueError(
            f"{machine_class.__name__} row {getattr(model, 'id', None)!r} has unknown "
            f"state {state!r}"
        )


def state_labels(machine_class: type[StateMachine]) -> dict[str, str]:
    """State id -> the words people read ("Out of the office"), from the machine's states."""
    return {state.id: state.name for state in machine_class.states}


def event_labels(machine_class: type[StateMachine]) -> dict[str, str]:
    """Event id -> its button text, from the machine's events."""
    return {event.id: event.name for event in machine_class.events}


# -- which events a person may send: the machine's transitions, read once per class ----------
#
# Building a python-statemachine machine costs ~0.7 ms (it registers every callback), far too
# much per row of a list. So every guard is a plain module function of the row and the person
# (and `now`, `kiosk_id` where it weighs them), declared on its transition: `cond=may_check`.
# The library calls it with those arguments by name; `enabled_events` below reads each class's
# transitions once and calls the same functions with the same arguments, without a machine.
#
# python-statemachine 3.2.2 documents `cond=`/`unless=` but no way to read them back; its
# `Transition.cond` iterates the specs it keeps, whose `func` is the function passed and whose
# `expected_value` is False for `unless=` (plain attributes, if not in the user guide).

# What a guard may take, by these names: the row (always given), then the facts each sender
# gives (a missing one is None, so give each a default: a guard that raises counts as passing).
GUARD_ARGUMENTS = ("model", "actor", "now", "kiosk_id")


class GuardError(TypeError):
    """A transition's guard that only a machine could call (refused when the class is read)."""


@dataclass(frozen=True)
class Step:
    """One transition out of a state: its event and its guards as (function, arguments,
    the answer that lets the event through: False for `unless=`)."""

    event: str
    guards: tuple[tuple[Callable[..., Any], tuple[str, ...], bool], ...]

    def allows(self, facts: dict[str, Any]) -> bool:
        for rule, arguments, passes in self.guards:
            try:
                if bool(rule(*[facts[name] for name in arguments])) is not passes:
                    return False
            except Exception:  # noqa: BLE001 - as the library: a guard that raises lets it through
                return True
        return True


def plain_guard(machine_class: type[StateMachine], event: str, rule: Any) -> tuple[str, ...]:
    """The arguments `rule` takes, once it is sure to be a plain function of them."""
    where = f"{machine_class.__name__}.{event}: the guard {getattr(rule, '__name__', rule)!r}"
    if isinstance(rule, str):
        raise GuardError(f"{where} is a name: pass the module function itself (cond=may_x)")
    if not inspect.isfunction(rule) or getattr(machine_class, rule.__name__, None) is rule:
        raise GuardError(f"{where} must be a module function, not a method (it would get self)")
    parameters = list(inspect.signature(rule).parameters.values())
    if (
        not parameters
        or parameters[0].name != "model"
        or any(
            p.name not in GUARD_ARGUMENTS or p.kind is not p.POSITIONAL_OR_KEYWORD
            for p in parameters
        )
        or any(p.default is p.empty for p in parameters[1:])
    ):
        raise GuardError(
            f"{where} must take (model, actor=None[, now=None][, kiosk_id=None]), "
            f"not {inspect.signature(rule)}"
        )
    return tuple(p.name for p in parameters)


@functools.cache
def transition_table(machine_class: type[StateMachine]) -> dict[str, tuple[Step, ...]]:
    """State id -> the steps out of it, in the library's order; GuardError for a guard only
    a machine could call. Read once per class: the answer never changes."""
    return {
        state.id: tuple(
            Step(
                str(event),
                tuple(
                    (
                        spec.func,
                        plain_guard(machine_class, str(event), spec.func),
                        spec.expected_value is not False,
                    )
                    for spec in transition.cond
                ),
            )
            for transition in state.transitions
            for event in transition.events
        )
        for state in machine_class.states
    }


def plain_guards(machine_class: type[M]) -> type[M]:
    """Class decorator: read the machine's transitions at import, so a guard that only a
    machine could call (a name, a method) fails there, not on the first list of rows."""
    transition_table(machine_class)
    return machine_class


def enabled_events(
    machine_class: type[StateMachine],
    model: Any,
    actor: Actor | None,
    now: dt.datetime | None,
    kiosk_id: int | None = None,
) -> list[str]:
    """The events whose guards pass for this person and row now: the buttons to render.

    The same events, in the same order, as `machine.enabled_events(actor=..., now=...)` on
    the row's machine, without building one. ValueError when the stored state is unknown.
    """
    state = getattr(model, "state", None)
    steps = transition_table(machine_class).get(state) if isinstance(state, str) else None
    if steps is None:
        machine_for(machine_class, model)  # raises the ValueError naming the row
    facts = {"model": model, "actor": actor, "now": now, "kiosk_id": kiosk_id}
    enabled: list[str] = []
    for step in steps:
        if step.event not in enabled and step.allows(facts):
            enabled.append(step.event)
    return enabled


def final_events(machine_class: type[StateMachine]) -> frozenset[str]:
    """The events that can end the lifecycle: nothing undoes them, so pages ask first."""
    return frozenset(
        event.id
        for state in machine_class.states
        for transition in state.transitions
        if transition.target is not None and transition.target.final
        for event in transition.events
    )
