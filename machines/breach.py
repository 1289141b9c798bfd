"""Breach of confidentiality: one case from its report to its closing (DOMAIN.md §2-4).

Anyone reports a breach or near miss. The procedure's list of people is told, the risk is
placed on the 5x5 grid, the service user is told (face to face, then in writing) unless the
Caldicott Guardian approves an exemption, the Assistant Director decides what follows, and
the Information and Records Manager closes the case with the lessons learned.

No Flask, no queries: the row is any object with the attributes of models.breaches.Breach,
and the one effect that touches other rows (the notifications) is a method on it.
Need-to-know visibility is the model's (Breach.visible_to), not the machine's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from statemachine import Event, State, StateMachine

from machines.common import (
    Actor,
    InputError,
    as_date,
    as_datetime,
    case_id_error,
    confirmed,
    event_labels,
    is_digits,
    machine_for,
    optional_text,
    require_now,
    required_text,
    state_labels,
    text,
    uk_date,
    whole_number,
)
from machines.permissions import Can, Role
from machines.risk import Grid, assess, default_grid

# Category ids are stored; models/dispatches.py opens "wrong_recipient" and
# models/breaches.py (a lost removal) opens "loss".
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("loss", "Loss"),
    ("theft", "Theft"),
    ("wrong_recipient", "Sent to the wrong recipient"),
    ("unauthorised_disclosure", "Unauthorised disclosure"),
    ("other", "Other"),
    ("near_miss", "Near miss"),
)
POLICE_CATEGORIES = frozenset({"loss", "theft"})

# The ICO's "Report a personal data breach" form: categories of personal data.
DATA_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("basic_identifiers", "Basic personal identifiers, for example name or contact details"),
    ("identification", "Identification data, for example usernames or passwords"),
    ("financial", "Economic and financial data, for example bank details"),
    ("official_documents", "Official documents, for example driving licences"),
    ("location", "Location data"),
    ("health", "Health data"),
    ("racial_ethnic", "Data revealing racial or ethnic origin"),
    ("political", "Political opinions"),
    ("religious", "Religious or philosophical beliefs"),
    ("trade_union", "Trade union membership"),
    ("sex_life", "Sex life data"),
    ("sexual_orientation", "Sexual orientation data"),
    ("gender_reassignment", "Gender reassignment data"),
    ("genetic_biometric", "Genetic or biometric data"),
    ("criminal", "Criminal convictions or offences"),
    ("other", "Other"),
    ("not_known", "Not yet known"),
)
# UK GDPR Art. 9: any of these makes the breach one of special category data.
SPECIAL_DATA_CATEGORIES = frozenset(
    {
        "health",
        "racial_ethnic",
        "political",
        "religious",
        "trade_union",
        "sex_life",
        "sexual_orientation",
        "genetic_biometric",
    }
)

# (key, label, who was told): the procedure's list, plus the DPO the law added since.
# The keys are stored (Notification.recipient) and are the roles of those told.
_RECIPIENTS: tuple[tuple[str, str, str], ...] = (
    (Role.DIRECTOR, "Director", "the Director"),
    (Role.BUSINESS_IMPROVEMENT, "Business Improvement Manager", "the Business Improvement Manager"),
    (Role.CALDICOTT_GUARDIAN, "Caldicott Guardian", "the Caldicott Guardian"),
    (
        Role.RECORDS_MANAGER,
        "Information and Records Manager",
        "the Information and Records Manager",
    ),
    (Role.GOVERNANCE, "Governance Team", "the person in the Governance Team"),
    (Role.DPO, "Data Protection Officer", "the Data Protection Officer"),
)
_INSURANCE = ("insurance", "Insurance Section", "the person in the Insurance Section")

REGULATORS: tuple[tuple[str, str], ...] = (
    ("none", "No referral"),
    ("social_work_england", "Social Work England"),
    ("hcpc", "Health and Care Professions Council"),
)

ICO_HOURS = 72
NAME_MAX = 120
REFERENCE_MAX = 40
ICO_REFERENCE_MAX = 60
REASON_MAX = 1000
TEXT_MAX = 2000
LESSONS_MAX = 4000
COUNT_MAX = 10_000_000


# -- input (pure) ------------------------------------------------------------------------


def _count(errors: dict[str, str], field: str, value: Any, missing: str, name: str) -> int:
    if value is None or text(value) == "":
        errors[field] = missing
        return 0
    number = whole_number(value, COUNT_MAX, grouped=True)
    if number is None:
        errors[field] = (
            f"{name} must be {COUNT_MAX:,} or fewer"
            if is_digits(value, grouped=True)
            else f"{name} must be a whole number, like 3"
        )
        return 0
    return number


# -- the rules around the case (pure; the views and the board call these) ------------------


def _recipients(category: str | None) -> list[tuple[str, str, str]]:
    recipients = list(_RECIPIENTS)
    if category in POLICE_CATEGORIES:
        recipients.append(_INSURANCE)
    return recipients


def required_recipients(category: str | None) -> list[tuple[str, str]]:
    """Who must be told, as (key, label): the procedure's list; insurers for loss or theft."""
    return [(key, label) for key, label, _ in _recipients(category)]


def ico_deadline(discovered_at: dt.datetime) -> dt.datetime:
    """72 hours after awareness, weekends and bank holidays included (naive UTC)."""
    return discovered_at + dt.timedelta(hours=ICO_HOURS)


def clock_status(discovered_at: dt.datetime, now: dt.datetime) -> tuple[float, bool]:
    """Return (hours left to tell the ICO, overdue?); hours are negative once overdue.

    The deadline itself is still in time, as in the register's "within 72 hours".
    """
    left = ico_deadline(discovered_at) - now
    return left.total_seconds() / 3600, left < dt.timedelta(0)


def police_flag(
    category: str | None,
    police_reference: str | None,
    no_police_reference_reason: str | None,
    discovered_at: dt.datetime,
    now: dt.datetime,
) -> bool:
    """A loss or theft with neither a crime reference nor why there is none, after its day.

    The police are to be told immediately; the flag goes up once the (UK) day of discovery
    has passed with nothing recorded. A recorded reason (police give no crime reference for
    lost property, say) takes it down.
    """
    if category not in POLICE_CATEGORIES:
        return False
    if text(police_reference) or text(no_police_reference_reason):
        return False
    return uk_date(now) > uk_date(discovered_at)


@dataclass(frozen=True)
class CaseClock:
    """The deadlines a case shows: the ICO's 72 hours and the police-immediately flag."""

    deadline: dt.datetime | None  # None: a near miss that kept the data in has no ICO clock
    hours_left: float
    overdue: bool
    near_miss: bool
    stopped: bool  # the ICO was told, the case is closed, or it was assessed not reportable
    police_flag: bool


def case_clock(model: Any, now: dt.datetime) -> CaseClock:
    """Where a case stands against its deadlines now (for lists, the board and the case)."""
    hours_left, overdue = clock_status(model.discovered_at, now)
    # A near miss that kept the data in is not a personal data breach: no ICO deadline.
    near_miss = is_skippable_near_miss(model)
    return CaseClock(
        deadline=None if near_miss else ico_deadline(model.discovered_at),
        hours_left=hours_left,
        overdue=overdue and not near_miss,
        near_miss=near_miss,
        stopped=bool(model.ico_referred or model.state == "closed" or model.reportable is False),
        police_flag=police_flag(
            model.category,
            model.police_reference,
            model.no_police_reference_reason,
            model.discovered_at,
            now,
        ),
    )


# In-state corrections (self-transitions): they keep a case where it is.
CORRECTIONS = frozenset({"record_police", "update_report"})


def next_steps(events: list[str]) -> list[str]:
    """Of the events a person may send, those that move the case on (the next step)."""
    return [event for event in events if event not in CORRECTIONS]


def waiting_events(events: list[str], model: Any, actor: Actor) -> list[str]:
    """What a case waits for from this person: its next step; or, from the reporter and
    their line manager, a loss or theft's police details when the case cannot be notified
    without them (the breach chain may add them too, but is not asked to)."""
    waiting = next_steps(events)
    own_people = actor.id in (model.reported_by_id, model.reporter_manager_id)
    if "record_police" in events and own_people and not police_details_complete(model):
        waiting.insert(0, "record_police")
    return waiting


def police_details_complete(model: Any) -> bool:
    """Loss or theft: a crime reference (or why there is none yet) and the line manager told."""
    if model.category not in POLICE_CATEGORIES:
        return True
    has_reference = bool(text(model.police_reference) or text(model.no_police_reference_reason))
    return has_reference and bool(model.line_manager_told)


def is_skippable_near_miss(model: Any) -> bool:
    """A near miss where no data left the council's control: no service user to tell."""
    return model.category == "near_miss" and model.data_left_control is False


# The facts of a report that can be corrected while the case is still `reported`.
REPORT_DETAIL_FIELDS = (
    "what_happened",
    "data_categories",
    "people_affected",
    "records_affected",
    "children_or_vulnerable",
    "special_category",
)


def _report_details(errors: dict[str, str], data: Mapping[str, Any]) -> dict[str, Any]:
    """What happened, what data, how many, and who: checked alike at report and correction."""
    what = required_text(
        errors,
        "what_happened",
        data.get("what_happened"),
        "Describe what happened",
        "What happened",
        TEXT_MAX,
    )
    raw_categories = data.get("data_categories") or []
    if isinstance(raw_categories, str):
        raw_categories = [raw_categories]
    data_categories = [text(c) for c in raw_categories if text(c)]
    known = dict(DATA_CATEGORIES)
    if not data_categories:
        errors["data_categories"] = "Select the kinds of data involved, or 'Not yet known'"
    elif any(c not in known for c in data_categories):
        errors["data_categories"] = "Select the kinds of data involved from the list"
    # Keep the form's order, once each.
    data_categories = [key for key in known if key in data_categories]

    people = _count(
        errors,
        "people_affected",
        data.get("people_affected"),
        "Enter roughly how many people's data was involved",
        "Number of people",
    )
    records = _count(
        errors,
        "records_affected",
        data.get("records_affected"),
        "Enter roughly how many records were involved",
        "Number of records",
    )

    special = confirmed(data.get("special_category")) or bool(
        SPECIAL_DATA_CATEGORIES.intersection(data_categories)
    )
    return {
        "what_happened": what,
        "data_categories": data_categories,
        "people_affected": people,
        "records_affected": records,
        "children_or_vulnerable": confirmed(data.get("children_or_vulnerable")),
        "special_category": special,
    }


def validate_report_details(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a correction of a report's details; the cleaned values, or InputError with all.

    The same rules as a new report (validate_report) for the same fields.
    """
    errors: dict[str, str] = {}
    details = _report_details(errors, data)
    if errors:
        raise InputError(errors)
    return details


def validate_report(data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Check a new report; return the cleaned values or raise InputError with every error.

    `happened_at` and `discovered_at` arrive as naive UTC datetimes (None when not given).
    The police details are not required yet: they are before the case can be notified.
    The case-system ID is checked here but returned by the caller, not in the result.
    """
    require_now(now)
    errors: dict[str, str] = {}

    category = text(data.get("category"))
    if category not in dict(CATEGORIES):
        errors["category"] = "Select what kind of breach it was"

    details = _report_details(errors, data)

    happened = as_datetime(data.get("happened_at"))
    discovered = as_datetime(data.get("discovered_at"))
    if happened is None:
        errors["happened_at"] = "Enter when it happened"
    elif happened > now:
        errors["happened_at"] = "When it happened must be in the past"
    if discovered is None:
        errors["discovered_at"] = "Enter when it was discovered"
    elif discovered > now:
        errors["discovered_at"] = "When it was discovered must be in the past"
    elif happened is not None and discovered < happened:
        errors["discovered_at"] = (
            "When it was discovered must be the same as or after when it happened"
        )

    police_reference = text(data.get("police_reference"))
    if len(police_reference) > REFERENCE_MAX:
        errors["police_reference"] = (
            f"Police crime reference must be {REFERENCE_MAX} characters or fewer"
        )
    no_reference_reason = text(data.get("no_police_reference_reason"))
    if len(no_reference_reason) > REASON_MAX:
        errors["no_police_reference_reason"] = (
            f"Why there is no crime reference must be {REASON_MAX:,} characters or fewer"
        )

    if problem := case_id_error(data.get("case_id"), required=False):
        errors["case_id"] = problem

    if errors:
        # In the form's order (the details are checked together, the times between them).
        order = ("category", "what_happened", "happened_at", "discovered_at")
        first = {key: errors[key] for key in order if key in errors}
        raise InputError({**first, **{k: v for k, v in errors.items() if k not in first}})
    return {
        **details,
        "happened_at": happened,
        "discovered_at": discovered,
        "category": category,
        # Only a near miss can have kept the data in: every breach let some out.
        "data_left_control": True
        if category != "near_miss"
        else _data_left_control(data.get("data_left_control")),
        "police_reference": police_reference or None,
        "no_police_reference_reason": no_reference_reason or None,
        "line_manager_told": confirmed(data.get("line_manager_told")),
    }


def _data_left_control(value: Any) -> bool:
    """The form's yes/no (or a bool); unanswered counts as "yes", the safer answer."""
    if isinstance(value, bool):
        return value
    return text(value).lower() != "no"


# -- who may do what (pure; the machine's guards call these) -------------------------------


def _in_chain(actor: Actor | None) -> bool:
    return actor is not None and actor.can(Can.HANDLE_EVERY_BREACH)


def _is_reporters_manager(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.reporter_manager_id


def may_see_case(actor: Actor | None, model: Any) -> bool:
    """Need to know: the reporter, the reporter's line manager, or anyone in the breach chain.

    models.breaches.Breach.visible_query is this rule as SQL."""
    return (
        _in_chain(actor)
        or _is_reporters_manager(actor, model)
        or (actor is not None and actor.id == model.reported_by_id)
    )


def _reviews_case(actor: Actor | None, model: Any) -> bool:
    """The reporter's line manager or the breach chain: not the reporter's own judgement."""
    return _in_chain(actor) or _is_reporters_manager(actor, model)


def may_record_police(actor: Actor | None, model: Any) -> bool:
    """The police details of a loss or theft: whoever handles the case."""
    return model.category in POLICE_CATEGORIES and may_see_case(actor, model)


def may_update_report(actor: Actor | None, model: Any) -> bool:
    """Check and complete the report: whoever handles the case."""
    return may_see_case(actor, model)


def may_notify(actor: Actor | None, model: Any) -> bool:
    """Loss or theft waits for the police details and the line manager being told."""
    return may_see_case(actor, model) and police_details_complete(model)


def may_assess_risk(actor: Actor | None, model: Any) -> bool:
    return _reviews_case(actor, model)


def may_inform_service_user(actor: Actor | None, model: Any) -> bool:
    return may_see_case(actor, model)


def may_record_exemption(actor: Actor | None, model: Any) -> bool:
    """Only the Caldicott Guardian approves not telling the service user."""
    return actor is not None and actor.can(Can.APPROVE_EXEMPTION)


def may_skip_informing(actor: Actor | None, model: Any) -> bool:
    return is_skippable_near_miss(model) and _reviews_case(actor, model)


def skip_refused_as_not_a_near_miss(actor: Actor | None, model: Any) -> bool:
    """Someone who could skip telling for a near miss that kept the data in, on a case that
    is not one: refused for what the case is (409), not for who they are (403)."""
    return _reviews_case(actor, model) and not is_skippable_near_miss(model)


def may_decide(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.can(Can.DECIDE_BREACH)


def may_close(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.can(Can.CLOSE_BREACH)


# -- the machine ---------------------------------------------------------------------------


class BreachMachine(StateMachine):
    """One breach or near miss: reported, notified, assessed, service user told, decided.

    {statechart:md}
    """

    reported = State("Reported", initial=True)
    notified = State("Notified")
    risk_assessed = State("Risk assessed")
    service_user_informed = State("Service user informed")
    decided = State("Decided")
    closed = State("Closed", final=True)

    # python-statemachine runs validators *before* cond guards. Each validator therefore
    # first asks the guard and, when this person may not send the event at all, stays
    # silent so the guard refuses it (TransitionNotAllowed) instead of showing form errors.
    # Corrections while the case is reported: self-transitions, so they are version-checked
    # and audited by the one transition path like every other change.
    record_police = Event(
        reported.to.itself(cond="can_record_police", validators="validate_record_police"),
        name="Save the police details",
    )
    update_report = Event(
        reported.to.itself(cond="can_update_report", validators="validate_update_report"),
        name="Save the checked report",
    )
    notify = Event(
        reported.to(notified, cond="can_notify", validators="validate_notify"),
        name="Record who was told",
    )
    assess_risk = Event(
        notified.to(risk_assessed, cond="can_assess_risk", validators="validate_assess_risk"),
        name="Record the risk assessment",
    )
    # Three ways past the service user step: told, exempt, or a near miss with no one to tell.
    inform_service_user = Event(
        risk_assessed.to(
            service_user_informed,
            cond="can_inform_service_user",
            validators="validate_inform_service_user",
        ),
        name="Record that the service user was told",
    )
    record_exemption = Event(
        risk_assessed.to(
            service_user_informed,
            cond="can_record_exemption",
            validators="validate_record_exemption",
        ),
        name="Approve the exemption",
    )
    skip_informing = Event(
        risk_assessed.to(
            service_user_informed, cond="can_skip_informing", validators="validate_skip_informing"
        ),
        name="Record that there is no one to tell",
    )
    decide = Event(
        service_user_informed.to(decided, cond="can_decide", validators="validate_decide"),
        name="Record the decision",
    )
    close = Event(
        decided.to(closed, cond="can_close", validators="validate_close"), name="Close the case"
    )

    # Guards: called with the `actor` kwarg by send() and enabled_events(). They must not
    # raise: enabled_events() treats a guard that raises as *passing*.

    def can_record_police(self, model: Any, actor: Actor | None = None) -> bool:
        return may_record_police(actor, model)

    def can_update_report(self, model: Any, actor: Actor | None = None) -> bool:
        return may_update_report(actor, model)

    def can_notify(self, model: Any, actor: Actor | None = None) -> bool:
        return may_notify(actor, model)

    def can_assess_risk(self, model: Any, actor: Actor | None = None) -> bool:
        return may_assess_risk(actor, model)

    def can_inform_service_user(self, model: Any, actor: Actor | None = None) -> bool:
        return may_inform_service_user(actor, model)

    def can_record_exemption(self, model: Any, actor: Actor | None = None) -> bool:
        return may_record_exemption(actor, model)

    def can_skip_informing(self, model: Any, actor: Actor | None = None) -> bool:
        return may_skip_informing(actor, model)

    def can_decide(self, model: Any, actor: Actor | None = None) -> bool:
        return may_decide(actor, model)

    def can_close(self, model: Any, actor: Actor | None = None) -> bool:
        return may_close(actor, model)

    # Validators: raise InputError (field -> GOV.UK message) with every error at once.

    def validate_record_police(
        self,
        model: Any,
        actor: Actor | None = None,
        police_reference: Any = None,
        no_police_reference_reason: Any = None,
    ) -> None:
        if not may_record_police(actor, model):
            return
        errors: dict[str, str] = {}
        reference = optional_text(
            errors, "police_reference", police_reference, "Police crime reference", REFERENCE_MAX
        )
        reason = optional_text(
            errors,
            "no_police_reference_reason",
            no_police_reference_reason,
            "Why there is no crime reference",
            REASON_MAX,
        )
        if not errors and not reference and not reason:
            errors["police_reference"] = (
                "Enter the police crime reference number, or why there is none yet"
            )
        if errors:
            raise InputError(errors)

    def validate_update_report(self, model: Any, actor: Actor | None = None, **data: Any) -> None:
        if may_update_report(actor, model):
            validate_report_details(data)

    def validate_notify(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        notifications: Mapping[str, Mapping[str, Any]] | None = None,
        media_advised: Any = None,
        media_reason: Any = None,
    ) -> None:
        if not may_notify(actor, model):
            return
        require_now(now)
        errors: dict[str, str] = {}
        given = notifications or {}
        for key, label, person in _recipients(model.category):
            entry = given.get(key) or {}
            who = text(entry.get("who"))
            at = as_datetime(entry.get("at"))
            if not who:
                errors[f"{key}_who"] = f"Enter the name of {person} who was told"
            elif len(who) > NAME_MAX:
                errors[f"{key}_who"] = f"Name must be {NAME_MAX} characters or fewer"
            if at is None:
                errors[f"{key}_at"] = f"Enter when the {label} was told"
            elif at > now:
                errors[f"{key}_at"] = f"When the {label} was told must be in the past"
            elif at < model.discovered_at:
                errors[f"{key}_at"] = (
                    f"When the {label} was told must be after the breach was discovered"
                )
        if media_advised not in (True, False):
            errors["media_advised"] = "Select yes if the media office was advised"
        required_text(
            errors,
            "media_reason",
            media_reason,
            "Enter why the media office was or was not advised",
            "Why",
            REASON_MAX,
        )
        if errors:
            raise InputError(errors)

    def validate_assess_risk(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        likelihood: Any = None,
        severity: Any = None,
        likely_outcomes: Any = None,
        actions_taken: Any = None,
        reportable_override: Any = None,
        override_reason: Any = None,
        grid: Grid | None = None,
    ) -> None:
        if not may_assess_risk(actor, model):
            return
        require_now(now)
        grid = grid or default_grid()
        errors: dict[str, str] = {}
        if not grid.is_likelihood(likelihood):
            errors["likelihood"] = "Select how likely it is that harm follows"
        floor = grid.severity_floor(bool(model.children_or_vulnerable))
        if not grid.is_severity(severity):
            errors["severity"] = "Select how severe the harm would be"
        elif severity < floor:
            errors["severity"] = (
                f"Select a severity of {floor} or more: children or vulnerable adults are involved"
            )
        required_text(
            errors,
            "likely_outcomes",
            likely_outcomes,
            "Enter the likely outcomes for the service user",
            "Likely outcomes",
            TEXT_MAX,
        )
        required_text(
            errors,
            "actions_taken",
            actions_taken,
            "Enter the actions taken to minimise the impact",
            "Actions taken",
            TEXT_MAX,
        )
        if reportable_override not in (None, True, False):
            errors["reportable_override"] = "Select whether the breach is reportable to the ICO"
        elif reportable_override is not None and not errors.keys() & {"likelihood", "severity"}:
            result = assess(likelihood, severity, model.children_or_vulnerable, grid)
            if reportable_override != result.reportable:
                required_text(
                    errors,
                    "override_reason",
                    override_reason,
                    "Enter why you are overriding the grid's result",
                    "Why you are overriding the grid",
                    REASON_MAX,
                )
        if errors:
            raise InputError(errors)

    def validate_inform_service_user(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        informed_in_person_on: Any = None,
        informed_in_writing_on: Any = None,
    ) -> None:
        if not may_inform_service_user(actor, model):
            return
        require_now(now)
        errors: dict[str, str] = {}
        today = uk_date(now)
        discovered_on = uk_date(model.discovered_at)
        in_person = as_date(informed_in_person_on)
        in_writing = as_date(informed_in_writing_on)
        meeting = "The date of the face-to-face meeting"
        letter = "The date of the letter"
        if in_person is None:
            errors["informed_in_person_on"] = "Enter the date of the face-to-face meeting"
        elif in_person > today:
            errors["informed_in_person_on"] = f"{meeting} must be today or in the past"
        elif in_person < discovered_on:
            errors["informed_in_person_on"] = (
                f"{meeting} must be on or after the day the breach was discovered"
            )
        # Face to face first, then in writing: the letter follows the meeting.
        if in_writing is None:
            errors["informed_in_writing_on"] = "Enter the date of the letter"
        elif in_writing > today:
            errors["informed_in_writing_on"] = f"{letter} must be today or in the past"
        elif in_person is not None and in_writing < in_person:
            errors["informed_in_writing_on"] = (
                f"{letter} must be the same as or after the date of the face-to-face meeting"
            )
        if errors:
            raise InputError(errors)

    def validate_record_exemption(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        exemption_reason: Any = None,
        approved_by_caldicott: Any = None,
    ) -> None:
        if not may_record_exemption(actor, model):
            return
        require_now(now)
        errors: dict[str, str] = {}
        required_text(
            errors,
            "exemption_reason",
            exemption_reason,
            "Enter why the service user should not be told",
            "Why the service user should not be told",
            REASON_MAX,
        )
        if not confirmed(approved_by_caldicott):
            errors["approved_by_caldicott"] = (
                "Confirm you approve this exemption as Caldicott Guardian"
            )
        if errors:
            raise InputError(errors)

    def validate_skip_informing(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        skip_reason: Any = None,
    ) -> None:
        if not may_skip_informing(actor, model):
            return
        require_now(now)
        errors: dict[str, str] = {}
        required_text(
            errors,
            "skip_reason",
            skip_reason,
            "Enter why there is no one to tell",
            "Why there is no one to tell",
            REASON_MAX,
        )
        if errors:
            raise InputError(errors)

    def validate_decide(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        caldicott_consulted: Any = None,
        disciplinary: Any = None,
        ico_referred: Any = None,
        ico_referred_at: Any = None,
        ico_reference: Any = None,
        not_referred_reason: Any = None,
        delay_reason: Any = None,
        regulator: Any = None,
    ) -> None:
        if not may_decide(actor, model):
            return
        require_now(now)
        errors: dict[str, str] = {}
        consulted = text(caldicott_consulted)
        if not consulted:
            errors["caldicott_consulted"] = "Enter the name of the Caldicott Guardian consulted"
        elif len(consulted) > NAME_MAX:
            errors["caldicott_consulted"] = f"Name must be {NAME_MAX} characters or fewer"
        if disciplinary not in (True, False):
            errors["disciplinary"] = "Select yes if there will be a disciplinary investigation"
        if ico_referred not in (True, False):
            errors["ico_referred"] = "Select yes if the breach was referred to the ICO"
        elif ico_referred:
            referred_at = as_datetime(ico_referred_at)
            if referred_at is None:
                errors["ico_referred_at"] = "Enter when the ICO was told"
            elif referred_at > now:
                errors["ico_referred_at"] = "When the ICO was told must be in the past"
            elif referred_at < model.discovered_at:
                errors["ico_referred_at"] = (
                    "When the ICO was told must be after the breach was discovered"
                )
            elif referred_at > ico_deadline(model.discovered_at):
                required_text(
                    errors,
                    "delay_reason",
                    delay_reason,
                    "Enter why the ICO was told more than 72 hours after the breach was discovered",
                    "Why the ICO was told late",
                    REASON_MAX,
                )
            reference = text(ico_reference)
            if not reference:
                errors["ico_reference"] = "Enter the ICO reference"
            elif len(reference) > ICO_REFERENCE_MAX:
                errors["ico_reference"] = (
                    f"ICO reference must be {ICO_REFERENCE_MAX} characters or fewer"
                )
        elif model.reportable:
            required_text(
                errors,
                "not_referred_reason",
                not_referred_reason,
                "Enter why the breach was not referred to the ICO: the risk assessment "
                "found it reportable",
                "Why it was not referred",
                REASON_MAX,
            )
        if text(regulator) not in dict(REGULATORS):
            errors["regulator"] = (
                "Select whether the breach was referred to a professional regulator"
            )
        if errors:
            raise InputError(errors)

    def validate_close(
        self,
        model: Any,
        actor: Actor | None = None,
        now: dt.datetime | None = None,
        report_complete: Any = None,
        lessons_learned: Any = None,
    ) -> None:
        if not may_close(actor, model):
            return
        require_now(now)
        errors: dict[str, str] = {}
        if not confirmed(report_complete):
            errors["report_complete"] = "Confirm your breach report is complete"
        required_text(
            errors,
            "lessons_learned",
            lessons_learned,
            "Enter the lessons learned",
            "Lessons learned",
            LESSONS_MAX,
        )
        if errors:
            raise InputError(errors)

    # Actions: run only after the guard and validators passed; they set the row's fields.
    # Saving the row is the caller's (the audit listener's after_transition).

    def on_record_police(
        self,
        model: Any,
        now: dt.datetime,
        police_reference: Any = None,
        no_police_reference_reason: Any = None,
        line_manager_told: Any = None,
    ) -> None:
        model.police_reference = text(police_reference) or None
        model.no_police_reference_reason = text(no_police_reference_reason) or None
        model.line_manager_told = confirmed(line_manager_told)
        if model.police_reference and not model.police_recorded_at:
            model.police_recorded_at = now

    def on_update_report(self, model: Any, **data: Any) -> None:
        details = validate_report_details(data)
        for key in REPORT_DETAIL_FIELDS:
            value = details[key]
            setattr(model, key, ",".join(value) if key == "data_categories" else value)

    def on_notify(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        notifications: Mapping[str, Mapping[str, Any]] | None = None,
        media_advised: Any = None,
        media_reason: Any = None,
    ) -> None:
        given = notifications or {}
        told = {
            key: {"who": text(given[key]["who"]), "at": given[key]["at"]}
            for key, _ in required_recipients(model.category)
        }
        # The notification rows are written in the caller's transaction.
        model.record_notifications(told, actor=actor, now=now)
        model.notified_at = now
        model.media_advised = media_advised
        model.media_reason = text(media_reason)

    def on_assess_risk(
        self,
        model: Any,
        now: dt.datetime,
        likelihood: int,
        severity: int,
        likely_outcomes: Any = None,
        actions_taken: Any = None,
        reportable_override: bool | None = None,
        override_reason: Any = None,
        grid: Grid | None = None,
    ) -> None:
        result = assess(likelihood, severity, model.children_or_vulnerable, grid)
        reportable = result.reportable if reportable_override is None else reportable_override
        overridden = reportable != result.reportable
        model.likelihood = result.likelihood
        model.severity = result.severity
        model.reportable = reportable
        # High risk to people is a risk to them: not reportable means not high risk either.
        model.high_risk = result.high_risk and reportable
        model.override_reason = text(override_reason) if overridden else None
        model.likely_outcomes = text(likely_outcomes)
        model.actions_taken = text(actions_taken)
        model.assessed_at = now

    def on_inform_service_user(
        self,
        model: Any,
        now: dt.datetime,
        informed_in_person_on: Any = None,
        informed_in_writing_on: Any = None,
    ) -> None:
        model.informed_in_person_on = as_date(informed_in_person_on)
        model.informed_in_writing_on = as_date(informed_in_writing_on)
        model.informed_at = now

    def on_record_exemption(
        self, model: Any, now: dt.datetime, exemption_reason: Any = None
    ) -> None:
        model.exemption_reason = text(exemption_reason)
        model.informed_at = now

    def on_skip_informing(self, model: Any, now: dt.datetime, skip_reason: Any = None) -> None:
        model.skip_reason = text(skip_reason)
        model.informed_at = now

    def on_decide(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        caldicott_consulted: Any = None,
        legal_advice: Any = None,
        disciplinary: bool | None = None,
        ico_referred: bool | None = None,
        ico_referred_at: dt.datetime | None = None,
        ico_reference: Any = None,
        not_referred_reason: Any = None,
        delay_reason: Any = None,
        regulator: Any = None,
    ) -> None:
        late = bool(ico_referred) and ico_referred_at > ico_deadline(model.discovered_at)
        model.decided_by_id = actor.id
        model.decided_at = now
        model.caldicott_consulted = text(caldicott_consulted)
        model.legal_advice = confirmed(legal_advice)
        model.disciplinary = disciplinary
        model.ico_referred = ico_referred
        model.ico_referred_at = ico_referred_at if ico_referred else None
        model.ico_reference = text(ico_reference) if ico_referred else None
        model.not_referred_reason = (
            (text(not_referred_reason) or None) if not ico_referred else None
        )
        model.delay_reason = text(delay_reason) if late else None
        model.regulator = text(regulator)

    def on_close(
        self, model: Any, actor: Actor, now: dt.datetime, lessons_learned: Any = None
    ) -> None:
        model.closed_by_id = actor.id
        model.closed_at = now
        model.report_complete = True
        model.lessons_learned = text(lessons_learned)


STATE_IDS: frozenset[str] = frozenset(s.id for s in BreachMachine.states)
CLOSED_STATES: frozenset[str] = frozenset({"closed"})


STATE_LABELS: dict[str, str] = state_labels(BreachMachine)
# Button texts; the keys are the event ids the views post to (/breaches/<id>/<event>).
EVENT_LABELS: dict[str, str] = event_labels(BreachMachine)


def breach_machine(model: Any, listeners: Iterable[object] = ()) -> BreachMachine:
    """Build the machine for one breach row; ValueError when its stored state is unknown."""
    return machine_for(BreachMachine, model, listeners)
