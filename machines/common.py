"""What every machine shares: who is acting, how input is refused, and the rules they share.

No Flask, no queries: these are pure functions of plain values and of the row being moved
(any object with the attributes a machine reads).
"""

from __future__ import annotations

import datetime as dt
import dis
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


def guard(rule: Callable[..., bool]) -> Callable[..., bool]:
    """A transition's `cond`: the rule `rule(actor, model, ...)`, as the machine calls it.

    The rules are plain module functions because views and queries ask them too (which
    buttons, who is waiting); each transition names its rule where it is declared,
    `cond=guard(may_x)`. python-statemachine fills the arguments by name: `model`, `actor`
    and whatever else the rule takes (`now`, `kiosk_id`), each None when the sender gave none,
    so a guard never raises for want of an argument (a guard that raises counts as passing).
    """
    facts = [name for name in inspect.signature(rule).parameters if name not in ("actor", "model")]

    def check(model: Any, actor: Actor | None = None, **given: Any) -> bool:
        return rule(actor, model, **given)

    keyword = inspect.Parameter.KEYWORD_ONLY
    check.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("actor", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
            *(inspect.Parameter(name, keyword, default=None) for name in facts),
        ]
    )
    check.__name__ = check.__qualname__ = rule.__name__  # as the statecharts show it
    check.__doc__ = rule.__doc__
    return check


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
    """
    takes_now = "now" in inspect.signature(rule).parameters

    def decorate(check: Callable[..., None]) -> Callable[..., None]:
        parameters = list(inspect.signature(check).parameters.values())[4:]
        takes_all = any(p.kind is p.VAR_KEYWORD for p in parameters)
        names = [p.name for p in parameters if p.kind is not p.VAR_KEYWORD]

        def method(
            self: Any, model: Any, actor: Actor | None = None, now: Any = None, **sent: Any
        ) -> None:
            if not (rule(actor, model, now) if takes_now else rule(actor, model)):
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


# -- which events a person may send: the machine's transition table, read once per class -------
#
# Building a python-statemachine machine costs ~0.7 ms (it registers every callback), far too
# much per row of a list. The guards are plain functions of the row and the person (they never
# read `self`), so each class's table of state -> transitions -> guards is read once per
# process and the guards are called directly, exactly as the machine would call them.


@dataclass(frozen=True)
class _Guard:
    function: Callable[..., Any]
    expected: bool  # False for `unless=` guards
    parameters: frozenset[str]  # what it takes (a method: besides self), filled by name


@dataclass(frozen=True)
class _Step:
    """One transition out of a state: its event, its guards, and what the library passes."""

    event: str
    guards: tuple[_Guard, ...]
    given: dict[str, Any]  # source, target, state, transition, event (as the machine gives)


@dataclass(frozen=True)
class TransitionTable:
    """A machine class's transitions by source state, with guards callable without a machine.

    `plain` is False when some guard cannot be called that way (it reads `self`, is not a
    method of the class, or takes arguments only a machine can give): then every question is
    answered by building the machine, which is slow but never wrong.
    """

    machine_class: type[StateMachine]
    steps: dict[str, tuple[_Step, ...]]
    guard_names: frozenset[str]
    plain: bool


def _reads_first_argument(function: Callable[..., Any]) -> bool:
    """True when the function's body uses its first argument (`self`), or might."""
    code = function.__code__
    if code.co_argcount == 0:
        return True
    first = code.co_varnames[0]
    if first in code.co_cellvars or "__class__" in code.co_freevars:  # closures, super()
        return True
    for instruction in dis.get_instructions(code):
        if "FAST" in instruction.opname:
            names = (
                instruction.argval
                if isinstance(instruction.argval, tuple)
                else (instruction.argval,)
            )
            if first in names:
                return True
    return False


def _plain_guard(machine_class: type[StateMachine], spec: Any) -> _Guard | None:
    """The guard of a `cond`/`unless` spec as a plain function, or None when it is not one."""
    if inspect.isfunction(spec.func):
        if inspect.getattr_static(machine_class, spec.lookup_name, None) is spec.func:
            return None  # a method given by reference: the library binds it to the machine
        # cond=guard(rule): the library calls it as it is, never bound.
        return _guard_of(spec, spec.func, list(inspect.signature(spec.func).parameters.values()))
    name = spec.func
    if (
        not isinstance(name, str)
        or not name.isidentifier()  # a boolean expression: "a and not b"
        or spec.is_convention
        or name in getattr(machine_class, "_protected_attrs", ())
    ):
        return None
    method = inspect.getattr_static(machine_class, name, None)
    if not inspect.isfunction(method) or _reads_first_argument(method):
        return None
    parameters = list(inspect.signature(method).parameters.values())[1:]
    return _guard_of(spec, functools.partial(method, None), parameters)


def _guard_of(
    spec: Any, function: Callable[..., Any], parameters: list[inspect.Parameter]
) -> _Guard | None:
    if any(p.kind in (p.VAR_KEYWORD, p.POSITIONAL_ONLY) or p.name == "machine" for p in parameters):
        return None
    return _Guard(
        function,
        spec.expected_value is not False,
        frozenset(p.name for p in parameters if p.kind is not p.VAR_POSITIONAL),
    )


@functools.cache
def transition_table(machine_class: type[StateMachine]) -> TransitionTable:
    """Read a machine class's transitions and guards once (the answer never changes)."""
    steps: dict[str, tuple[_Step, ...]] = {}
    names: set[str] = set()
    plain = not getattr(machine_class, "_class_listeners", None)
    for state in machine_class.states:
        if state.states or state.parallel:
            plain = False  # compound states: the machine's configuration is more than one
        found = []
        for transition in state.transitions:
            guards = []
            # In the library's order: by priority, then as declared.
            for spec in sorted(transition.cond, key=lambda s: s.priority):
                guard = _plain_guard(machine_class, spec)
                if guard is None:
                    plain = False
                    continue
                if isinstance(spec.func, str):
                    names.add(spec.func)  # the library looks a name up on the model too
                guards.append(guard)
            for event in transition.events:
                given = {
                    "event": event,
                    "source": transition.source,
                    "target": transition.target,
                    "state": state,
                    "transition": transition,
                }
                found.append(_Step(str(event), tuple(guards), given))
        steps[state.id] = tuple(found)
    return TransitionTable(machine_class, steps, frozenset(names), plain)


def _guards_pass(step: _Step, given: dict[str, Any]) -> bool:
    for guard in step.guards:
        arguments = {name: given[name] for name in guard.parameters if name in given}
        if bool(guard.function(**arguments)) is not guard.expected:
            return False
    return True


@functools.cache
def _model_class_shadows(machine_class: type[StateMachine], model_class: type) -> bool:
    # The library looks each guard name up on the model too, and then calls both.
    names = transition_table(machine_class).guard_names
    return any(hasattr(model_class, name) for name in names)


def enabled_events(
    machine_class: type[StateMachine],
    model: Any,
    actor: Actor | None,
    now: dt.datetime | None,
    **facts: Any,
) -> list[str]:
    """The events whose guards pass for this person and row now: the buttons to render.

    The same events, in the same order, as `machine.enabled_events(actor=..., now=...)` on
    the row's machine, without building one. ValueError when the stored state is unknown.
    """
    table = transition_table(machine_class)
    state = getattr(model, "state", None)
    steps = table.steps.get(state) if isinstance(state, str) else None
    if steps is None:
        machine_for(machine_class, model)  # raises the ValueError naming the row
    shadowed = _model_class_shadows(machine_class, type(model)) or not table.guard_names.isdisjoint(
        getattr(model, "__dict__", ())
    )
    if not table.plain or shadowed:
        machine = machine_for(machine_class, model)
        return [e.id for e in machine.enabled_events(actor=actor, now=now, **facts)]
    given = {**facts, "actor": actor, "now": now, "model": model}
    enabled: list[str] = []
    for step in steps:
        if step.event in enabled:
            continue
        try:
            passes = _guards_pass(step, {**given, **step.given})
        except Exception:  # noqa: BLE001 - the library counts a guard that raises as passing
            passes = True
        if passes:
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
