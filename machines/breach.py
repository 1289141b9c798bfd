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
import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from statemachine import State, StateMachine

from machines.common import Actor, InputError
from machines.risk import Grid, assess, default_grid

STATE_LABELS: dict[str, str] = {
    "reported": "Reported",
    "notified": "Notified",
    "risk_assessed": "Risk assessed",
    "service_user_informed": "Service user informed",
    "decided": "Decided",
    "closed": "Closed",
}

# Button texts; the keys are the event ids the views post to (/breaches/<id>/<event>).
EVENT_LABELS: dict[str, str] = {
    "notify": "Record who was told",
    "assess_risk": "Record the risk assessment",
    "inform_service_user": "Record that the service user was told",
    "record_exemption": "Approve the exemption",
    "skip_informing": "Record that there is no one to tell",
    "decide": "Record the decision",
    "close": "Close the case",
}

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
_RECIPIENTS: tuple[tuple[str, str, str], ...] = (
    ("director", "Director", "the Director"),
    ("business_improvement", "Business Improvement Manager", "the Business Improvement Manager"),
    ("caldicott_guardian", "Caldicott Guardian", "the Caldicott Guardian"),
    ("records_manager", "Information and Records Manager", "the Information and Records Manager"),
    ("governance", "Governance Team", "the person in the Governance Team"),
    ("dpo", "Data Protection Officer", "the Data Protection Officer"),
)
_INSURANCE = ("insurance", "Insurance Section", "the person in the Insurance Section")

REGULATORS: tuple[tuple[str, str], ...] = (
    ("none", "No referral"),
    ("social_work_england", "Social Work England"),
    ("hcpc", "Health and Care Professions Council"),
)

# Everyone in the breach chain (the same roles as models.breaches.BREACH_ROLES).
BREACH_CHAIN_ROLES = (
    "director",
    "assistant_director",
    "caldicott_guardian",
    "records_manager",
    "business_improvement",
    "governance",
    "dpo",
)

ICO_HOURS = 72
NAME_MAX = 120
REFERENCE_MAX = 40
ICO_REFERENCE_MAX = 60
REASON_MAX = 1000
TEXT_MAX = 2000
LESSONS_MAX = 4000
COUNT_MAX = 10_000_000

UK = ZoneInfo("Europe/London")
_CASE_ID = re.compile(r"(?:[A-Z]+-?)?[0-9]+")
_TRUE = {"true", "yes", "y", "on", "1"}


# -- input helpers (pure) ------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _confirmed(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in _TRUE


def _datetime(value: Any) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _uk_date(utc: dt.datetime) -> dt.date:
    """The UK calendar day of a naive UTC time (the day people mean)."""
    return utc.replace(tzinfo=dt.UTC).astimezone(UK).date()


def _long_text(
    errors: dict[str, str], field: str, value: Any, missing: str, name: str, limit: int
) -> str:
    """Required free text: add `missing` when empty, a length error when too long."""
    text = _text(value)
    if not text:
        errors[field] = missing
    elif len(text) > limit:
        errors[field] = f"{name} must be {limit:,} characters or fewer"
    return text


def _count(errors: dict[str, str], field: str, value: Any, missing: str, name: str) -> int:
    raw = _text(value).replace(",", "")
    if not raw:
        errors[field] = missing
        return 0
    if not raw.isdigit():
        errors[field] = f"{name} must be a whole number, like 3"
        return 0
    number = int(raw)
    if number > COUNT_MAX:
        errors[field] = f"{name} must be {COUNT_MAX:,} or fewer"
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
    if _text(police_reference) or _text(no_police_reference_reason):
        return False
    return _uk_date(now) > _uk_date(discovered_at)


def police_details_complete(model: Any) -> bool:
    """Loss or theft: a crime reference (or why there is none yet) and the line manager told."""
    if model.category not in POLICE_CATEGORIES:
        return True
    has_reference = bool(_text(model.police_reference) or _text(model.no_police_reference_reason))
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
    what = _long_text(
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
    data_categories = [_text(c) for c in raw_categories if _text(c)]
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

    special = _confirmed(data.get("special_category")) or bool(
        SPECIAL_DATA_CATEGORIES.intersection(data_categories)
    )
    return {
        "what_happened": what,
        "data_categories": data_categories,
        "people_affected": people,
        "records_affected": records,
        "children_or_vulnerable": _confirmed(data.get("children_or_vulnerable")),
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
    _require_now(now)
    errors: dict[str, str] = {}

    category = _text(data.get("category"))
    if category not in dict(CATEGORIES):
        errors["category"] = "Select what kind of breach it was"

    details = _report_details(errors, data)

    happened = _datetime(data.get("happened_at"))
    discovered = _datetime(data.get("discovered_at"))
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

    police_reference = _text(data.get("police_reference"))
    if len(police_reference) > REFERENCE_MAX:
        errors["police_reference"] = (
            f"Police crime reference must be {REFERENCE_MAX} characters or fewer"
        )
    no_reference_reason = _text(data.get("no_police_reference_reason"))
    if len(no_reference_reason) > REASON_MAX:
        errors["no_police_reference_reason"] = (
            f"Why there is no crime reference must be {REASON_MAX:,} characters or fewer"
        )

    case_id = _text(data.get("case_id")).upper()
    if case_id and not (3 <= len(case_id) <= 20 and _CASE_ID.fullmatch(case_id)):
        errors["case_id"] = "Enter the case-system ID in the correct format, like 1234567"

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
        "line_manager_told": _confirmed(data.get("line_manager_told")),
    }


def _data_left_control(value: Any) -> bool:
    """The form's yes/no (or a bool); unanswered counts as "yes", the safer answer."""
    if isinstance(value, bool):
        return value
    return _text(value).lower() != "no"


# -- who may do what (pure; the machine's guards call these) -------------------------------


def _in_chain(actor: Actor | None) -> bool:
    return actor is not None and actor.has(*BREACH_CHAIN_ROLES)


def _is_reporters_manager(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.reporter_manager_id


def _handles_case(actor: Actor | None, model: Any) -> bool:
    """The reporter, the reporter's line manager, or anyone in the breach chain."""
    return (
        _in_chain(actor)
        or _is_reporters_manager(actor, model)
        or (actor is not None and actor.id == model.reported_by_id)
    )


def _reviews_case(actor: Actor | None, model: Any) -> bool:
    """The reporter's line manager or the breach chain: not the reporter's own judgement."""
    return _in_chain(actor) or _is_reporters_manager(actor, model)


def may_notify(actor: Actor | None, model: Any) -> bool:
    """Loss or theft waits for the police details and the line manager being told."""
    return _handles_case(actor, model) and police_details_complete(model)


def may_assess_risk(actor: Actor | None, model: Any) -> bool:
    return _reviews_case(actor, model)


def may_inform_service_user(actor: Actor | None, model: Any) -> bool:
    return _handles_case(actor, model)


def may_record_exemption(actor: Actor | None, model: Any) -> bool:
    """Only the Caldicott Guardian approves not telling the service user."""
    return actor is not None and actor.has("caldicott_guardian")


def may_skip_informing(actor: Actor | None, model: Any) -> bool:
    return is_skippable_near_miss(model) and _reviews_case(actor, model)


def skip_refused_as_not_a_near_miss(actor: Actor | None, model: Any) -> bool:
    """Someone who could skip telling for a near miss that kept the data in, on a case that
    is not one: refused for what the case is (409), not for who they are (403)."""
    return _reviews_case(actor, model) and not is_skippable_near_miss(model)


def may_decide(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.has("assistant_director")


def may_close(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.has("records_manager")


# -- the machine ---------------------------------------------------------------------------


class BreachMachine(StateMachine):
    """One breach or near miss: reported, notified, assessed, service user told, decided.

    {statechart:md}
    """

    reported = State(STATE_LABELS["reported"], initial=True)
    notified = State(STATE_LABELS["notified"])
    risk_assessed = State(STATE_LABELS["risk_assessed"])
    service_user_informed = State(STATE_LABELS["service_user_informed"])
    decided = State(STATE_LABELS["decided"])
    closed = State(STATE_LABELS["closed"], final=True)

    # python-statemachine runs validators *before* cond guards. Each validator therefore
    # first asks the guard and, when this person may not send the event at all, stays
    # silent so the guard refuses it (TransitionNotAllowed) instead of showing form errors.
    notify = reported.to(notified, cond="can_notify", validators="validate_notify")
    assess_risk = notified.to(
        risk_assessed, cond="can_assess_risk", validators="validate_assess_risk"
    )
    # Three ways past the service user step: told, exempt, or a near miss with no one to tell.
    inform_service_user = risk_assessed.to(
        service_user_informed,
        cond="can_inform_service_user",
        validators="validate_inform_service_user",
    )
    record_exemption = risk_assessed.to(
        service_user_informed,
        cond="can_record_exemption",
        validators="validate_record_exemption",
    )
    skip_informing = risk_assessed.to(
        service_user_informed, cond="can_skip_informing", validators="validate_skip_informing"
    )
    decide = service_user_informed.to(decided, cond="can_decide", validators="validate_decide")
    close = decided.to(closed, cond="can_close", validators="validate_close")

    # Guards: called with the `actor` kwarg by send() and enabled_events(). They must not
    # raise: enabled_events() treats a guard that raises as *passing*.

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
        _require_now(now)
        errors: dict[str, str] = {}
        given = notifications or {}
        for key, label, person in _recipients(model.category):
            entry = given.get(key) or {}
            who = _text(entry.get("who"))
            at = _datetime(entry.get("at"))
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
        _long_text(
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
        _require_now(now)
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
        _long_text(
            errors,
            "likely_outcomes",
            likely_outcomes,
            "Enter the likely outcomes for the service user",
            "Likely outcomes",
            TEXT_MAX,
        )
        _long_text(
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
                _long_text(
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
        _require_now(now)
        errors: dict[str, str] = {}
        today = _uk_date(now)
        discovered_on = _uk_date(model.discovered_at)
        in_person = _date(informed_in_person_on)
        in_writing = _date(informed_in_writing_on)
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
        _require_now(now)
        errors: dict[str, str] = {}
        _long_text(
            errors,
            "exemption_reason",
            exemption_reason,
            "Enter why the service user should not be told",
            "Why the service user should not be told",
            REASON_MAX,
        )
        if not _confirmed(approved_by_caldicott):
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
        _require_now(now)
        errors: dict[str, str] = {}
        _long_text(
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
        _require_now(now)
        errors: dict[str, str] = {}
        consulted = _text(caldicott_consulted)
        if not consulted:
            errors["caldicott_consulted"] = "Enter the name of the Caldicott Guardian consulted"
        elif len(consulted) > NAME_MAX:
            errors["caldicott_consulted"] = f"Name must be {NAME_MAX} characters or fewer"
        if disciplinary not in (True, False):
            errors["disciplinary"] = "Select yes if there will be a disciplinary investigation"
        if ico_referred not in (True, False):
            errors["ico_referred"] = "Select yes if the breach was referred to the ICO"
        elif ico_referred:
            referred_at = _datetime(ico_referred_at)
            if referred_at is None:
                errors["ico_referred_at"] = "Enter when the ICO was told"
            elif referred_at > now:
                errors["ico_referred_at"] = "When the ICO was told must be in the past"
            elif referred_at < model.discovered_at:
                errors["ico_referred_at"] = (
                    "When the ICO was told must be after the breach was discovered"
                )
            elif referred_at > ico_deadline(model.discovered_at):
                _long_text(
                    errors,
                    "delay_reason",
                    delay_reason,
                    "Enter why the ICO was told more than 72 hours after the breach was discovered",
                    "Why the ICO was told late",
                    REASON_MAX,
                )
            reference = _text(ico_reference)
            if not reference:
                errors["ico_reference"] = "Enter the ICO reference"
            elif len(reference) > ICO_REFERENCE_MAX:
                errors["ico_reference"] = (
                    f"ICO reference must be {ICO_REFERENCE_MAX} characters or fewer"
                )
        elif model.reportable:
            _long_text(
                errors,
                "not_referred_reason",
                not_referred_reason,
                "Enter why the breach was not referred to the ICO: the risk assessment "
                "found it reportable",
                "Why it was not referred",
                REASON_MAX,
            )
        if _text(regulator) not in dict(REGULATORS):
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
        _require_now(now)
        errors: dict[str, str] = {}
        if not _confirmed(report_complete):
            errors["report_complete"] = "Confirm your breach report is complete"
        _long_text(
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
            key: {"who": _text(given[key]["who"]), "at": given[key]["at"]}
            for key, _ in required_recipients(model.category)
        }
        # The notification rows are written in the caller's transaction.
        model.record_notifications(told, actor=actor, now=now)
        model.notified_at = now
        model.media_advised = media_advised
        model.media_reason = _text(media_reason)

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
        model.override_reason = _text(override_reason) if overridden else None
        model.likely_outcomes = _text(likely_outcomes)
        model.actions_taken = _text(actions_taken)
        model.assessed_at = now

    def on_inform_service_user(
        self,
        model: Any,
        now: dt.datetime,
        informed_in_person_on: Any = None,
        informed_in_writing_on: Any = None,
    ) -> None:
        model.informed_in_person_on = _date(informed_in_person_on)
        model.informed_in_writing_on = _date(informed_in_writing_on)
        model.informed_at = now

    def on_record_exemption(
        self, model: Any, now: dt.datetime, exemption_reason: Any = None
    ) -> None:
        model.exemption_reason = _text(exemption_reason)
        model.informed_at = now

    def on_skip_informing(self, model: Any, now: dt.datetime, skip_reason: Any = None) -> None:
        model.skip_reason = _text(skip_reason)
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
        model.caldicott_consulted = _text(caldicott_consulted)
        model.legal_advice = _confirmed(legal_advice)
        model.disciplinary = disciplinary
        model.ico_referred = ico_referred
        model.ico_referred_at = ico_referred_at if ico_referred else None
        model.ico_reference = _text(ico_reference) if ico_referred else None
        model.not_referred_reason = (
            (_text(not_referred_reason) or None) if not ico_referred else None
        )
        model.delay_reason = _text(delay_reason) if late else None
        model.regulator = _text(regulator)

    def on_close(
        self, model: Any, actor: Actor, now: dt.datetime, lessons_learned: Any = None
    ) -> None:
        model.closed_by_id = actor.id
        model.closed_at = now
        model.report_complete = True
        model.lessons_learned = _text(lessons_learned)


def _require_now(now: dt.datetime | None) -> None:
    """The caller passes the time; the machine never reads the clock."""
    if not isinstance(now, dt.datetime):
        raise TypeError("pass now= (a naive UTC datetime) when sending a breach event")


STATE_IDS: frozenset[str] = frozenset(s.id for s in BreachMachine.states)
CLOSED_STATES: frozenset[str] = frozenset({"closed"})


def breach_machine(model: Any, listeners: Iterable[object] = ()) -> BreachMachine:
    """Build the machine for one breach row; ValueError when its stored state is unknown.

    python-statemachine would otherwise fail late, with a bare KeyError, on first use.
    """
    state = getattr(model, "state", None)
    if state not in STATE_IDS:
        raise ValueError(f"breach {getattr(model, 'id', None)!r} has unknown state {state!r}")
    return BreachMachine(model=model, state_field="state", listeners=list(listeners))
