"""Record custody: one removal of one record from the office (DOMAIN.md §1, procedure §1).

Papers leave only for an agreed purpose (court, a professional meeting, a meeting with the
service user) or with the line manager's recorded agreement; they go out with the four
safeguards attested, and they come back, are destroyed, or are reported lost.

No Flask, no queries: the row is any object with the attributes below, and the one effect
that touches other rows (opening the breach case for lost papers) is a method on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from statemachine import State, StateMachine

from machines.common import Actor, InputError

STATE_LABELS: dict[str, str] = {
    "in_office": "In the office",
    "requested": "Awaiting approval",
    "approved_for_removal": "Approved to take out",
    "out": "Out of the office",
    "returned": "Returned",
    "destroyed": "Destroyed",
    "lost": "Reported lost",
    "declined": "Declined",
    "cancelled": "Cancelled",
}

EVENT_LABELS: dict[str, str] = {
    "request": "Request removal",
    "approve": "Approve",
    "decline": "Decline",
    "cancel": "Cancel request",
    "take_out": "Take out",
    "return_papers": "Return papers",
    "destroy": "Record destruction",
    "report_lost": "Report lost",
}

# Purposes the procedure agrees in advance: these need no line manager's agreement.
PRE_AUTHORISED = frozenset({"court", "professional_meeting", "service_user_meeting"})

PURPOSES: tuple[tuple[str, str], ...] = (
    ("court", "Court"),
    ("professional_meeting", "A professional meeting"),
    ("service_user_meeting", "A meeting with the service user"),
    ("other", "Something else"),
)

SAFEGUARDS: tuple[tuple[str, str], ...] = (
    ("lockable_bag", "The papers are in a lockable bag"),
    ("laptop_protected", "Any laptop is password protected and in the bag"),
    ("no_usb_stick", "I am not carrying the information on a USB memory stick"),
    ("notebook_secure", "My notebook is kept secure"),
)
SAFEGUARD_ERRORS: dict[str, str] = {
    "lockable_bag": "Confirm the papers are in a lockable bag",
    "laptop_protected": "Confirm any laptop is password protected and in the bag",
    "no_usb_stick": "Confirm you are not carrying the information on a USB memory stick",
    "notebook_secure": "Confirm your notebook is kept secure",
}

DESTRUCTION_METHODS: tuple[tuple[str, str], ...] = (
    ("shredded", "Shredded"),
    ("confidential_waste", "Confidential waste"),
)

NOTE_MAX = 500
WITNESS_MAX = 120
WHERE_MAX = 300
_TRUE = {"true", "yes", "y", "on", "1"}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _confirmed(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in _TRUE


def is_pre_authorised(purpose: str | None) -> bool:
    return purpose in PRE_AUTHORISED


# -- who may do what (pure; the machine's guards call these) -------------------------------


def _in_team(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.team_id is not None and actor.team_id == model.team_id


def _is_holder(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.for_user_id


def _is_requester(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id in (model.requested_by_id, model.for_user_id)


def _is_team_line_manager(actor: Actor | None, model: Any) -> bool:
    return _in_team(actor, model) and actor.has("line_manager")


def may_request(actor: Actor | None, model: Any) -> bool:
    """Team staff ask for papers for themselves, never on someone else's behalf."""
    return (
        _is_holder(actor, model)
        and _in_team(actor, model)
        and actor.has("practitioner", "line_manager")
    )


def may_decide(actor: Actor | None, model: Any) -> bool:
    """The requester's line manager, or another line manager of the team; never the requester."""
    if actor is None or _is_requester(actor, model) or not actor.has("line_manager"):
        return False
    return actor.id == model.requester_manager_id or _in_team(actor, model)


def may_cancel(actor: Actor | None, model: Any) -> bool:
    return _is_requester(actor, model) or _is_team_line_manager(actor, model)


def may_take_out(actor: Actor | None, model: Any) -> bool:
    """Only the person the removal is for carries the papers out."""
    return _is_holder(actor, model)


def may_close_out(actor: Actor | None, model: Any) -> bool:
    """Return, destroy or report lost: the holder, or a line manager of the team."""
    return _is_holder(actor, model) or _is_team_line_manager(actor, model)


# -- the machine ---------------------------------------------------------------------------


class RemovalMachine(StateMachine):
    """One removal of one record: requested, agreed, taken out, and back or destroyed.

    {statechart:md}
    """

    in_office = State(STATE_LABELS["in_office"], initial=True)
    requested = State(STATE_LABELS["requested"])
    approved_for_removal = State(STATE_LABELS["approved_for_removal"])
    out = State(STATE_LABELS["out"])
    returned = State(STATE_LABELS["returned"], final=True)
    destroyed = State(STATE_LABELS["destroyed"], final=True)
    lost = State(STATE_LABELS["lost"], final=True)
    declined = State(STATE_LABELS["declined"], final=True)
    cancelled = State(STATE_LABELS["cancelled"], final=True)

    # An agreed purpose needs nobody's approval; anything else waits for the line manager.
    request = in_office.to(
        approved_for_removal, cond=["can_request", "purpose_pre_authorised"]
    ) | in_office.to(requested, cond="can_request", unless="purpose_pre_authorised")
    approve = requested.to(approved_for_removal, cond="can_decide", validators="validate_approve")
    decline = requested.to(declined, cond="can_decide", validators="validate_decline")
    cancel = cancelled.from_(
        requested, approved_for_removal, cond="can_cancel", validators="validate_cancel"
    )
    take_out = approved_for_removal.to(out, cond="can_take_out", validators="validate_take_out")
    return_papers = out.to(returned, cond="can_close_out")
    destroy = out.to(destroyed, cond="can_close_out", validators="validate_destroy")
    report_lost = out.to(lost, cond="can_close_out", validators="validate_report_lost")

    # Guards: called with the `actor` kwarg by send() and enabled_events(). They must not
    # raise: enabled_events() treats a guard that raises as *passing*.

    def purpose_pre_authorised(self, model: Any) -> bool:
        return is_pre_authorised(model.purpose)

    def can_request(self, model: Any, actor: Actor | None = None) -> bool:
        return may_request(actor, model)

    def can_decide(self, model: Any, actor: Actor | None = None) -> bool:
        return may_decide(actor, model)

    def can_cancel(self, model: Any, actor: Actor | None = None) -> bool:
        return may_cancel(actor, model)

    def can_take_out(self, model: Any, actor: Actor | None = None) -> bool:
        return may_take_out(actor, model)

    def can_close_out(self, model: Any, actor: Actor | None = None) -> bool:
        return may_close_out(actor, model)

    # Validators run before the guards (python-statemachine's order), so each one first asks
    # the guard and stays silent when the person may not send the event: the guard refuses.

    def validate_approve(self, model: Any, actor: Actor | None = None, note: Any = None) -> None:
        if may_decide(actor, model) and len(_text(note)) > NOTE_MAX:
            raise InputError({"note": f"Note must be {NOTE_MAX} characters or fewer"})

    def validate_decline(self, model: Any, actor: Actor | None = None, reason: Any = None) -> None:
        if not may_decide(actor, model):
            return
        reason = _text(reason)
        if not reason:
            raise InputError({"reason": "Enter why you are declining the request"})
        if len(reason) > NOTE_MAX:
            raise InputError({"reason": f"Reason must be {NOTE_MAX} characters or fewer"})

    def validate_cancel(self, model: Any, actor: Actor | None = None, reason: Any = None) -> None:
        if may_cancel(actor, model) and len(_text(reason)) > NOTE_MAX:
            raise InputError({"reason": f"Reason must be {NOTE_MAX} characters or fewer"})

    def validate_take_out(self, model: Any, actor: Actor | None = None, **safeguards: Any) -> None:
        if not may_take_out(actor, model):
            return
        errors = {
            key: message
            for key, message in SAFEGUARD_ERRORS.items()
            if not _confirmed(safeguards.get(key))
        }
        if errors:
            raise InputError(errors)

    def validate_destroy(
        self, model: Any, actor: Actor | None = None, method: Any = None, witness: Any = None
    ) -> None:
        if not may_close_out(actor, model):
            return
        errors: dict[str, str] = {}
        if _text(method) not in dict(DESTRUCTION_METHODS):
            errors["method"] = "Select how the papers were destroyed"
        witness = _text(witness)
        if not witness:
            errors["witness"] = "Enter the name of the witness"
        elif len(witness) > WITNESS_MAX:
            errors["witness"] = f"Witness name must be {WITNESS_MAX} characters or fewer"
        if errors:
            raise InputError(errors)

    def validate_report_lost(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        last_seen_where: Any = None,
        last_seen_at: Any = None,
    ) -> None:
        if not may_close_out(actor, model):
            return
        _require_now(now)
        errors: dict[str, str] = {}
        where = _text(last_seen_where)
        if not where:
            errors["last_seen_where"] = "Enter where the papers were last seen"
        elif len(where) > WHERE_MAX:
            errors["last_seen_where"] = f"Where last seen must be {WHERE_MAX} characters or fewer"
        if not isinstance(last_seen_at, dt.datetime):
            errors["last_seen_on"] = "Enter the date and time the papers were last seen"
        elif last_seen_at > now:
            errors["last_seen_on"] = "The date and time last seen must be in the past"
        elif model.taken_out_at is not None and last_seen_at < model.taken_out_at - dt.timedelta(
            days=1
        ):
            errors["last_seen_on"] = "The date last seen must be after the papers were taken out"
        if errors:
            raise InputError(errors)

    # Actions: run after guards and validators pass; saving is the audit listener's job.

    def on_request(self, model: Any, now: dt.datetime) -> None:
        _require_now(now)
        model.requested_at = now
        if is_pre_authorised(model.purpose):
            model.decision_note = "Agreed purpose: no approval needed"

    def on_approve(self, model: Any, actor: Actor, now: dt.datetime, note: Any = None) -> None:
        model.decided_by_id = actor.id
        model.decided_at = now
        model.decision_note = _text(note) or None

    # Every event into a final state sets closed_at: a closed removal frees the record for
    # its next one (the partial unique index allows one open removal per record).

    def on_decline(self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None) -> None:
        model.decided_by_id = actor.id
        model.decided_at = now
        model.decision_note = _text(reason)
        model.closed_at = now

    def on_cancel(self, model: Any, now: dt.datetime, reason: Any = None) -> None:
        if _text(reason):
            model.decision_note = _text(reason)
        model.closed_at = now

    def on_take_out(self, model: Any, now: dt.datetime) -> None:
        model.taken_out_at = now

    def on_return_papers(self, model: Any, now: dt.datetime) -> None:
        model.returned_at = now
        model.closed_at = now

    def on_destroy(self, model: Any, now: dt.datetime, method: Any = None, witness: Any = None):
        model.destroyed_at = now
        model.destruction_method = _text(method)
        model.destruction_witness = _text(witness)
        model.closed_at = now

    def on_report_lost(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        last_seen_where: Any = None,
        last_seen_at: Any = None,
    ) -> None:
        model.lost_at = now
        model.last_seen_where = _text(last_seen_where)
        model.last_seen_at = last_seen_at
        model.closed_at = now
        # The breach case opens in the caller's transaction: if it fails, nothing changes.
        model.open_breach_for_loss(actor=actor, now=now)


def _require_now(now: dt.datetime | None) -> None:
    """The caller passes the time; the machine never reads the clock."""
    if not isinstance(now, dt.datetime):
        raise TypeError("pass now= (a naive UTC datetime) when sending a removal event")


STATE_IDS: frozenset[str] = frozenset(s.id for s in RemovalMachine.states)
FINAL_STATES: frozenset[str] = frozenset(s.id for s in RemovalMachine.states if s.final)


def removal_machine(model: Any, listeners: Iterable[object] = ()) -> RemovalMachine:
    """Build the machine for one removal row; ValueError when its stored state is unknown."""
    state = getattr(model, "state", None)
    if state not in STATE_IDS:
        raise ValueError(f"removal {getattr(model, 'id', None)!r} has unknown state {state!r}")
    return RemovalMachine(model=model, state_field="state", listeners=list(listeners))
