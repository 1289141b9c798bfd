"""Actions that prevent the next breach: what the decision on a case asks to be done.

Once a case is decided, the Assistant Director or the Information and Records Manager adds
actions (retrain a team, replace lockable bags, change a dispatch check, a disciplinary
investigation), each with an owner and a due date. The owner records it done with the
evidence; only the Assistant Director may accept, with a reason, that one is not needed. The
case closes only when every action is done or accepted as not needed (machines/breach.py).

No Flask, no queries: the row is any object with the attributes below (models.follow_through.
BreachAction); `model.breach` is its case. An owner is given as a `Person` the view found
among the active staff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from statemachine import Event, State, StateMachine

from machines.common import (
    Actor,
    Errors,
    as_date,
    date_ahead,
    event_labels,
    machine_for,
    one_line,
    plain_guards,
    required_text,
    state_labels,
    text,
    validator,
)
from machines.permissions import Can

CATEGORIES = (
    ("training", "Retrain a team or person"),
    ("equipment", "Replace or provide equipment, such as lockable bags"),
    ("process", "Change a process or check, such as the dispatch check"),
    ("disciplinary", "Disciplinary investigation"),
    ("other", "Something else"),
)
DESCRIPTION_MAX = 500
EVIDENCE_MAX = 2_000
REASON_MAX = 1_000
OPEN_STATES = ("open",)


@dataclass(frozen=True)
class Person:
    """An active member of staff, as chosen for an action's owner."""

    id: int
    name: str


def is_overdue(model: Any, today: dt.date) -> bool:
    """Open past its due date (UK calendar days)."""
    return model.state == "open" and model.due_on is not None and model.due_on < today


# -- who may do what: the guards, plain functions of (model, actor=None) --------------------


def _case_open(model: Any) -> bool:
    return model.breach.closed_at is None


def may_plan(model: Any, actor: Actor | None = None) -> bool:
    """The Assistant Director or the Information and Records Manager, once the case is
    decided and until it closes."""
    return (
        actor is not None
        and actor.can(Can.PLAN_BREACH_ACTIONS)
        and model.breach.state == "decided"
        and _case_open(model)
    )


def may_complete(model: Any, actor: Actor | None = None) -> bool:
    """The owner, or a planner recording it for them, until the case closes."""
    if actor is None or not _case_open(model):
        return False
    return actor.id == model.owner_id or actor.can(Can.PLAN_BREACH_ACTIONS)


def may_accept_not_needed(model: Any, actor: Actor | None = None) -> bool:
    """Only the Assistant Director, with a reason."""
    return actor is not None and actor.can(Can.ACCEPT_ACTION_NOT_NEEDED) and _case_open(model)


def may_reassign(model: Any, actor: Actor | None = None) -> bool:
    """A planner gives it to someone else, or moves its date, until the case closes."""
    return actor is not None and actor.can(Can.PLAN_BREACH_ACTIONS) and _case_open(model)


# -- the machine ---------------------------------------------------------------------------


@plain_guards
class BreachActionMachine(StateMachine):
    """One action to prevent the next breach: open until done or accepted as not needed.

    {statechart:md}
    """

    draft = State("Not added yet", initial=True)
    open = State("Open")
    done = State("Done", final=True)
    not_needed = State("Not needed", final=True)

    add = Event(draft.to(open, cond=may_plan, validators="validate_add"), name="Add the action")
    reassign = Event(
        open.to.itself(cond=may_reassign, validators="validate_reassign"),
        name="Save the owner and due date",
    )
    complete = Event(
        open.to(done, cond=may_complete, validators="validate_complete"),
        name="Record it done",
    )
    accept_not_needed = Event(
        open.to(not_needed, cond=may_accept_not_needed, validators="validate_accept_not_needed"),
        name="Accept it is not needed",
    )

    @validator(may_plan)
    def validate_add(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        category: Any,
        description: Any,
        owner: Any,
        due_on: Any,
    ) -> None:
        if category not in dict(CATEGORIES):
            errors["category"] = "Select what kind of action it is"
        required_text(
            errors,
            "description",
            one_line(description),
            "Enter what is to be done",
            "What is to be done",
            DESCRIPTION_MAX,
        )
        _owner_and_date(errors, owner, due_on, now)

    @validator(may_reassign)
    def validate_reassign(
        self, errors: Errors, model: Any, now: dt.datetime, owner: Any, due_on: Any
    ) -> None:
        _owner_and_date(errors, owner, due_on, now)
        if not errors and owner.id == model.owner_id and as_date(due_on) == model.due_on:
            errors["owner"] = "Choose a different owner or due date: these are the ones recorded"

    @validator(may_complete)
    def validate_complete(
        self, errors: Errors, model: Any, now: dt.datetime, evidence: Any
    ) -> None:
        required_text(
            errors,
            "evidence",
            evidence,
            "Enter the evidence that it was done",
            "The evidence",
            EVIDENCE_MAX,
        )

    @validator(may_accept_not_needed)
    def validate_accept_not_needed(
        self, errors: Errors, model: Any, now: dt.datetime, reason: Any
    ) -> None:
        required_text(
            errors,
            "reason",
            reason,
            "Enter why the action is not needed",
            "Why it is not needed",
            REASON_MAX,
        )

    # Actions: saving is the audit listener's job.

    def on_add(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        category: Any = None,
        description: Any = None,
        owner: Person | None = None,
        due_on: Any = None,
    ) -> None:
        model.category = category
        model.description = one_line(description)
        model.owner_id = owner.id
        model.due_on = as_date(due_on)
        model.added_by_id = actor.id
        model.added_at = now

    def on_reassign(self, model: Any, owner: Person | None = None, due_on: Any = None) -> None:
        model.owner_id = owner.id
        model.due_on = as_date(due_on)

    def on_complete(self, model: Any, actor: Actor, now: dt.datetime, evidence: Any = None) -> None:
        model.evidence = text(evidence)
        model.closed_by_id = actor.id
        model.closed_at = now

    def on_accept_not_needed(
        self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None
    ) -> None:
        model.not_needed_reason = text(reason)
        model.closed_by_id = actor.id
        model.closed_at = now


def _owner_and_date(errors: Errors, owner: Any, due_on: Any, now: dt.datetime) -> None:
    if not isinstance(owner, Person):
        errors["owner"] = "Select who owns the action"
    date_ahead(errors, "due_on", due_on, now, "Enter the date it is due", "The due date")


STATE_LABELS: dict[str, str] = state_labels(BreachActionMachine)
EVENT_LABELS: dict[str, str] = event_labels(BreachActionMachine)
CATEGORY_LABELS: dict[str, str] = dict(CATEGORIES)


def breach_action_machine(model: Any, listeners: Iterable[object] = ()) -> BreachActionMachine:
    """Build the machine for one action; ValueError when its stored state is unknown."""
    return machine_for(BreachActionMachine, model, listeners)
