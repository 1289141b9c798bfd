"""machines.common.enabled_events answers exactly what the machine's enabled_events would.

Every StateMachine in machines/ is found, not listed: a machine or event added tomorrow is
checked too. Each is asked in every state, by a spread of people, about rows whose facts are
drawn at random the first time a guard reads them (so no test needs to know which facts a
guard reads), at a kiosk and away from one, and the answer must be the same events in the
same order as the machine's. Every event that keeps the state (a breach's police details,
meeting, Caldicott agreement; a removal's more time and confirmed whereabouts) must be
enabled somewhere in the sweep, so a guard the table misreads cannot hide behind one that is
never true.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
import itertools
import pkgutil
import random
import sys
import types

import pytest
from statemachine import Event, State, StateMachine

import machines
from machines.common import (
    SCHEDULE,
    Actor,
    GuardError,
    enabled_events,
    machine_for,
    plain_guards,
)
from machines.permissions import Role

NOW = dt.datetime(2026, 3, 2, 10, 30)
IDS = (1, 2, 3, None)
KIOSKS = (None, 7)  # away from a kiosk, and at one (papers in hand at the team base)
# Rows drawn per state: enough that every event that keeps the state is enabled somewhere.
SEEDS = 40


def all_machines() -> list[type[StateMachine]]:
    for module in pkgutil.iter_modules(machines.__path__):
        importlib.import_module(f"machines.{module.name}")
    found = {
        cls
        for module_name, module in sys.modules.items()
        if module_name.startswith("machines.")
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, StateMachine) and cls.__module__ == module_name
    }
    return sorted(found, key=lambda cls: cls.__name__)


def machine_modules(machine_class: type[StateMachine]) -> list:
    """The machine's module and those beside it that hold its rules and facts
    (machines/breach.py with breach_rules.py, breach_report.py, breach_clocks.py)."""
    name = machine_class.__module__
    return [sys.modules[n] for n in sorted(sys.modules) if n == name or n.startswith(name + "_")]


def vocabulary(machine_class: type[StateMachine]) -> list[list[str]]:
    """The words a row's text fields hold (categories, purposes...): every string the
    machine's module keeps in a constant, so the guards that compare them see them. One list
    per constant, so a small set a guard asks about (the police categories) is drawn as
    often as a long one."""
    groups: list[list[str]] = []
    constants = {k: v for m in machine_modules(machine_class) for k, v in vars(m).items()}
    for name, value in sorted(constants.items()):
        if name.startswith("__") or not isinstance(value, dict | tuple | list | frozenset | set):
            continue  # __builtins__ is a dict too
        items = value.keys() if isinstance(value, dict) else value
        words = {
            part
            for item in items
            for part in (item if isinstance(item, tuple) else (item,))
            if isinstance(part, str) and len(part) < 40
        }
        if words:
            groups.append(sorted(words))
    return groups


def _literals(code: types.CodeType):
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _literals(constant)
        elif isinstance(constant, str | tuple | frozenset):
            for part in constant if not isinstance(constant, str) else (constant,):
                if isinstance(part, str) and part.isidentifier():
                    yield part


def compared(machine_class: type[StateMachine]) -> list[str]:
    """The words the machine's module writes in its code ("near_miss"): what a guard may
    compare a fact with, far likelier to matter than any word of a long list."""
    functions = [
        f
        for module in machine_modules(machine_class)
        for value in vars(module).values()
        if getattr(value, "__module__", None) == module.__name__
        for f in ([value] if inspect.isfunction(value) else vars(value).values())
        if inspect.isfunction(f)
    ]
    return sorted({word for f in functions for word in _literals(f.__code__)})


class Row:
    """A row whose every fact is drawn at random when first read, then kept."""

    def __init__(self, state: str, seed: int, groups: list[list[str]], literals: list[str]):
        self.state = state
        self._seed = seed
        self._groups = groups
        self._words = sorted({word for group in groups for word in group})
        self._literals = literals

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        rng = random.Random(f"{self._seed}:{name}")
        if name.endswith("_id"):
            value = rng.choice(IDS)
        elif self._literals and rng.random() < 0.25:
            value = rng.choice(self._literals)  # a category, a purpose: what guards compare
        elif self._groups and rng.random() < 0.3:
            value = rng.choice(rng.choice(self._groups))
        else:
            value = rng.choice(
                [
                    None,
                    True,
                    False,
                    0,
                    1,
                    3,
                    "",
                    "CR/123",
                    NOW - dt.timedelta(hours=rng.choice((1, 30, 100))),
                    NOW.date() + dt.timedelta(days=rng.choice((-30, -1, 0, 1, 30))),
                    rng.choice(self._words) if self._words else "x",
                    rng.choice(self._words) if self._words else "x",
                ]
            )
        setattr(self, name, value)  # the same answer the next time it is read
        return value


def people() -> list[Actor | None]:
    roles = [frozenset()] + [frozenset({role}) for role in Role]
    roles += [frozenset(pair) for pair in itertools.combinations(sorted(Role)[:5], 2)]
    actors: list[Actor | None] = [None, SCHEDULE]
    for n, (person, team, manager) in enumerate(
        itertools.product((1, 2, 3), (1, 2, None), (1, 2, None))
    ):
        actors.append(Actor(person, roles[n % len(roles)], team, manager))
        actors.append(Actor(person, roles[(n * 7 + 3) % len(roles)], team, manager))
    return actors


def by_machine(machine_class, row, actor) -> list[str]:
    machine = machine_for(machine_class, row)
    return [event.id for event in machine.enabled_events(actor=actor, now=NOW)]


@pytest.mark.parametrize("machine_class", all_machines(), ids=lambda cls: cls.__name__)
def test_the_table_gives_the_machines_answer(machine_class):
    groups, literals = vocabulary(machine_class), compared(machine_class)
    seen: set[str] = set()
    asked = 0
    actors = people()
    for state in machine_class.states:
        for seed in range(SEEDS):
            row = Row(state.id, seed, groups, literals)
            machine = machine_for(machine_class, row)  # one per row: building one is slow
            for actor, kiosk_id in itertools.product(actors, KIOSKS):
                expected = [
                    e.id for e in machine.enabled_events(actor=actor, now=NOW, kiosk_id=kiosk_id)
                ]
                answer = enabled_events(machine_class, row, actor, NOW, kiosk_id=kiosk_id)
                assert answer == expected, (
                    state.id,
                    actor,
                    kiosk_id,
                    {k: v for k, v in vars(row).items() if not k.startswith("_")},
                )
                seen.update(expected)
                asked += 1
    # The rows and people reach the guards' both answers: most events were enabled somewhere,
    # and every event that keeps the state (police details, a meeting, more time...).
    events = {event.id for event in machine_class.events}
    assert len(seen) >= len(events) * 0.75, (sorted(events - seen), asked)
    in_state = {
        str(event)
        for state in machine_class.states
        for transition in state.transitions
        if transition.target is state
        for event in transition.events
    }
    assert in_state <= seen, sorted(in_state - seen)


# -- a toy machine with every kind of guard the table allows --------------------------------


def ready(model, actor=None):
    return model.is_ready


def blocked(model):
    return model.is_blocked


def refuses(model):
    return False


def raises(model):
    raise RuntimeError("a guard that raises counts as passing in the library")


@plain_guards
class Toy(StateMachine):
    start = State(initial=True)
    middle = State()
    end = State(final=True)

    go = Event(start.to(middle, cond=ready, unless=blocked) | start.to(end, cond=blocked))
    jump = Event(start.to(end, cond=[ready, raises]))
    back = Event(middle.to(start, cond=refuses, unless=raises) | middle.to(end))
    leave = Event(middle.to(end, cond=ready))
    # A guard named twice is kept once, as first named (the library's spec list does it).
    stay = Event(middle.to.itself(cond=ready, unless=ready))


class Facts:
    def __init__(self, state, ready, blocked):
        self.state, self.is_ready, self.is_blocked = state, ready, blocked


class Shadowing(Facts):
    """A row with a method named like a guard: neither the library nor the table calls it."""

    def ready(self):
        raise AssertionError("a row's method is not the guard")


@pytest.mark.parametrize("row_class", [Facts, Shadowing])
def test_cond_unless_several_transitions_and_raising_guards(row_class):
    answers = set()
    for state, is_ready, is_blocked in itertools.product(("start", "middle"), (0, 1), (0, 1)):
        row = row_class(state, is_ready, is_blocked)
        expected = by_machine(Toy, row, None)
        assert enabled_events(Toy, row, None, NOW) == expected, (state, is_ready, is_blocked)
        answers.add(tuple(expected))
    assert len(answers) >= 3


# -- the check where a machine is declared: only guards the table can call ------------------


def declare(**transitions) -> type[StateMachine]:
    """Declare a two-state machine whose one event `go` has the given guards."""

    @plain_guards
    class Wrong(StateMachine):
        start = State(initial=True)
        end = State(final=True)
        go = Event(start.to(end, **transitions))

        def ready_method(self, model):
            return True

    return Wrong


def test_a_guard_given_by_name_is_refused_where_the_machine_is_declared():
    with pytest.raises(GuardError, match=r"Wrong\.go: the guard 'ready' is a name"):
        declare(cond="ready")
    with pytest.raises(GuardError, match="is a name"):
        declare(cond=ready, unless="blocked")


def test_a_method_of_the_machine_is_refused_as_a_guard():
    with pytest.raises(GuardError, match="'ready_method' must be a module function"):

        @plain_guards
        class Wrong(StateMachine):
            start = State(initial=True)
            end = State(final=True)

            def ready_method(self, model):
                return True

            go = Event(start.to(end, cond=ready_method))


@pytest.mark.parametrize(
    "rule",
    [
        lambda actor, model: True,  # the row must come first, as `model`
        lambda model, actor: True,  # a sender that gives no actor would make it raise
        lambda model, machine=None: True,  # only a machine could give it
        lambda model, **facts: True,
        lambda self, model, actor=None: True,  # a method lifted out of a class
    ],
)
def test_a_guard_taking_what_senders_do_not_give_is_refused(rule):
    with pytest.raises(GuardError, match=r"must take \(model, actor=None"):
        declare(cond=rule)


def test_a_callable_that_is_not_a_function_is_refused():
    with pytest.raises(GuardError, match="must be a module function"):
        declare(cond=functools.partial(ready, actor=None))


def test_an_unknown_stored_state_is_refused():
    machine_class = all_machines()[0]
    with pytest.raises(ValueError, match="unknown state"):
        enabled_events(machine_class, Facts("mislaid", 1, 0), None, NOW)
