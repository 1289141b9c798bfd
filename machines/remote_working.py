"""Working remotely on records: an agreement to work from home or another base by remote
electronic access, which the procedure allows only with agreement (procedure §1).

A practitioner asks (where, why, until when); whoever agrees their requests for papers
agrees or declines (machines.removal.approvers_for: their own line manager, else a line
manager of the team, else an Assistant Director or Director); the person or an approver may
withdraw it; it expires when its end date has passed.

No Flask, no queries: the row is any object with the attributes below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from statemachine import Event, State, StateMachine

from machines.common import (
    SCHEDULE,
    Actor,
    Errors,
    date_ahead,
    event_labels,
    in_team,
    machine_for,
    one_line,
    plain_guards,
    record_decision,
    required_text,
    state_labels,
    text,
    text_validator,
    uk_date,
    validator,
)
from machines.permissions import Can
from machines.removal import may_decide

WHERE_MAX = 200
WHY_MAX = 500
NOTE_MAX = 500


def past_end(model: Any, now: dt.datetime) -> bool:
    """The agreement's last day has gone (UK calendar days)."""
    return model.ends_on is not None and uk_date(now) > model.ends_on


# -- who may do what: the guards, plain functions of (model, actor=None) --------------------


def _is_person(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id is not None and actor.id == model.for_user_id


def may_ask(model: Any, actor: Actor | None = None) -> bool:
    """Team staff ask for themselves."""
    return _is_person(actor, model) and in_team(actor, model) and actor.can(Can.WORK_WITH_PAPERS)


def may_withdraw(model: Any, actor: Actor | None = None, now: dt.datetime | None = None) -> bool:
    """The person, or whoever may agree it, ends it early (not once it has run out)."""
    if now is not None and past_end(model, now):
        return False
    return _is_person(actor, model) or may_decide(model, actor)


def may_expire(model: Any, actor: Actor | None = None, now: dt.datetime | None = None) -> bool:
    """Only the schedule expires an agreement, and only after its end date."""
    return actor == SCHEDULE and now is not None and past_end(model, now)


# -- the machine ---------------------------------------------------------------------------


@plain_guards
class RemoteWorkingMachine(StateMachine):
    """One agreement to work on records away from the office by remote electronic access.

    {statechart:md}
    """

    draft = State("Not asked yet", initial=True)
    asked = State("Waiting for agreement")
    agreed = State("Agreed")
    declined = State("Declined", final=True)
    withdrawn = State("Withdrawn", final=True)
    expired = State("Expired", final=True)

    ask = Event(
        draft.to(asked, cond=may_ask, validators="validate_ask"), name="Ask to work remotely"
    )
    agree = Event(asked.to(agreed, cond=may_decide, validators="validate_agree"), name="Agree")
    decline = Event(
        asked.to(declined, cond=may_decide, validators="validate_decline"), name="Decline"
    )
    withdraw = Event(
        withdrawn.from_(asked, agreed, cond=may_withdraw, validators="validate_withdraw"),
        name="Withdraw the agreement",
    )
    # Sent by `flask expire-agreements` (cron) once the end date has passed; pages show an
    # agreement past its end date as expired before the command has run.
    expire = Event(agreed.to(expired, cond=may_expire), name="Expire")

    # Validators (common.validator): every error at once, and only for someone the guard
    # lets send the event (they run before it).

    @validator(may_ask)
    def validate_ask(
        self, errors: Errors, model: Any, now: dt.datetime, where: Any, why: Any, ends_on: Any
    ) -> None:
        where = one_line(where)
        required_text(errors, "where", where, "Enter where you will work from", "Where", WHERE_MAX)
        required_text(errors, "why", why, "Enter why you need to work there", "Why", WHY_MAX)
        missing = "Enter the date the agreement ends"
        date_ahead(errors, "ends_on", ends_on, now, missing, "The end date")

    validate_agree = text_validator(
        may_decide,
        "note",
        "Note",
        NOTE_MAX,
        passed=(past_end, "The end date asked for has passed: the person must ask again"),
    )

    validate_decline = text_validator(
        may_decide, "reason", "Reason", NOTE_MAX, "Enter why you are declining"
    )
    validate_withdraw = text_validator(may_withdraw, "reason", "Reason", NOTE_MAX)

    # Actions: saving is the audit listener's job.

    def on_ask(
        self,
        model: Any,
        now: dt.datetime,
        where: Any = None,
        why: Any = None,
        ends_on: Any = None,
    ) -> None:
        model.place = one_line(where)
        model.why = text(why)
        model.ends_on = ends_on
        model.asked_at = now

    def on_agree(self, model: Any, actor: Actor, now: dt.datetime, note: Any = None) -> None:
        record_decision(model, actor, now, note)

    def on_decline(self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None) -> None:
        record_decision(model, actor, now, reason, closes=True)

    def on_withdraw(self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None) -> None:
        model.withdrawn_by_id = actor.id
        model.withdrawn_at = now
        model.withdraw_reason = text(reason) or None
        model.closed_at = now

    def on_expire(self, model: Any, now: dt.datetime) -> None:
        model.closed_at = now


STATE_LABELS: dict[str, str] = state_labels(RemoteWorkingMachine)
EVENT_LABELS: dict[str, str] = event_labels(RemoteWorkingMachine)
FINAL_STATES: frozenset[str] = frozenset(s.id for s in RemoteWorkingMachine.states if s.final)


def shown_state(model: Any, now: dt.datetime) -> str:
    """The state a page shows: an agreement past its end date has expired, whether or not
    the scheduled command has recorded it yet."""
    return "expired" if model.state == "agreed" and past_end(model, now) else model.state


def remote_working_machine(model: Any, listeners: Iterable[object] = ()) -> RemoteWorkingMachine:
    """Build the machine for one agreement row; ValueError when its stored state is unknown."""
    return machine_for(RemoteWorkingMachine, model, listeners)
