"""Secure sending: one dispatch of documents from one case (DOMAIN.md §5).

Documents leave by secure email (password protected, the password sent separately) or by
special delivery post. Before they leave, a second person from the same team checks the
address, the addressee and the recipient's right to the information (the four-eyes rule).
A dispatch that reaches the wrong recipient opens a breach case.

No Flask, no queries: the row is any object with the attributes below, and the one effect
that touches other rows (opening the breach case) is a method on it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from statemachine import Event, State, StateMachine

from machines.breach_report import opening_fact_errors, opening_facts
from machines.common import (
    Actor,
    Errors,
    case_id_error,
    confirmed,
    event_labels,
    in_team,
    input_errors,
    machine_for,
    manages_team,
    normalise_case_id,
    one_line,
    plain_guards,
    required_text,
    state_labels,
    text,
    text_validator,
    uk_date,
    validator,
)
from machines.permissions import Can
from machines.removal import approvers_for
from machines.training import Training, drafter_trained

# The event that records the sending is `mark_sent`, not `send`: an event called `send`
# would replace `StateMachine.send()` itself (python-statemachine 3.2.2 does not refuse the
# name), and `machine.send("check")` would then fire it.

METHODS: tuple[tuple[str, str], ...] = (
    ("secure_email", "Secure email"),
    ("special_delivery", "Special delivery post"),
)

ADDRESS_SOURCES: tuple[tuple[str, str], ...] = (
    ("case_record", "Case record"),
    ("court_order", "Court order"),
    ("professional_directory", "Professional directory"),
    ("other", "Somewhere else"),
)

DELIVERY_EVIDENCE: tuple[tuple[str, str], ...] = (
    ("recipient_acknowledged", "The recipient acknowledged receipt"),
    ("tracking_delivered", "Tracking shows it was delivered"),
)

DESCRIPTION_MAX = 200
SHORT_TEXT_MAX = 100
ADDRESS_MAX = 500
LAWFUL_BASIS_MAX = 200
LONG_TEXT_MAX = 2000

_EMAIL = re.compile(r"[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+")
_TRACKING = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")


# -- input (pure) ------------------------------------------------------------------------


def normalise_tracking_reference(value: Any) -> str:
    """ "ab 1234 5678 9gb" -> "AB123456789GB"."""
    return "".join(text(value).split()).upper()


def validate_draft(data: Mapping[str, Any]) -> dict[str, str]:
    """Check the draft form; return the cleaned values or raise InputError with every error.

    The description says what is being sent (for example "Assessment and chronology"),
    never the content: Safekeep stores no service-user names or addresses.
    """
    with input_errors() as errors:
        case_id = normalise_case_id(data.get("case_id"))
        if problem := case_id_error(case_id):
            errors["case_id"] = problem

        description = required_text(
            errors,
            "description",
            one_line(data.get("description")),
            "Describe what is being sent",
            "What is being sent",
            DESCRIPTION_MAX,
        )

        method = text(data.get("method"))
        if method not in dict(METHODS):
            errors["method"] = "Select how the documents will be sent"

        organisation = required_text(
            errors,
            "recipient_organisation",
            one_line(data.get("recipient_organisation")),
            "Enter the recipient's organisation",
            "Recipient organisation",
            SHORT_TEXT_MAX,
        )
        role = required_text(
            errors,
            "recipient_role",
            one_line(data.get("recipient_role")),
            "Enter the recipient's role",
            "Recipient's role",
            SHORT_TEXT_MAX,
        )

        email = method == "secure_email"
        missing = "Enter the email address" if email else "Enter the address"
        address = required_text(
            errors, "address", data.get("address"), missing, "Address", ADDRESS_MAX
        )
        if "address" not in errors and email and not _EMAIL.fullmatch(address):
            errors["address"] = (
                "Enter an email address in the correct format, like name@example.org"
            )

    return {
        "case_id": case_id,
        "description": description,
        "method": method,
        "recipient_organisation": organisation,
        "recipient_role": role,
        "address": address,
    }


# -- who may do what: the guards, plain functions of (model, actor=None) --------------------


def _is_drafter(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.drafted_by_id


def checkers_above(
    drafter: Actor,
    team_id: int,
    team_staff: Iterable[Actor],
    manager: Actor | None,
    seniors: Iterable[Actor],
) -> frozenset[int]:
    """Who gives the second check from above the team: nobody while another active member
    of the team works with papers (they check it); else whoever would agree the drafter's
    request for the team's papers (machines.removal.approvers_for: their own line manager
    when they may see the team's records, else the Assistant Directors and Directors).

    The procedure wants the address checked before documents leave, and a team whose other
    members moved or left has no colleague to do it: the check waited for ever (issue 22).
    `team_staff` are the team's active staff, `manager` the drafter's active line manager,
    `seniors` the active people who may agree as the fallback."""
    team_staff = list(team_staff)
    if any(
        person.id != drafter.id and person.team_id == team_id and person.can(Can.WORK_WITH_PAPERS)
        for person in team_staff
    ):
        return frozenset()
    return frozenset(approvers_for(drafter, team_id, manager, team_staff, seniors).ids)


def may_check(model: Any, actor: Actor | None = None) -> bool:
    """Four eyes: a practitioner or line manager of the same team who did not draft it; when
    none is left, the drafter's line manager or a senior (`model.checkers_above`, the ids
    `checkers_above` gives)."""
    if actor is None or _is_drafter(actor, model):
        return False
    if in_team(actor, model) and actor.can(Can.WORK_WITH_PAPERS):
        return True
    return actor.id in model.checkers_above


def may_mark_sent(model: Any, actor: Actor | None = None) -> bool:
    return _is_drafter(actor, model)


def may_prepare(training: Training, now: dt.datetime) -> bool:
    """Drafting (the row does not exist yet): the drafter's training in date, as for sending."""
    return training.in_date(uk_date(now))


def may_send_trained(model: Any, actor: Actor | None = None, now: Any = None) -> bool:
    """The drafter records the sending while their data protection training is in date."""
    return may_mark_sent(model, actor) and drafter_trained(model, actor, now)


def may_confirm_delivered(model: Any, actor: Actor | None = None) -> bool:
    return _is_drafter(actor, model) or in_team(actor, model)


def may_report_misdirected(model: Any, actor: Actor | None = None) -> bool:
    """Anyone who finds a misdirection may report it: the team, the drafter, a line manager."""
    return (
        _is_drafter(actor, model)
        or in_team(actor, model)
        or (actor is not None and actor.can(Can.REPORT_ANY_MISDIRECTION))
    )


def may_cancel(model: Any, actor: Actor | None = None) -> bool:
    return _is_drafter(actor, model) or manages_team(actor, model)


# -- the machine ---------------------------------------------------------------------------


@plain_guards
class DispatchMachine(StateMachine):
    """One dispatch of documents from one case: drafted, checked by a second person, sent.

    {statechart:md}
    """

    drafted = State("Drafted", initial=True)
    checked = State("Checked")
    sent = State("Sent")
    # Not final=True: the library refuses transitions out of a final state, and a delivered
    # dispatch can still be reported as misdirected. It is closed for the boards all the same.
    delivered = State("Delivered")
    misdirected = State("Misdirected", final=True)
    cancelled = State("Cancelled", final=True)

    check = Event(
        drafted.to(checked, cond=may_check, validators="validate_check"),
        name="Confirm the checks",
    )
    mark_sent = Event(
        checked.to(sent, cond=[may_mark_sent, drafter_trained], validators="validate_mark_sent"),
        name="Record as sent",
    )
    confirm_delivered = Event(
        sent.to(delivered, cond=may_confirm_delivered, validators="validate_confirm_delivered"),
        name="Confirm delivery",
    )
    # A misdirection is often found after the dispatch was recorded as delivered.
    report_misdirected = Event(
        misdirected.from_(
            sent,
            delivered,
            cond=may_report_misdirected,
            validators="validate_report_misdirected",
        ),
        name="Report as sent to the wrong recipient",
    )
    cancel = Event(
        cancelled.from_(drafted, checked, cond=may_cancel, validators="validate_cancel"),
        name="Cancel this dispatch",
    )

    # Validators (common.validator): every error at once, and only for someone the guard
    # lets send the event (they run before it).

    @validator(may_check)
    def validate_check(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        address_source: Any,
        address_source_other: Any,
        address_confirmed: Any,
        addressee_confirmed: Any,
        right_to_information_confirmed: Any,
        lawful_basis: Any,
    ) -> None:
        source = text(address_source)
        if source not in dict(ADDRESS_SOURCES):
            errors["address_source"] = "Select where you checked the address"
        elif source == "other":
            required_text(
                errors,
                "address_source_other",
                one_line(address_source_other),
                "Enter where you checked the address",
                "Where you checked the address",
                SHORT_TEXT_MAX,
            )
        if not confirmed(address_confirmed):
            errors["address_confirmed"] = "Confirm the address or email matches the source"
        if not confirmed(addressee_confirmed):
            errors["addressee_confirmed"] = "Confirm the addressee is the right person"
        if not confirmed(right_to_information_confirmed):
            errors["right_to_information_confirmed"] = (
                "Confirm the recipient has a right to this information"
            )
        required_text(
            errors,
            "lawful_basis",
            one_line(lawful_basis),
            "Enter the lawful basis or purpose for sharing",
            "Lawful basis",
            LAWFUL_BASIS_MAX,
        )

    @validator(may_send_trained)
    def validate_mark_sent(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        password_protected: Any,
        password_separate: Any,
        tracking_reference: Any,
    ) -> None:
        if model.method == "secure_email":
            if not confirmed(password_protected):
                errors["password_protected"] = "Confirm the documents are password protected"
            if not confirmed(password_separate):
                errors["password_separate"] = "Confirm the password is sent separately"
        elif model.method == "special_delivery":
            reference = normalise_tracking_reference(tracking_reference)
            if not reference:
                errors["tracking_reference"] = "Enter the special delivery tracking reference"
            elif not _TRACKING.fullmatch(reference):
                errors["tracking_reference"] = (
                    "Enter the tracking reference in the correct format, like AB123456789GB"
                )
        else:  # a row the draft form did not make: refuse rather than guess
            errors["method"] = "Select how the documents will be sent"

    @validator(may_confirm_delivered)
    def validate_confirm_delivered(
        self, errors: Errors, model: Any, now: dt.datetime, delivery_evidence: Any
    ) -> None:
        if text(delivery_evidence) not in dict(DELIVERY_EVIDENCE):
            errors["delivery_evidence"] = "Select how you know the documents were delivered"

    @validator(may_report_misdirected)
    def validate_report_misdirected(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        what_happened: Any,
        children_or_vulnerable: Any,
        special_category: Any,
    ) -> None:
        required_text(
            errors,
            "what_happened",
            what_happened,
            "Describe what happened",
            "What happened",
            LONG_TEXT_MAX,
        )
        # The breach case's first facts, asked now rather than guessed (machines/breach_report.py).
        errors.update(opening_fact_errors(children_or_vulnerable, special_category))

    validate_cancel = text_validator(may_cancel, "reason", "Reason", LONG_TEXT_MAX)

    # Actions: run only after the guard and validators passed; they set the row's fields.
    # Saving the row is the caller's (the audit listener's after_transition).

    def on_check(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        address_source: Any = None,
        address_source_other: Any = None,
        lawful_basis: Any = None,
    ) -> None:
        source = text(address_source)
        model.checked_by_id = actor.id
        model.checked_at = now
        model.address_source = source
        model.address_source_other = one_line(address_source_other) if source == "other" else None
        model.lawful_basis = one_line(lawful_basis)

    def on_mark_sent(
        self, model: Any, actor: Actor, now: dt.datetime, tracking_reference: Any = None
    ) -> None:
        model.sent_at = now
        model.sent_by_id = actor.id
        model.tracking_reference = (
            normalise_tracking_reference(tracking_reference)
            if model.method == "special_delivery"
            else None
        )

    def on_confirm_delivered(
        self, model: Any, now: dt.datetime, delivery_evidence: Any = None
    ) -> None:
        model.delivered_at = now
        model.delivery_evidence = text(delivery_evidence)

    def on_report_misdirected(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        what_happened: Any = None,
        children_or_vulnerable: Any = None,
        special_category: Any = None,
    ) -> None:
        # The breach case is opened in the caller's transaction: if it fails, nothing changes.
        model.open_breach_for_misdirection(
            actor=actor,
            now=now,
            what_happened=text(what_happened),
            facts=opening_facts(children_or_vulnerable, special_category),
        )
        model.misdirected_at = now

    def on_cancel(self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None) -> None:
        model.cancelled_at = now
        model.cancelled_by_id = actor.id
        model.cancel_reason = text(reason) or None


STATE_IDS: frozenset[str] = frozenset(s.id for s in DispatchMachine.states)
# No more work expected (the boards' "closed"); delivered can still turn misdirected.
CLOSED_STATES: frozenset[str] = frozenset({"delivered", "misdirected", "cancelled"})


STATE_LABELS: dict[str, str] = state_labels(DispatchMachine)
EVENT_LABELS: dict[str, str] = event_labels(DispatchMachine)


def dispatch_machine(model: Any, listeners: Iterable[object] = ()) -> DispatchMachine:
    """Build the machine for one dispatch row; ValueError when its stored state is unknown."""
    return machine_for(DispatchMachine, model, listeners)
