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

from statemachine import State, StateMachine

from machines.common import Actor, InputError

STATE_LABELS: dict[str, str] = {
    "drafted": "Drafted",
    "checked": "Checked",
    "sent": "Sent",
    "delivered": "Delivered",
    "misdirected": "Misdirected",
    "cancelled": "Cancelled",
}

# Button texts. The event that records the sending is `mark_sent`, not `send`: an event
# called `send` would replace `StateMachine.send()` itself (python-statemachine 3.2.2 does
# not refuse the name), and `machine.send("check")` would then fire it.
EVENT_LABELS: dict[str, str] = {
    "check": "Confirm the checks",
    "mark_sent": "Record as sent",
    "confirm_delivered": "Confirm delivery",
    "report_misdirected": "Report as sent to the wrong recipient",
    "cancel": "Cancel this dispatch",
}

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

CHECKER_ROLES = ("practitioner", "line_manager")

DESCRIPTION_MAX = 200
SHORT_TEXT_MAX = 100
ADDRESS_MAX = 500
LAWFUL_BASIS_MAX = 200
LONG_TEXT_MAX = 2000

_CASE_ID = re.compile(r"(?:[A-Z]+-?)?[0-9]+")
_EMAIL = re.compile(r"[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+")
_TRACKING = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_TRUE = {"true", "yes", "y", "on", "1"}


# -- input helpers (pure) ------------------------------------------------------------------


def _text(value: Any) -> str:
    """A form value as stripped text ("" when missing)."""
    return "" if value is None else str(value).strip()


def _one_line(value: Any) -> str:
    """A form value with its runs of whitespace (newlines too) collapsed to single spaces."""
    return " ".join(_text(value).split())


def _confirmed(value: Any) -> bool:
    """True for a ticked checkbox: True, or a string such as "yes" / "true" / "on"."""
    if isinstance(value, bool):
        return value
    return _text(value).lower() in _TRUE


def normalise_case_id(value: Any) -> str:
    return _text(value).upper()


def normalise_tracking_reference(value: Any) -> str:
    """ "ab 1234 5678 9gb" -> "AB123456789GB"."""
    return "".join(_text(value).split()).upper()


def validate_draft(data: Mapping[str, Any]) -> dict[str, str]:
    """Check the draft form; return the cleaned values or raise InputError with every error.

    The description says what is being sent (for example "Assessment and chronology"),
    never the content: Safekeep stores no service-user names or addresses.
    """
    errors: dict[str, str] = {}

    case_id = normalise_case_id(data.get("case_id"))
    if not case_id:
        errors["case_id"] = "Enter the case-system ID"
    elif not (3 <= len(case_id) <= 20 and _CASE_ID.fullmatch(case_id)):
        errors["case_id"] = "Enter the case-system ID in the correct format, like 1234567"

    description = _one_line(data.get("description"))
    if not description:
        errors["description"] = "Describe what is being sent"
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = f"Description must be {DESCRIPTION_MAX} characters or fewer"

    method = _text(data.get("method"))
    if method not in dict(METHODS):
        errors["method"] = "Select how the documents will be sent"

    organisation = _one_line(data.get("recipient_organisation"))
    if not organisation:
        errors["recipient_organisation"] = "Enter the recipient's organisation"
    elif len(organisation) > SHORT_TEXT_MAX:
        errors["recipient_organisation"] = (
            f"Organisation must be {SHORT_TEXT_MAX} characters or fewer"
        )

    role = _one_line(data.get("recipient_role"))
    if not role:
        errors["recipient_role"] = "Enter the recipient's role"
    elif len(role) > SHORT_TEXT_MAX:
        errors["recipient_role"] = f"Role must be {SHORT_TEXT_MAX} characters or fewer"

    address = _text(data.get("address"))
    if not address:
        errors["address"] = (
            "Enter the email address" if method == "secure_email" else "Enter the address"
        )
    elif len(address) > ADDRESS_MAX:
        errors["address"] = f"Address must be {ADDRESS_MAX} characters or fewer"
    elif method == "secure_email" and not _EMAIL.fullmatch(address):
        errors["address"] = "Enter an email address in the correct format, like name@example.org"

    if errors:
        raise InputError(errors)
    return {
        "case_id": case_id,
        "description": description,
        "method": method,
        "recipient_organisation": organisation,
        "recipient_role": role,
        "address": address,
    }


# -- who may do what (pure; the machine's guards call these) -------------------------------


def _in_team(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.team_id is not None and actor.team_id == model.team_id


def _is_drafter(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.drafted_by_id


def _is_team_line_manager(actor: Actor | None, model: Any) -> bool:
    return _in_team(actor, model) and actor.has("line_manager")


def may_check(actor: Actor | None, model: Any) -> bool:
    """Four eyes: a practitioner or line manager of the same team who did not draft it."""
    return _in_team(actor, model) and not _is_drafter(actor, model) and actor.has(*CHECKER_ROLES)


def may_mark_sent(actor: Actor | None, model: Any) -> bool:
    return _is_drafter(actor, model)


def may_confirm_delivered(actor: Actor | None, model: Any) -> bool:
    return _is_drafter(actor, model) or _in_team(actor, model)


def may_report_misdirected(actor: Actor | None, model: Any) -> bool:
    """Anyone who finds a misdirection may report it: the team, the drafter, a line manager."""
    return (
        _is_drafter(actor, model)
        or _in_team(actor, model)
        or (actor is not None and actor.has("line_manager"))
    )


def may_cancel(actor: Actor | None, model: Any) -> bool:
    return _is_drafter(actor, model) or _is_team_line_manager(actor, model)


# -- the machine ---------------------------------------------------------------------------


class DispatchMachine(StateMachine):
    """One dispatch of documents from one case: drafted, checked by a second person, sent.

    {statechart:md}
    """

    drafted = State(STATE_LABELS["drafted"], initial=True)
    checked = State(STATE_LABELS["checked"])
    sent = State(STATE_LABELS["sent"])
    # Not final=True: the library refuses transitions out of a final state, and a delivered
    # dispatch can still be reported as misdirected. It is closed for the boards all the same.
    delivered = State(STATE_LABELS["delivered"])
    misdirected = State(STATE_LABELS["misdirected"], final=True)
    cancelled = State(STATE_LABELS["cancelled"], final=True)

    # python-statemachine runs validators *before* cond guards. Each validator therefore
    # first asks the guard and, when this person may not send the event at all, stays
    # silent so the guard refuses it (TransitionNotAllowed) instead of showing form errors.
    check = drafted.to(checked, cond="can_check", validators="validate_check")
    mark_sent = checked.to(sent, cond="can_mark_sent", validators="validate_mark_sent")
    confirm_delivered = sent.to(
        delivered, cond="can_confirm_delivered", validators="validate_confirm_delivered"
    )
    # A misdirection is often found after the dispatch was recorded as delivered.
    report_misdirected = misdirected.from_(
        sent,
        delivered,
        cond="can_report_misdirected",
        validators="validate_report_misdirected",
    )
    cancel = cancelled.from_(drafted, checked, cond="can_cancel", validators="validate_cancel")

    # Guards: called with the `actor` kwarg by send() and enabled_events(). They must not
    # raise: enabled_events() treats a guard that raises as *passing*.

    def can_check(self, model: Any, actor: Actor | None = None) -> bool:
        return may_check(actor, model)

    def can_mark_sent(self, model: Any, actor: Actor | None = None) -> bool:
        return may_mark_sent(actor, model)

    def can_confirm_delivered(self, model: Any, actor: Actor | None = None) -> bool:
        return may_confirm_delivered(actor, model)

    def can_report_misdirected(self, model: Any, actor: Actor | None = None) -> bool:
        return may_report_misdirected(actor, model)

    def can_cancel(self, model: Any, actor: Actor | None = None) -> bool:
        return may_cancel(actor, model)

    # Validators: raise InputError (field -> GOV.UK message) with every error at once.

    def validate_check(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        address_source: Any = None,
        address_source_other: Any = None,
        address_confirmed: Any = None,
        addressee_confirmed: Any = None,
        right_to_information_confirmed: Any = None,
        lawful_basis: Any = None,
    ) -> None:
        if not may_check(actor, model):
            return
        _require_now(now)
        errors: dict[str, str] = {}
        source = _text(address_source)
        if source not in dict(ADDRESS_SOURCES):
            errors["address_source"] = "Select where you checked the address"
        elif source == "other":
            other = _one_line(address_source_other)
            if not other:
                errors["address_source_other"] = "Enter where you checked the address"
            elif len(other) > SHORT_TEXT_MAX:
                errors["address_source_other"] = (
                    f"Where you checked the address must be {SHORT_TEXT_MAX} characters or fewer"
                )
        if not _confirmed(address_confirmed):
            errors["address_confirmed"] = "Confirm the address or email matches the source"
        if not _confirmed(addressee_confirmed):
            errors["addressee_confirmed"] = "Confirm the addressee is the right person"
        if not _confirmed(right_to_information_confirmed):
            errors["right_to_information_confirmed"] = (
                "Confirm the recipient has a right to this information"
            )
        basis = _one_line(lawful_basis)
        if not basis:
            errors["lawful_basis"] = "Enter the lawful basis or purpose for sharing"
        elif len(basis) > LAWFUL_BASIS_MAX:
            errors["lawful_basis"] = f"Lawful basis must be {LAWFUL_BASIS_MAX} characters or fewer"
        if errors:
            raise InputError(errors)

    def validate_mark_sent(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        password_protected: Any = None,
        password_separate: Any = None,
        tracking_reference: Any = None,
    ) -> None:
        if not may_mark_sent(actor, model):
            return
        _require_now(now)
        errors: dict[str, str] = {}
        if model.method == "secure_email":
            if not _confirmed(password_protected):
                errors["password_protected"] = "Confirm the documents are password protected"
            if not _confirmed(password_separate):
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
        if errors:
            raise InputError(errors)

    def validate_confirm_delivered(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        delivery_evidence: Any = None,
    ) -> None:
        if not may_confirm_delivered(actor, model):
            return
        _require_now(now)
        if _text(delivery_evidence) not in dict(DELIVERY_EVIDENCE):
            raise InputError(
                {"delivery_evidence": "Select how you know the documents were delivered"}
            )

    def validate_report_misdirected(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        what_happened: Any = None,
    ) -> None:
        if not may_report_misdirected(actor, model):
            return
        _require_now(now)
        text = _text(what_happened)
        if not text:
            raise InputError({"what_happened": "Describe what happened"})
        if len(text) > LONG_TEXT_MAX:
            raise InputError(
                {"what_happened": f"What happened must be {LONG_TEXT_MAX} characters or fewer"}
            )

    def validate_cancel(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        reason: Any = None,
    ) -> None:
        if not may_cancel(actor, model):
            return
        _require_now(now)
        if len(_text(reason)) > LONG_TEXT_MAX:
            raise InputError({"reason": f"Reason must be {LONG_TEXT_MAX} characters or fewer"})

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
        source = _text(address_source)
        model.checked_by_id = actor.id
        model.checked_at = now
        model.address_source = source
        model.address_source_other = _one_line(address_source_other) if source == "other" else None
        model.lawful_basis = _one_line(lawful_basis)

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
        model.delivery_evidence = _text(delivery_evidence)

    def on_report_misdirected(
        self, model: Any, actor: Actor, now: dt.datetime, what_happened: Any = None
    ) -> None:
        # The breach case is opened in the caller's transaction: if it fails, nothing changes.
        model.open_breach_for_misdirection(actor=actor, now=now, what_happened=_text(what_happened))
        model.misdirected_at = now

    def on_cancel(self, model: Any, actor: Actor, now: dt.datetime, reason: Any = None) -> None:
        model.cancelled_at = now
        model.cancelled_by_id = actor.id
        model.cancel_reason = _text(reason) or None


def _require_now(now: dt.datetime | None) -> None:
    """The caller passes the time; the machine never reads the clock."""
    if not isinstance(now, dt.datetime):
        raise TypeError("pass now= (a naive UTC datetime) when sending a dispatch event")


STATE_IDS: frozenset[str] = frozenset(s.id for s in DispatchMachine.states)
# No more work expected (the boards' "closed"); delivered can still turn misdirected.
CLOSED_STATES: frozenset[str] = frozenset({"delivered", "misdirected", "cancelled"})


def dispatch_machine(model: Any, listeners: Iterable[object] = ()) -> DispatchMachine:
    """Build the machine for one dispatch row; ValueError when its stored state is unknown.

    python-statemachine would otherwise fail late, with a bare KeyError, on first use.
    """
    state = getattr(model, "state", None)
    if state not in STATE_IDS:
        raise ValueError(f"dispatch {getattr(model, 'id', None)!r} has unknown state {state!r}")
    return DispatchMachine(model=model, state_field="state", listeners=list(listeners))
