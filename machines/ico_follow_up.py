"""The ICO's follow-through after a referral: what the council still owes the regulator.

Under UK GDPR Art. 33(4) a council that does not know everything at 72 hours reports what it
knows and follows up: the follow-up report is owed by a date, with what was not yet known.
The ICO may also ask questions, each with a deadline. Each of these is one item, recorded by
whoever handles the ICO (the Information and Records Manager, the DPO), open until the
council's answer is on record. The case's ICO outcome, and the rule that a referred case
cannot close without it, are the breach machine's (machines/breach.py).

No Flask, no queries: the row is any object with the attributes below (models.follow_through.
IcoItem); `model.breach` is its case, with the referral's date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from statemachine import Event, State, StateMachine

from machines.common import (
    Actor,
    Errors,
    as_date,
    event_labels,
    machine_for,
    plain_guards,
    required_text,
    state_labels,
    text,
    uk_date,
    validator,
)
from machines.permissions import Can

FOLLOW_UP_REPORT = "follow_up_report"
QUESTION = "question"
KINDS = (
    (FOLLOW_UP_REPORT, "Follow-up report"),
    (QUESTION, "Question from the ICO"),
)
# How the ICO ends its case (the breach machine's record_ico_outcome).
OUTCOMES = (
    ("no_further_action", "No further action"),
    ("advice", "Advice or recommendations"),
    ("reprimand", "A reprimand"),
    ("enforcement", "Enforcement: a notice or a fine"),
)
OUTCOME_NOTE_MAX = 2_000
ASKED_MAX = 2_000
ANSWER_MAX = 4_000
# How far ahead a due date may be: the ICO's deadlines are weeks, not years.
DUE_WITHIN = dt.timedelta(days=366)

# The ICO's case reference, as its letters give it: IC-123456-A1B2 (older cases: three
# letters and seven digits, such as RFA0123456). Checked after the length, in one pass.
ICO_REFERENCE = re.compile(r"IC-[0-9]{5,8}-[A-Z0-9]{4}|[A-Z]{3}[0-9]{7}")
ICO_REFERENCE_HINT = "like IC-123456-A1B2"


def normalise_ico_reference(value: Any) -> str:
    """An ICO case reference as stored: trimmed, capitals."""
    return text(value).upper()


def ico_reference_error(value: Any, limit: int) -> str | None:
    """The GOV.UK error for an ICO case reference, or None when it is fine."""
    reference = normalise_ico_reference(value)
    if not reference:
        return "Enter the ICO case reference"
    if len(reference) > limit:
        return f"ICO case reference must be {limit:,} characters or fewer"
    if not ICO_REFERENCE.fullmatch(reference):
        return f"Enter the ICO case reference in the correct format, {ICO_REFERENCE_HINT}"
    return None


def is_overdue(model: Any, today: dt.date) -> bool:
    """Open past its due date (UK calendar days)."""
    return model.state == "open" and model.due_on is not None and model.due_on < today


# -- who may do what: the guards, plain functions of (model, actor=None) --------------------


def may_follow_up(model: Any, actor: Actor | None = None) -> bool:
    """Whoever handles the ICO, on a case that was referred and is not closed."""
    breach = model.breach
    return (
        actor is not None
        and actor.can(Can.FOLLOW_UP_WITH_ICO)
        and bool(breach.ico_referred)
        and breach.closed_at is None
    )


def may_record(model: Any, actor: Actor | None = None) -> bool:
    """As may_follow_up, until the ICO's outcome ends its case: nothing is owed after it."""
    return may_follow_up(model, actor) and not model.breach.ico_outcome


# -- the machine ---------------------------------------------------------------------------


@plain_guards
class IcoItemMachine(StateMachine):
    """One thing the ICO is owed after a referral: the follow-up report or an answer.

    {statechart:md}
    """

    draft = State("Not recorded yet", initial=True)
    open = State("Waiting for the council's answer")
    answered = State("Answered", final=True)

    record = Event(draft.to(open, cond=may_record, validators="validate_record"), name="Record it")
    # The ICO agrees more time: the new date, and why.
    change_due = Event(
        open.to.itself(cond=may_follow_up, validators="validate_change_due"),
        name="Change the due date",
    )
    answer = Event(
        open.to(answered, cond=may_follow_up, validators="validate_answer"),
        name="Record the answer sent",
    )

    @validator(may_record)
    def validate_record(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        kind: Any,
        asked: Any,
        received_on: Any,
        due_on: Any,
    ) -> None:
        if kind not in dict(KINDS):
            errors["kind"] = "Select what the ICO is owed"
        if kind == QUESTION:
            required_text(
                errors, "asked", asked, "Enter the ICO's question", "The question", ASKED_MAX
            )
            _day_since_referral(errors, "received_on", received_on, model, now, "asked")
        else:
            required_text(
                errors,
                "asked",
                asked,
                "Enter what was not yet known at 72 hours",
                "What was not yet known",
                ASKED_MAX,
            )
        _due_day(errors, due_on, model, now)

    @validator(may_follow_up)
    def validate_change_due(
        self, errors: Errors, model: Any, now: dt.datetime, due_on: Any, reason: Any
    ) -> None:
        _due_day(errors, due_on, model, now)
        if "due_on" not in errors and as_date(due_on) == model.due_on:
            errors["due_on"] = "Enter a due date different from the one recorded"
        required_text(
            errors,
            "reason",
            reason,
            "Enter why the due date changed",
            "Why the due date changed",
            ASKED_MAX,
        )

    @validator(may_follow_up)
    def validate_answer(
        self, errors: Errors, model: Any, now: dt.datetime, answer: Any, answered_on: Any
    ) -> None:
        required_text(
            errors,
            "answer",
            answer,
            "Enter what the council told the ICO",
            "What the council told the ICO",
            ANSWER_MAX,
        )
        day = as_date(answered_on)
        if day is None:
            errors["answered_on"] = "Enter the date the answer was sent"
        elif day > uk_date(now):
            errors["answered_on"] = "The date the answer was sent must be today or in the past"
        elif day < uk_date(model.recorded_at):
            errors["answered_on"] = (
                "The date the answer was sent must be on or after the day this was recorded"
            )

    # Actions: saving is the audit listener's job.

    def on_record(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        kind: Any = None,
        asked: Any = None,
        received_on: Any = None,
        due_on: Any = None,
    ) -> None:
        model.kind = kind
        model.asked = text(asked)
        model.received_on = as_date(received_on) if kind == QUESTION else None
        model.due_on = as_date(due_on)
        model.recorded_by_id = actor.id
        model.recorded_at = now

    def on_change_due(self, model: Any, due_on: Any = None, reason: Any = None) -> None:
        model.due_on = as_date(due_on)
        model.due_change_reason = text(reason)

    def on_answer(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        answer: Any = None,
        answered_on: Any = None,
    ) -> None:
        model.answer = text(answer)
        model.answered_on = as_date(answered_on)
        model.answered_by_id = actor.id
        model.answered_at = now


def _referred_on(model: Any) -> dt.date | None:
    referred = model.breach.ico_referred_at
    return uk_date(referred) if referred is not None else None


def _day_since_referral(
    errors: Errors, field: str, value: Any, model: Any, now: dt.datetime, what: str
) -> None:
    day = as_date(value)
    referred = _referred_on(model)
    if day is None:
        errors[field] = f"Enter the date the ICO {what}"
    elif day > uk_date(now):
        errors[field] = f"The date the ICO {what} must be today or in the past"
    elif referred is not None and day < referred:
        errors[field] = f"The date the ICO {what} must be on or after the day it was told"


def _due_day(errors: Errors, value: Any, model: Any, now: dt.datetime) -> None:
    # A deadline already passed may be recorded (a letter opened late): it shows as overdue.
    day = as_date(value)
    referred = _referred_on(model)
    if day is None:
        errors["due_on"] = "Enter the date the answer is due"
    elif referred is not None and day < referred:
        errors["due_on"] = "The due date must be on or after the day the ICO was told"
    elif day > uk_date(now) + DUE_WITHIN:
        errors["due_on"] = "The due date must be within a year"


STATE_LABELS: dict[str, str] = state_labels(IcoItemMachine)
EVENT_LABELS: dict[str, str] = event_labels(IcoItemMachine)


def ico_item_machine(model: Any, listeners: Iterable[object] = ()) -> IcoItemMachine:
    """Build the machine for one item; ValueError when its stored state is unknown."""
    return machine_for(IcoItemMachine, model, listeners)
