"""Record custody: one removal of one record from the office (DOMAIN.md §1, procedure §1).

Papers leave only for an agreed purpose (court, a professional meeting, a meeting with the
service user) or with the line manager's recorded agreement; they go out with the four
safeguards attested, and they come back, are destroyed, or are reported lost.

No Flask, no queries: the row is any object with the attributes below, and the one effect
that touches other rows (opening the breach case for lost papers) is a method on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from statemachine import Event, State, StateMachine

from machines.breach_report import LOST_CATEGORIES, opening_fact_errors, opening_facts
from machines.common import (
    Actor,
    Errors,
    confirmed,
    date_ahead,
    event_labels,
    in_team,
    machine_for,
    manages_team,
    plain_guards,
    record_decision,
    require_now,
    required_text,
    state_labels,
    text,
    text_validator,
    uk_date,
    validator,
)
from machines.permissions import Can
from machines.training import holder_trained

# Purposes the procedure agrees in advance: these need no line manager's agreement.
PRE_AUTHORISED = frozenset({"court", "professional_meeting", "service_user_meeting"})

PURPOSES: tuple[tuple[str, str], ...] = (
    ("court", "Court"),
    ("professional_meeting", "A professional meeting"),
    ("service_user_meeting", "A meeting with the service user"),
    ("other", "Something else"),
)

# What the person taking papers out confirms, in the words of the form (the record page and
# the kiosk both render these).
SAFEGUARDS: tuple[tuple[str, str], ...] = (
    ("lockable_bag", "The papers, and any laptop, are in a lockable bag"),
    ("laptop_protected", "Any laptop I take is password protected"),
    ("no_usb_stick", "I am not taking confidential data on a USB memory stick"),
    ("notebook_secure", "I will keep my notebook secure"),
)
SAFEGUARD_ERRORS: dict[str, str] = {
    "lockable_bag": "Confirm the papers, and any laptop, are in a lockable bag",
    "laptop_protected": "Confirm any laptop you take is password protected",
    "no_usb_stick": "Confirm you are not taking confidential data on a USB memory stick",
    "notebook_secure": "Confirm you will keep your notebook secure",
}

DESTRUCTION_METHODS: tuple[tuple[str, str], ...] = (
    ("shredded", "Shredded"),
    ("confidential_waste", "Confidential waste"),
)

# How a line manager confirmed with the holder where overdue papers are.
CONFIRMED_HOW: tuple[tuple[str, str], ...] = (
    ("in_person", "In person"),
    ("phone", "By phone"),
    ("video_call", "By video call"),
    ("message", "By email or message"),
)

NOTE_MAX = 500
WITNESS_MAX = 120
WHERE_MAX = 300
PAPERS_MAX = 500
PURPOSE_OTHER_MAX = 300
RECORD_DESCRIPTION_MAX = 120  # models.records.Record.description


def is_pre_authorised(purpose: str | None) -> bool:
    return purpose in PRE_AUTHORISED


def purpose_pre_authorised(model: Any) -> bool:
    """The guard that is no person's rule: the request's purpose needs nobody's agreement."""
    return is_pre_authorised(model.purpose)


# -- who approves whom (pure; the removal and remote working machines' guards call these) --

# How a request found its approvers, stored on it when it is asked (`approval_route`).
OWN_MANAGER = "own_manager"
TEAM_MANAGERS = "team_managers"
FALLBACK = "fallback"
NOBODY = "nobody"


@dataclass(frozen=True)
class Approvers:
    """Who is asked to agree a request, and by which rule (`route`)."""

    route: str
    ids: tuple[int, ...] = ()


def may_see_team(actor: Actor | None, team_id: int | None) -> bool:
    """Need to know: the team's own staff, or a role that works across teams."""
    return actor is not None and (
        (actor.team_id is not None and actor.team_id == team_id) or actor.can(Can.SEE_EVERY_TEAM)
    )


def approvers_for(
    requester: Actor,
    team_id: int,
    manager: Actor | None,
    team_staff: Iterable[Actor] = (),
    seniors: Iterable[Actor] = (),
) -> Approvers:
    """Who is asked to agree a request, so that someone always is and never the requester:

    1. the requester's own line manager, whatever their role, when they may see the team's
       records (a manager in another team would be asked about papers they cannot open);
    2. else every other line manager of the team;
    3. else every Assistant Director and Director (Safekeep has no directorates: any of
       them, `Can.APPROVE_AS_FALLBACK`).

    `manager` is the requester's active line manager (None when there is none), `team_staff`
    the team's active staff and `seniors` the active holders of the fallback capability.
    """
    if manager is not None and manager.id != requester.id and may_see_team(manager, team_id):
        return Approvers(OWN_MANAGER, (manager.id,))
    nearby = tuple(
        person.id
        for person in team_staff
        if person.id != requester.id
        and person.team_id == team_id
        and person.can(Can.APPROVE_REMOVALS)
    )
    if nearby:
        return Approvers(TEAM_MANAGERS, nearby)
    senior = tuple(
        person.id
        for person in seniors
        if person.id != requester.id and person.can(Can.APPROVE_AS_FALLBACK)
    )
    return Approvers(FALLBACK, senior) if senior else Approvers(NOBODY)


def may_approve(
    actor: Actor | None,
    *,
    requester_ids: Iterable[int | None],
    team_id: int | None,
    manager_id: int | None,
    route: str | None,
) -> bool:
    """May this person agree (or decline) the request? The same three rules as
    `approvers_for`, except that any line manager of the team may, not only the one asked
    first (a manager on leave must not strand the team): never the requester."""
    if actor is None or actor.id in set(requester_ids):
        return False
    if actor.id == manager_id and may_see_team(actor, team_id):
        return True
    if actor.team_id is not None and actor.team_id == team_id and actor.can(Can.APPROVE_REMOVALS):
        return True
    return route == FALLBACK and actor.can(Can.APPROVE_AS_FALLBACK)


# -- who may do what: the guards, plain functions of (model, actor=None) --------------------


def _is_holder(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.for_user_id


def _is_requester(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id in (model.requested_by_id, model.for_user_id)


# How a removal can end that leaves its record with no papers to take out again.
PAPERS_GONE = frozenset({"destroyed", "lost"})


def may_request(model: Any, actor: Actor | None = None) -> bool:
    """Team staff ask for papers for themselves, never on someone else's behalf, and only
    papers that still exist: not after the record's last removal ended destroyed or lost."""
    return (
        _is_holder(actor, model)
        and in_team(actor, model)
        and actor.can(Can.WORK_WITH_PAPERS)
        and not model.papers_gone
    )


def may_decide(model: Any, actor: Actor | None = None) -> bool:
    """Agree or decline: see `may_approve` (never the requester)."""
    return may_approve(
        actor,
        requester_ids=(model.requested_by_id, model.for_user_id),
        team_id=model.team_id,
        manager_id=model.requester_manager_id,
        route=getattr(model, "approval_route", None),
    )


def may_cancel(model: Any, actor: Actor | None = None) -> bool:
    return _is_requester(actor, model) or manages_team(actor, model)


def may_take_out(model: Any, actor: Actor | None = None) -> bool:
    """Only the person the removal is for carries the papers out."""
    return _is_holder(actor, model)


def may_take_out_trained(model: Any, actor: Actor | None = None, now: Any = None) -> bool:
    """The holder, trained (or allowed by an exception): whom the safeguards are asked of."""
    return may_take_out(model, actor) and holder_trained(model, actor, now)


def may_close_out(model: Any, actor: Actor | None = None) -> bool:
    """Return, destroy or report lost: the holder, or a line manager of the team."""
    return _is_holder(actor, model) or manages_team(actor, model)


def may_return(model: Any, actor: Actor | None = None, kiosk_id: int | None = None) -> bool:
    """The holder or a line manager of the team; and at the team's kiosk, where the papers
    are scanned in hand, any member of the team (back for a colleague who is away)."""
    return may_close_out(model, actor) or (
        kiosk_id is not None and in_team(actor, model) and actor.can(Can.WORK_WITH_PAPERS)
    )


def extension_asked(model: Any) -> bool:
    return getattr(model, "extension_due_on", None) is not None


def asked_date_passed(model: Any, now: dt.datetime) -> bool:
    """The date the holder asked for has gone while the ask waited (UK calendar days)."""
    return model.extension_due_on < uk_date(now)


def may_ask_extension(model: Any, actor: Actor | None = None) -> bool:
    """The holder asks for more time, one ask at a time."""
    return _is_holder(actor, model) and not extension_asked(model)


def may_answer_extension(model: Any, actor: Actor | None = None) -> bool:
    """Whoever may agree the holder's requests answers their ask for more time."""
    return extension_asked(model) and may_decide(model, actor)


def may_extend(model: Any, actor: Actor | None = None) -> bool:
    """A manager moves the date without being asked (an ask waiting is answered instead)."""
    return not extension_asked(model) and may_decide(model, actor)


def may_confirm_location(model: Any, actor: Actor | None = None) -> bool:
    """A manager records where the papers are, having checked with the holder."""
    return may_decide(model, actor)


def new_due_errors(
    errors: dict[str, str], field: str, new_due_on: Any, model: Any, now: dt.datetime
) -> None:
    """A later return-by date: after the current one, not in the past, within a year."""
    if isinstance(new_due_on, dt.date) and new_due_on <= model.due_on:
        errors[field] = f"The new date must be after {model.due_on.day} {model.due_on:%B %Y}"
    else:
        missing = "Enter the new date the papers will be back"
        date_ahead(errors, field, new_due_on, now, missing, "The new date")


def _more_time_validator(
    rule: Callable[[Actor | None, Any], bool], missing: str
) -> Callable[..., None]:
    """Asking for more time and granting it check the same two answers: a new date the
    papers can be back by, and why (`missing` when there is no why)."""

    @validator(rule)
    def check(
        self: Any, errors: Errors, model: Any, now: dt.datetime, new_due_on: Any, reason: Any
    ) -> None:
        new_due_errors(errors, "new_due_on", new_due_on, model, now)
        required_text(errors, "reason", reason, missing, "Reason", NOTE_MAX)

    return check


# -- the machine ---------------------------------------------------------------------------


@plain_guards
class RemovalMachine(StateMachine):
    """One removal of one record: requested, agreed, taken out, and back or destroyed.

    {statechart:md}
    """

    in_office = State("In the office", initial=True)
    requested = State("Awaiting approval")
    approved_for_removal = State("Approved to take out")
    out = State("Out of the office")
    returned = State("Returned", final=True)
    destroyed = State("Destroyed", final=True)
    lost = State("Reported lost", final=True)
    declined = State("Declined", final=True)
    cancelled = State("Cancelled", final=True)

    # An agreed purpose needs nobody's approval; anything else waits for the line manager.
    request = Event(
        in_office.to(approved_for_removal, cond=[may_request, purpose_pre_authorised])
        | in_office.to(
            requested,
            cond=may_request,
            unless=purpose_pre_authorised,
            validators="validate_request",
        ),
        name="Request removal",
    )
    approve = Event(
        requested.to(approved_for_removal, cond=may_decide, validators="validate_approve"),
        name="Approve",
    )
    decline = Event(
        requested.to(declined, cond=may_decide, validators="validate_decline"),
        name="Decline",
    )
    cancel = Event(
        cancelled.from_(
            requested, approved_for_removal, cond=may_cancel, validators="validate_cancel"
        ),
        name="Cancel request",
    )
    take_out = Event(
        # The holder's training in date, or an exception their line manager allowed (used up).
        approved_for_removal.to(
            out, cond=[may_take_out, holder_trained], validators="validate_take_out"
        ),
        name="Take out",
    )
    return_papers = Event(out.to(returned, cond=may_return), name="Return papers")
    destroy = Event(
        out.to(destroyed, cond=may_close_out, validators="validate_destroy"),
        name="Record destruction",
    )
    report_lost = Event(
        out.to(lost, cond=may_close_out, validators="validate_report_lost"),
        name="Report lost",
    )
    # Overdue papers need not only be lost: more time (asked by the holder and agreed, or given
    # by a manager) or their whereabouts confirmed. The papers stay out, so these stay in
    # "out" (every query about papers out keeps working); a waiting ask is a field of the
    # row, and each of these restarts the reminder ladder (on_* below).
    ask_extension = Event(
        out.to.itself(cond=may_ask_extension, validators="validate_ask_extension"),
        name="Ask for more time",
    )
    agree_extension = Event(
        out.to.itself(cond=may_answer_extension, validators="validate_agree_extension"),
        name="Agree more time",
    )
    refuse_extension = Event(
        out.to.itself(cond=may_answer_extension, validators="validate_refuse_extension"),
        name="Refuse more time",
    )
    extend = Event(
        out.to.itself(cond=may_extend, validators="validate_extend"),
        name="Extend the return date",
    )
    confirm_location = Event(
        out.to.itself(cond=may_confirm_location, validators="validate_confirm_location"),
        name="Confirm where the papers are",
    )

    # Validators (common.validator): every error at once, and only for someone the guard
    # lets send the event (they run before it).

    @validator(may_request, needs_now=False)
    def validate_request(self, errors: Errors, model: Any, now: Any) -> None:
        nobody_agrees = getattr(model, "approval_route", None) == NOBODY
        if nobody_agrees and not is_pre_authorised(model.purpose):
            errors["purpose"] = (
                "Nobody can agree this purpose yet: ask an administrator to "
                "record your line manager, or choose court, a professional meeting or a "
                "meeting with the service user"
            )

    validate_approve = text_validator(may_decide, "note", "Note", NOTE_MAX)
    validate_decline = text_validator(
        may_decide, "reason", "Reason", NOTE_MAX, "Enter why you are declining the request"
    )
    validate_cancel = text_validator(may_cancel, "reason", "Reason", NOTE_MAX)

    @validator(may_take_out_trained, needs_now=False)
    def validate_take_out(self, errors: Errors, model: Any, now: Any, **safeguards: Any) -> None:
        for key, message in SAFEGUARD_ERRORS.items():
            if not confirmed(safeguards.get(key)):
                errors[key] = message

    @validator(may_close_out, needs_now=False)
    def validate_destroy(
        self, errors: Errors, model: Any, now: Any, actor: Actor, method: Any, witness: Any
    ) -> None:
        """A witness is another member of the team: not the holder, not whoever records it.
        `witness` is the chosen person (an Actor), or None when nobody (or nobody active)."""
        if text(method) not in dict(DESTRUCTION_METHODS):
            errors["method"] = "Select how the papers were destroyed"
        if not isinstance(witness, Actor):
            errors["witness"] = "Select who saw the papers destroyed"
        elif (
            witness.team_id is None
            or witness.team_id != model.team_id
            or not witness.can(Can.WORK_WITH_PAPERS)
        ):
            errors["witness"] = "Select a member of the team as the witness"
        elif witness.id == model.for_user_id:
            errors["witness"] = "The witness must be someone other than the person who had them"
        elif witness.id == actor.id:
            errors["witness"] = "The witness must be someone other than you"

    @validator(may_close_out)
    def validate_report_lost(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        last_seen_where: Any,
        last_seen_at: Any,
        category: Any,
        children_or_vulnerable: Any,
        special_category: Any,
    ) -> None:
        # The breach case's first facts, asked now rather than guessed (machines/breach_report.py).
        errors.update(
            opening_fact_errors(
                children_or_vulnerable,
                special_category,
                category,
                categories=[key for key, _ in LOST_CATEGORIES],
            )
        )
        required_text(
            errors,
            "last_seen_where",
            last_seen_where,
            "Enter where the papers were last seen",
            "Where last seen",
            WHERE_MAX,
        )
        if not isinstance(last_seen_at, dt.datetime):
            errors["last_seen_on"] = "Enter the date and time the papers were last seen"
        elif last_seen_at > now:
            errors["last_seen_on"] = "The date and time last seen must be in the past"
        elif model.taken_out_at is not None and last_seen_at < model.taken_out_at - dt.timedelta(
            days=1
        ):
            errors["last_seen_on"] = "The date last seen must be after the papers were taken out"

    validate_ask_extension = _more_time_validator(may_ask_extension, "Enter why you need more time")
    validate_agree_extension = text_validator(
        may_answer_extension,
        "note",
        "Note",
        NOTE_MAX,
        passed=(asked_date_passed, "The date asked for has passed: extend the return date instead"),
    )

    validate_refuse_extension = text_validator(
        may_answer_extension, "reason", "Reason", NOTE_MAX, "Enter why you are refusing"
    )

    validate_extend = _more_time_validator(may_extend, "Enter why the papers need more time")

    @validator(may_confirm_location)
    def validate_confirm_location(
        self, errors: Errors, model: Any, now: dt.datetime, where: Any, how: Any, confirmed_on: Any
    ) -> None:
        required_text(
            errors, "where", where, "Enter where the papers are", "Where they are", WHERE_MAX
        )
        if text(how) not in dict(CONFIRMED_HOW):
            errors["how"] = "Select how you checked with the person who has the papers"
        if not isinstance(confirmed_on, dt.date):
            errors["confirmed_on"] = "Enter the date you checked"
        elif confirmed_on > uk_date(now):
            errors["confirmed_on"] = "The date you checked must be today or in the past"
        elif model.taken_out_at is not None and confirmed_on < uk_date(model.taken_out_at):
            errors["confirmed_on"] = "The date you checked must be after the papers went out"

    # Actions: run after guards and validators pass; saving is the audit listener's job.

    def on_request(self, model: Any, now: dt.datetime) -> None:
        require_now(now)
        model.requested_at = now
        if is_pre_authorised(model.purpose):
            model.decision_note = "Agreed purpose: no approval needed"

    def on_approve(self, model: Any, actor: Actor, now: dt.datetime, note: Any = None) -> None:
        record_decision(model, actor, now, note)

    # Every event into a final state sets closed_at: a closed removal frees the record for
    # its next one (the partial unique index allows one open removal per record).

    def on_decline(self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None) -> None:
        record_decision(model, actor, now, reason, closes=True)

    def on_cancel(self, model: Any, now: dt.datetime, reason: Any = None) -> None:
        if text(reason):
            model.decision_note = text(reason)
        model.closed_at = now

    def on_take_out(self, model: Any, actor: Actor, now: dt.datetime) -> None:
        model.taken_out_at = now
        if not model.holder_training.in_date(uk_date(now)):
            model.use_training_exception(actor, now)

    def on_return_papers(self, model: Any, actor: Actor, now: dt.datetime) -> None:
        model.returned_at = now
        model.returned_by_id = actor.id
        model.closed_at = now

    def on_destroy(self, model: Any, now: dt.datetime, method: Any = None, witness: Any = None):
        model.destroyed_at = now
        model.destruction_method = text(method)
        model.witnessed_by_id = witness.id
        model.closed_at = now

    def on_ask_extension(
        self, model: Any, now: dt.datetime, new_due_on: Any = None, reason: Any = None
    ) -> None:
        model.extension_due_on = new_due_on
        model.extension_reason = text(reason)
        model.extension_asked_at = now

    def on_agree_extension(self, model: Any, now: dt.datetime) -> None:
        _move_due_date(model, model.extension_due_on, now)

    def on_refuse_extension(self, model: Any) -> None:
        _clear_ask(model)

    def on_extend(self, model: Any, now: dt.datetime, new_due_on: Any = None) -> None:
        _move_due_date(model, new_due_on, now)

    def on_confirm_location(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        where: Any = None,
        how: Any = None,
        confirmed_on: Any = None,
    ) -> None:
        model.location_where = text(where)
        model.location_confirmed_how = text(how)
        model.location_confirmed_on = confirmed_on
        model.location_confirmed_by_id = actor.id
        # Reminders start again from today (or the return date, if that is later).
        model.ladder_from = max(model.due_on, uk_date(now))
        model.reminder_round = (model.reminder_round or 0) + 1

    def on_report_lost(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        last_seen_where: Any = None,
        last_seen_at: Any = None,
        category: Any = None,
        children_or_vulnerable: Any = None,
        special_category: Any = None,
    ) -> None:
        model.lost_at = now
        model.last_seen_where = text(last_seen_where)
        model.last_seen_at = last_seen_at
        model.closed_at = now
        facts = {
            "category": text(category),
            **opening_facts(children_or_vulnerable, special_category),
        }
        # The breach case opens in the caller's transaction: if it fails, nothing changes.
        model.open_breach_for_loss(actor=actor, now=now, facts=facts)


def _clear_ask(model: Any) -> None:
    model.extension_due_on = None
    model.extension_reason = None
    model.extension_asked_at = None


def _move_due_date(model: Any, new_due_on: dt.date, now: dt.datetime) -> None:
    """A new return-by date: the ask (if any) is answered and the reminders start again."""
    model.due_on = new_due_on
    model.extended_at = now
    model.ladder_from = None
    model.reminder_round = (model.reminder_round or 0) + 1
    _clear_ask(model)


STATE_IDS: frozenset[str] = frozenset(s.id for s in RemovalMachine.states)
FINAL_STATES: frozenset[str] = frozenset(s.id for s in RemovalMachine.states if s.final)


STATE_LABELS: dict[str, str] = state_labels(RemovalMachine)
EVENT_LABELS: dict[str, str] = event_labels(RemovalMachine)


def removal_machine(model: Any, listeners: Iterable[object] = ()) -> RemovalMachine:
    """Build the machine for one removal row; ValueError when its stored state is unknown."""
    return machine_for(RemovalMachine, model, listeners)
