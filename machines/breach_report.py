"""A breach report's facts: the vocabulary a case is told in (categories, kinds of data,
answers, regulators), who is told of each kind of case, the limits on its text, and the checks
of a new report, of its corrections and of the facts asked when a case is opened for someone
(a lost removal, a misdirected dispatch).

Pure: no Flask, no queries. The breach machine (machines/breach.py) calls these from its
validators; the forms (views/forms/breaches.py) offer their choices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from machines.common import (
    Errors,
    InputError,
    as_date,
    as_datetime,
    case_id_error,
    confirmed,
    input_errors,
    is_digits,
    optional_text,
    require_now,
    required_text,
    text,
    uk_date,
    whole_number,
)
from machines.permissions import Role

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
# The procedure: the Governance Team hears of every breach "or near miss", and the
# Information and Records Manager reports on it; the rest of the list is for breaches.
_NEAR_MISS_RECIPIENTS = frozenset({Role.GOVERNANCE, Role.RECORDS_MANAGER})

# A fact asked when a case opens for someone (a lost removal, a misdirected dispatch), where
# "not known yet" is an honest answer: stored as None and treated as the worst case.
ANSWERS: tuple[tuple[str, str], ...] = (
    ("yes", "Yes"),
    ("no", "No"),
    ("not_known", "Not known yet"),
)

REGULATORS: tuple[tuple[str, str], ...] = (
    ("none", "No referral"),
    ("social_work_england", "Social Work England"),
    ("hcpc", "Health and Care Professions Council"),
)

NAME_MAX = 120
OFFICER_MAX = 120
RATIONALE_MAX = 300  # one line: why reportable or not
REFERENCE_MAX = 40
ICO_REFERENCE_MAX = 60
REASON_MAX = 1000
TEXT_MAX = 2000
LESSONS_MAX = 4000
ICO_SUMMARY_MAX = 2000

# What the council did to contain a breach, as the ICO's form asks it: chosen from a list,
# so the ICO draft is built from answers, never from anyone's free text (DOMAIN.md section 6).
CONTAINMENT_ACTIONS: tuple[tuple[str, str], ...] = (
    ("police_told", "Reported to the police"),
    ("recipient_asked_to_delete", "Recipient asked to return or delete the information"),
    ("recipient_confirmed_deleted", "Recipient confirmed the information was returned or deleted"),
    ("papers_recovered", "Papers or equipment recovered"),
    ("access_changed", "Passwords or access changed"),
    ("searched", "Search made where the papers were lost"),
    ("staff_reminded", "Staff involved reminded of the procedure"),
    ("service_user_told", "Service user told, or being told"),
    ("other", "Other steps (said in the summary)"),
)
COUNT_MAX = 10_000_000

CLOSED_STATES: frozenset[str] = frozenset({"closed"})


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


_UNANSWERED = object()


def answer(value: Any) -> Any:
    """A yes / no / not known answer as True, False or None; _UNANSWERED for anything else."""
    if isinstance(value, bool):
        return value
    return {"yes": True, "no": False, "not_known": None}.get(text(value).lower(), _UNANSWERED)


# -- who is told -------------------------------------------------------------------------


def recipients_of(category: str | None) -> list[tuple[str, str, str]]:
    """Who is told of a case of this category, as (key, label, who was told)."""
    if category == "near_miss":
        return [r for r in _RECIPIENTS if r[0] in _NEAR_MISS_RECIPIENTS]
    recipients = list(_RECIPIENTS)
    if category in POLICE_CATEGORIES:
        recipients.append(_INSURANCE)
    return recipients


def required_recipients(category: str | None) -> list[tuple[str, str]]:
    """Who must be told, as (key, label): the procedure's list (the Governance Team and the
    Information and Records Manager for a near miss); insurers too for a loss or theft."""
    return [(key, label) for key, label, _ in recipients_of(category)]


def emailed_roles(category: str | None) -> list[str]:
    """The roles told by email as soon as a case is reported: those on the list who work in
    the council's breach roles. Police, insurers and the media office are told by people."""
    roles = {str(role) for role in Role}
    return [key for key, _ in required_recipients(category) if key in roles]


# -- the report and its corrections --------------------------------------------------------

# The facts of a report that can be corrected until the risk is assessed.
REPORT_DETAIL_FIELDS = (
    "category",
    "what_happened",
    "happened_at",
    "discovered_at",
    "data_left_control",
    "data_categories",
    "people_affected",
    "records_affected",
    "children_or_vulnerable",
    "special_category",
)


def _data_categories(errors: dict[str, str], data: Mapping[str, Any]) -> list[str]:
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
    return [key for key in known if key in data_categories]


def _times(errors: dict[str, str], data: Mapping[str, Any], now: dt.datetime):
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
    return happened, discovered


def _category(errors: dict[str, str], value: Any) -> str:
    category = text(value)
    if category not in dict(CATEGORIES):
        errors["category"] = "Select what kind of breach it was"
    return category


def _data_left_control(errors: dict[str, str], category: str, value: Any) -> bool:
    """Only a near miss can have kept the data in, and only the reporter can say so: its
    yes/no (or a bool) is required, since either guess is wrong somewhere (a "yes" starts the
    ICO's clock for a case that never left the building, a "no" skips telling people)."""
    if category != "near_miss":
        return True
    if isinstance(value, bool):
        return value
    answer = {"yes": True, "no": False}.get(text(value).lower())
    if answer is None:
        errors["data_left_control"] = "Select whether any data left the council's control"
        return True
    return answer


def _counts_and_what(errors: dict[str, str], data: Mapping[str, Any]) -> dict[str, Any]:
    what = required_text(
        errors,
        "what_happened",
        data.get("what_happened"),
        "Describe what happened",
        "What happened",
        TEXT_MAX,
    )
    data_categories = _data_categories(errors, data)
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
    return {
        "what_happened": what,
        "data_categories": data_categories,
        "people_affected": people,
        "records_affected": records,
    }


def _facts(errors: dict[str, str], data: Mapping[str, Any], data_categories: list[str]) -> dict:
    """Children or vulnerable adults, and special category data: yes, no or not known yet."""
    children = answer(data.get("children_or_vulnerable"))
    if children is _UNANSWERED:
        errors["children_or_vulnerable"] = (
            "Select whether children or vulnerable adults are involved, or 'Not known yet'"
        )
        children = None
    special = answer(data.get("special_category"))
    if special is _UNANSWERED:
        errors["special_category"] = (
            "Select whether special category data is involved, or 'Not known yet'"
        )
        special = None
    if SPECIAL_DATA_CATEGORIES.intersection(data_categories):
        special = True  # health data, say, is special category whatever the answer
    return {"children_or_vulnerable": children, "special_category": special}


def validate_report_details(data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Check a correction of a report (every field of REPORT_DETAIL_FIELDS); the cleaned
    values, or InputError with every error. The rules of a new report, with "not known yet"
    allowed for the children and special category facts."""
    with input_errors() as errors:
        category = _category(errors, data.get("category"))
        details = _counts_and_what(errors, data)
        happened, discovered = _times(errors, data, now)
        facts = _facts(errors, data, details["data_categories"])
        left_control = _data_left_control(errors, category, data.get("data_left_control"))
    return {
        **details,
        **facts,
        "category": category,
        "happened_at": happened,
        "discovered_at": discovered,
        "data_left_control": left_control,
    }


def validate_report(data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Check a new report; return the cleaned values or raise InputError with every error.

    `happened_at` and `discovered_at` arrive as naive UTC datetimes (None when not given).
    The police details are not required yet: they are before the case can be notified.
    The case-system ID is checked here but returned by the caller, not in the result.
    """
    require_now(now)
    errors: dict[str, str] = {}
    category = _category(errors, data.get("category"))
    left_control = _data_left_control(errors, category, data.get("data_left_control"))
    details = _counts_and_what(errors, data)
    happened, discovered = _times(errors, data, now)

    police_reference = optional_text(
        errors,
        "police_reference",
        data.get("police_reference"),
        "Police crime reference",
        REFERENCE_MAX,
    )
    no_reference_reason = optional_text(
        errors,
        "no_police_reference_reason",
        data.get("no_police_reference_reason"),
        "Why there is no crime reference",
        REASON_MAX,
    )
    officer = optional_text(
        errors,
        "police_officer",
        data.get("police_officer"),
        "Officer or police station",
        OFFICER_MAX,
    )
    police_told_at = check_police_told(
        errors, police_reference, data.get("police_told_at"), happened, now
    )
    if problem := case_id_error(data.get("case_id"), required=False):
        errors["case_id"] = problem

    if errors:
        # In the form's order (the details are checked together, the times between them).
        order = ("category", "data_left_control", "what_happened", "happened_at", "discovered_at")
        first = {key: errors[key] for key in order if key in errors}
        raise InputError({**first, **{k: v for k, v in errors.items() if k not in first}})
    special = confirmed(data.get("special_category")) or bool(
        SPECIAL_DATA_CATEGORIES.intersection(details["data_categories"])
    )
    return {
        **details,
        # The reporter's own report: the boxes are ticked or not (no "not known" here).
        "children_or_vulnerable": confirmed(data.get("children_or_vulnerable")),
        "special_category": special,
        "happened_at": happened,
        "discovered_at": discovered,
        "category": category,
        "data_left_control": left_control,
        "police_reference": police_reference or None,
        "no_police_reference_reason": no_reference_reason or None,
        "police_officer": officer or None,
        "police_told_at": police_told_at,
        "line_manager_told": confirmed(data.get("line_manager_told")),
    }


def check_police_told(
    errors: dict[str, str],
    reference: str,
    police_told_at: Any,
    happened_at: dt.datetime | None,
    now: dt.datetime,
) -> dt.datetime | None:
    """When the police were told: needed with a crime reference (they gave it)."""
    told = as_datetime(police_told_at)
    if told is None:
        if reference:
            errors["police_told_at"] = "Enter when the police were told"
    elif told > now:
        errors["police_told_at"] = "When the police were told must be in the past"
    elif happened_at is not None and told < happened_at:
        errors["police_told_at"] = "When the police were told must be after it happened"
    return told


def day_of_step(
    errors: Errors,
    field: str,
    value: Any,
    now: dt.datetime,
    name: str,
    earliest: dt.date,
    not_before: str,
) -> None:
    """The day a step of telling the service user was taken: given, today or earlier (UK),
    and not before `earliest` (`not_before` says, after "must be", which day that is)."""
    day = as_date(value)
    if day is None:
        errors[field] = f"Enter {name[0].lower()}{name[1:]}"
    elif day > uk_date(now):
        errors[field] = f"{name} must be today or in the past"
    elif day < earliest:
        errors[field] = f"{name} must be {not_before}"


LOST_CATEGORIES = (("loss", "Lost"), ("theft", "Stolen"))


def lost_or_stolen(category: str | None) -> str:
    """How pages word papers reported gone, as the person chose: "stolen" or "lost"."""
    return dict(LOST_CATEGORIES).get(category or "", "Lost").lower()


def opening_fact_errors(
    children_or_vulnerable: Any,
    special_category: Any,
    category: Any = None,
    categories: Iterable[str] | None = None,
) -> dict[str, str]:
    """The facts asked when a case is opened for someone (papers reported lost, a dispatch
    reported misdirected): the category when there is a choice, and whether children or
    vulnerable adults and special category data are involved (or not known yet)."""
    errors: dict[str, str] = {}
    if categories is not None and text(category) not in set(categories):
        errors["category"] = "Select whether the papers were lost or stolen"
    _facts(
        errors,
        {"children_or_vulnerable": children_or_vulnerable, "special_category": special_category},
        [],
    )
    return errors


def opening_facts(children_or_vulnerable: Any, special_category: Any) -> dict[str, Any]:
    """The checked opening facts as stored: True, False, or None for not known yet."""
    return {
        "children_or_vulnerable": answer(children_or_vulnerable),
        "special_category": answer(special_category),
    }
