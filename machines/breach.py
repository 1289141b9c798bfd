"""Breach of confidentiality: one case from its report to its closing (DOMAIN.md §2-4).

Anyone reports a breach or near miss. The procedure's list of people is told, the risk is
placed on the 5x5 grid, the service user is told (face to face, then in writing, on the days
each happened) unless the Caldicott Guardian approves an exemption, the Caldicott Guardian
records their agreement and the Assistant Director decides what follows, and the Information
and Records Manager closes the case with the lessons learned.

Some facts arrive while the case moves on, and are recorded where it stands (in-state
transitions, audited like every change): the police crime reference (often days after the
loss), the ICO referral (which stops the 72-hour clock as soon as it is made), corrections
to the report until the risk is assessed, the face-to-face meeting before the letter.

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
    UK,
    Actor,
    Errors,
    InputError,
    as_date,
    as_datetime,
    case_id_error,
    confirmed,
    event_labels,
    guard,
    input_errors,
    is_digits,
    machine_for,
    optional_text,
    require_now,
    required_text,
    state_labels,
    stays_in,
    text,
    text_validator,
    uk_date,
    validator,
    whole_number,
)
from machines.permissions import Can, Role
from machines.professions import PROFESSIONS, regulator_for
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

ICO_HOURS = 72
NAME_MAX = 120
OFFICER_MAX = 120
RATIONALE_MAX = 300  # one line: why reportable or not
REFERENCE_MAX = 40
ICO_REFERENCE_MAX = 60
REASON_MAX = 1000
TEXT_MAX = 2000
LESSONS_MAX = 4000
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


def as_answer(value: bool | None) -> str:
    """The stored fact as the radios' value: "yes", "no" or "not_known"."""
    return "not_known" if value is None else ("yes" if value else "no")


# -- the rules around the case (pure; the views and the board call these) ------------------


def _recipients(category: str | None) -> list[tuple[str, str, str]]:
    if category == "near_miss":
        return [r for r in _RECIPIENTS if r[0] in _NEAR_MISS_RECIPIENTS]
    recipients = list(_RECIPIENTS)
    if category in POLICE_CATEGORIES:
        recipients.append(_INSURANCE)
    return recipients


def required_recipients(category: str | None) -> list[tuple[str, str]]:
    """Who must be told, as (key, label): the procedure's list (the Governance Team and the
    Information and Records Manager for a near miss); insurers too for a loss or theft."""
    return [(key, label) for key, label, _ in _recipients(category)]


def emailed_roles(category: str | None) -> list[str]:
    """The roles told by email as soon as a case is reported: those on the list who work in
    the council's breach roles. Police, insurers and the media office are told by people."""
    roles = {str(role) for role in Role}
    return [key for key, _ in required_recipients(category) if key in roles]


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
    discovered_at: dt.datetime,
    now: dt.datetime,
    state: str = "reported",
) -> bool:
    """A loss or theft with no crime reference yet, once its day of discovery has passed.

    The police are to be told immediately and their crime reference often comes days later:
    the flag stays up until the reference is recorded. Why there is none yet lets the case be
    notified meanwhile, but does not take the flag down. A closed case is flagged no more.
    """
    if category not in POLICE_CATEGORIES or state in CLOSED_STATES:
        return False
    if text(police_reference):
        return False
    return uk_date(now) > uk_date(discovered_at)


def working_day_after(at: dt.datetime) -> dt.datetime:
    """The same time (UK) on the next working day (Monday to Friday), as naive UTC.

    Bank holidays are not known here: they count as working days.
    """
    local = at.replace(tzinfo=dt.UTC).astimezone(UK)
    day = local.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    later = dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=UK)
    return later.astimezone(dt.UTC).replace(tzinfo=None)


def police_reminder_due(model: Any, now: dt.datetime) -> bool:
    """A loss or theft still without a crime reference one working day after its discovery."""
    return (
        model.category in POLICE_CATEGORIES
        and model.state not in CLOSED_STATES
        and not text(model.police_reference)
        and now >= working_day_after(model.discovered_at)
    )


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
            model.category, model.police_reference, model.discovered_at, now, model.state
        ),
    )


# Transitions that keep a case where it is: facts recorded as they arrive.
IN_STATE = frozenset(
    {"record_police", "update_report", "refer_to_ico", "record_meeting", "caldicott_agree"}
)
# Of those, the ones that are a step of the procedure, offered as the next step.
IN_STATE_STEPS = frozenset({"record_meeting", "caldicott_agree"})


def ico_referral_due(model: Any) -> bool:
    """Assessed reportable and the ICO not told yet: the referral is the case's next step."""
    return bool(model.reportable) and not model.ico_referred


def next_steps(events: list[str], model: Any) -> list[str]:
    """Of the events a person may send, those that are the case's next step: the ones that
    move it on, the in-state steps of the procedure (the meeting, the Caldicott Guardian's
    agreement), and the ICO referral once the assessment says it is reportable."""
    return [
        event
        for event in events
        if event not in IN_STATE
        or event in IN_STATE_STEPS
        or (event == "refer_to_ico" and ico_referral_due(model))
    ]


def waiting_events(events: list[str], model: Any, actor: Actor) -> list[str]:
    """What a case waits for from this person: its next step; or, from the reporter and
    their line manager, a loss or theft's police details until the crime reference is on
    record (the breach chain may add them too, but is not asked to)."""
    waiting = next_steps(events, model)
    own_people = actor.id in (model.reported_by_id, model.reporter_manager_id)
    police_due = not police_details_complete(model) or not text(model.police_reference)
    if "record_police" in events and own_people and police_due:
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


def vulnerable_or_unknown(children_or_vulnerable: bool | None) -> bool:
    """For the severity floor: children or vulnerable adults involved, or not known yet."""
    return children_or_vulnerable is not False


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


def _data_left_control(category: str, value: Any) -> bool:
    """Only a near miss can have kept the data in; its yes/no (or a bool), where unanswered
    counts as "yes", the safer answer."""
    if category != "near_miss":
        return True
    if isinstance(value, bool):
        return value
    return text(value).lower() != "no"


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
    return {
        **details,
        **facts,
        "category": category,
        "happened_at": happened,
        "discovered_at": discovered,
        "data_left_control": _data_left_control(category, data.get("data_left_control")),
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
    police_told_at = _police_told(
        errors, police_reference, data.get("police_told_at"), happened, now
    )
    if problem := case_id_error(data.get("case_id"), required=False):
        errors["case_id"] = problem

    if errors:
        # In the form's order (the details are checked together, the times between them).
        order = ("category", "what_happened", "happened_at", "discovered_at")
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
        "data_left_control": _data_left_control(category, data.get("data_left_control")),
        "police_reference": police_reference or None,
        "no_police_reference_reason": no_reference_reason or None,
        "police_officer": officer or None,
        "police_told_at": police_told_at,
        "line_manager_told": confirmed(data.get("line_manager_told")),
    }


def _police_told(
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


def _day_of_step(
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
    """The police details of a loss or theft, at any stage until the case is closed: the
    reporter, their line manager or the breach chain (the states say which stages)."""
    return model.category in POLICE_CATEGORIES and may_see_case(actor, model)


def may_update_report(actor: Actor | None, model: Any) -> bool:
    """Check and correct the report until the risk is assessed: whoever handles the case."""
    return may_see_case(actor, model)


def may_notify(actor: Actor | None, model: Any) -> bool:
    """Loss or theft waits for the police details and the line manager being told."""
    return may_see_case(actor, model) and police_details_complete(model)


def may_refer_to_ico(actor: Actor | None, model: Any) -> bool:
    """The breach chain records the ICO referral, once, whenever it is made (a near miss that
    kept the data in is no personal data breach: nothing to refer)."""
    return _in_chain(actor) and not model.ico_referred and not is_skippable_near_miss(model)


def may_assess_risk(actor: Actor | None, model: Any) -> bool:
    return _reviews_case(actor, model)


def may_record_meeting(actor: Actor | None, model: Any) -> bool:
    return may_see_case(actor, model)


def may_inform_service_user(actor: Actor | None, model: Any) -> bool:
    """The letter, after the face-to-face meeting is on record."""
    return may_see_case(actor, model) and model.informed_in_person_on is not None


def may_record_exemption(actor: Actor | None, model: Any) -> bool:
    """Only the Caldicott Guardian approves not telling the service user."""
    return actor is not None and actor.can(Can.APPROVE_EXEMPTION)


def may_skip_informing(actor: Actor | None, model: Any) -> bool:
    return is_skippable_near_miss(model) and _reviews_case(actor, model)


def skip_refused_as_not_a_near_miss(actor: Actor | None, model: Any) -> bool:
    """Someone who could skip telling for a near miss that kept the data in, on a case that
    is not one: refused for what the case is (409), not for who they are (403)."""
    return _reviews_case(actor, model) and not is_skippable_near_miss(model)


def may_agree_decision(actor: Actor | None, model: Any) -> bool:
    """The Caldicott Guardian records their own agreement, once, before the decision."""
    return (
        actor is not None
        and actor.can(Can.AGREE_BREACH_DECISION)
        and model.caldicott_agreed_at is None
    )


def may_decide(actor: Actor | None, model: Any) -> bool:
    """The Assistant Director, once the Caldicott Guardian has agreed."""
    return (
        actor is not None and actor.can(Can.DECIDE_BREACH) and model.caldicott_agreed_at is not None
    )


def decision_waits_for_caldicott(actor: Actor | None, model: Any) -> bool:
    """The Assistant Director asked to decide before the Caldicott Guardian agreed: refused
    for where the case is (409), not for who they are."""
    return actor is not None and actor.can(Can.DECIDE_BREACH) and model.caldicott_agreed_at is None


def may_close(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.can(Can.CLOSE_BREACH)


@dataclass(frozen=True)
class StaffMember:
    """The member of staff whose conduct is in question, as the decision needs them."""

    id: int
    name: str
    profession: str | None


NO_ONE = "no_one"  # the decision's answer when no one's conduct is in question


def regulator_of(staff: StaffMember | None) -> str | None:
    """The regulator key a referral of this person would go to (None: not known)."""
    return regulator_for(staff.profession) if staff is not None else None


PROFESSION_LABELS = dict(PROFESSIONS)


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

    # In-state transitions (self-transitions): facts recorded where the case stands, so they
    # are version-checked and audited by the one transition path like every other change.
    record_police = Event(
        stays_in(
            reported,
            notified,
            risk_assessed,
            service_user_informed,
            decided,
            cond=guard(may_record_police),
            validators="validate_record_police",
        ),
        name="Save the police details",
    )
    update_report = Event(
        stays_in(
            reported, notified, cond=guard(may_update_report), validators="validate_update_report"
        ),
        name="Save the checked report",
    )
    # The ICO is told as soon as someone judges it reportable: the referral stops the clock
    # wherever the case is, and the decision then refers to it.
    refer_to_ico = Event(
        stays_in(
            reported,
            notified,
            risk_assessed,
            service_user_informed,
            cond=guard(may_refer_to_ico),
            validators="validate_refer_to_ico",
        ),
        name="Record the ICO referral",
    )
    notify = Event(
        reported.to(notified, cond=guard(may_notify), validators="validate_notify"),
        name="Record who was told",
    )
    assess_risk = Event(
        notified.to(risk_assessed, cond=guard(may_assess_risk), validators="validate_assess_risk"),
        name="Record the risk assessment",
    )
    # Face to face first, then in writing, each on the day it happened.
    record_meeting = Event(
        risk_assessed.to.itself(
            cond=guard(may_record_meeting), validators="validate_record_meeting"
        ),
        name="Record the face-to-face meeting",
    )
    # Three ways past the service user step: told, exempt, or a near miss with no one to tell.
    inform_service_user = Event(
        risk_assessed.to(
            service_user_informed,
            cond=guard(may_inform_service_user),
            validators="validate_inform_service_user",
        ),
        name="Record the letter",
    )
    record_exemption = Event(
        risk_assessed.to(
            service_user_informed,
            cond=guard(may_record_exemption),
            validators="validate_record_exemption",
        ),
        name="Approve the exemption",
    )
    skip_informing = Event(
        risk_assessed.to(
            service_user_informed,
            cond=guard(may_skip_informing),
            validators="validate_skip_informing",
        ),
        name="Record that there is no one to tell",
    )
    caldicott_agree = Event(
        service_user_informed.to.itself(
            cond=guard(may_agree_decision), validators="validate_caldicott_agree"
        ),
        name="Record your agreement",
    )
    decide = Event(
        service_user_informed.to(decided, cond=guard(may_decide), validators="validate_decide"),
        name="Record the decision",
    )
    close = Event(
        decided.to(closed, cond=guard(may_close), validators="validate_close"),
        name="Close the case",
    )

    # Validators (common.validator): every error at once, and only for someone the guard
    # lets send the event (they run before it).

    @validator(may_record_police)
    def validate_record_police(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        police_reference: Any,
        no_police_reference_reason: Any,
        police_officer: Any,
        police_told_at: Any,
    ) -> None:
        reference = optional_text(
            errors,
            "police_reference",
            police_reference,
            "Police crime reference",
            REFERENCE_MAX,
        )
        reason = optional_text(
            errors,
            "no_police_reference_reason",
            no_police_reference_reason,
            "Why there is no crime reference",
            REASON_MAX,
        )
        optional_text(
            errors, "police_officer", police_officer, "Officer or police station", OFFICER_MAX
        )
        if not errors and not reference and not reason:
            errors["police_reference"] = (
                "Enter the police crime reference number, or why there is none yet"
            )
        _police_told(errors, reference, police_told_at, model.happened_at, now)

    @validator(may_update_report)
    def validate_update_report(
        self, errors: Errors, model: Any, now: dt.datetime, **data: Any
    ) -> None:
        details = validate_report_details(data, now)
        if model.state != "reported":
            # Notified already: the people a new category adds must have been told. Breach
            # roles are emailed by the outbox (they follow the category); insurers are not.
            missing = [
                label
                for key, label in required_recipients(details["category"])
                if key not in emailed_roles(details["category"])
                and key not in model.told_recipients()
            ]
            if missing:
                new = dict(CATEGORIES)[details["category"]].lower()
                errors["category"] = (
                    f"A {new} must be reported to the {', '.join(missing)}, "
                    "and this case was notified without them: keep the category, or "
                    "ask the Information and Records Manager"
                )

    @validator(may_refer_to_ico)
    def validate_refer_to_ico(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        ico_referred_at: Any,
        ico_reference: Any,
        ico_told_by: Any,
        delay_reason: Any,
    ) -> None:
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
        required_text(
            errors,
            "ico_reference",
            ico_reference,
            "Enter the ICO case reference",
            "ICO case reference",
            ICO_REFERENCE_MAX,
        )
        required_text(
            errors,
            "ico_told_by",
            ico_told_by,
            "Enter the name of the person who told the ICO",
            "Name",
            NAME_MAX,
        )

    @validator(may_notify)
    def validate_notify(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        notifications: Mapping[str, Mapping[str, Any]] | None,
        media_advised: Any,
        media_reason: Any,
    ) -> None:
        given = notifications or {}
        told = model.told_recipients()
        for key, label, person in _recipients(model.category):
            if key in told:
                continue  # emailed already, and on the list
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

    @validator(may_assess_risk)
    def validate_assess_risk(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        likelihood: Any,
        severity: Any,
        likely_outcomes: Any,
        actions_taken: Any,
        reportable_override: Any,
        reportable_reason: Any,
        grid: Grid | None,
    ) -> None:
        grid = grid or default_grid()
        if not grid.is_likelihood(likelihood):
            errors["likelihood"] = "Select how likely it is that harm follows"
        floor = grid.severity_floor(vulnerable_or_unknown(model.children_or_vulnerable))
        if not grid.is_severity(severity):
            errors["severity"] = "Select how severe the harm would be"
        elif severity < floor:
            why = (
                "children or vulnerable adults are involved"
                if model.children_or_vulnerable
                else "it is not yet known whether children or vulnerable adults are involved"
            )
            errors["severity"] = f"Select a severity of {floor} or more: {why}"
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
        overriding = False
        if reportable_override not in (None, True, False):
            errors["reportable_override"] = "Select whether the breach is reportable to the ICO"
        elif reportable_override is not None and not errors.keys() & {"likelihood", "severity"}:
            children = vulnerable_or_unknown(model.children_or_vulnerable)
            overriding = (
                reportable_override != assess(likelihood, severity, children, grid).reportable
            )
        # One line of why, either way: the ICO may ask why a breach was not reported.
        reason = text(reportable_reason)
        if not reason:
            errors["reportable_reason"] = (
                "Enter why you are overriding the grid's result"
                if overriding
                else "Enter in one line why the breach is or is not reportable to the ICO"
            )
        elif len(reason) > RATIONALE_MAX or "\n" in reason:
            errors["reportable_reason"] = (
                f"Why it is or is not reportable must be one line of {RATIONALE_MAX} "
                "characters or fewer"
            )

    @validator(may_record_meeting)
    def validate_record_meeting(
        self, errors: Errors, model: Any, now: dt.datetime, informed_in_person_on: Any
    ) -> None:
        _day_of_step(
            errors,
            "informed_in_person_on",
            informed_in_person_on,
            now,
            "The date of the face-to-face meeting",
            uk_date(model.discovered_at),
            "on or after the day the breach was discovered",
        )

    @validator(may_inform_service_user)
    def validate_inform_service_user(
        self, errors: Errors, model: Any, now: dt.datetime, informed_in_writing_on: Any
    ) -> None:
        # Face to face first, then in writing: the letter follows the meeting.
        _day_of_step(
            errors,
            "informed_in_writing_on",
            informed_in_writing_on,
            now,
            "The date of the letter",
            model.informed_in_person_on,
            "the same as or after the date of the face-to-face meeting",
        )

    @validator(may_record_exemption)
    def validate_record_exemption(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        exemption_reason: Any,
        approved_by_caldicott: Any,
    ) -> None:
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

    validate_skip_informing = text_validator(
        may_skip_informing,
        "skip_reason",
        "Why there is no one to tell",
        REASON_MAX,
        "Enter why there is no one to tell",
        needs_now=True,
    )

    @validator(may_agree_decision)
    def validate_caldicott_agree(
        self, errors: Errors, model: Any, now: dt.datetime, caldicott_advice: Any, agreed: Any
    ) -> None:
        required_text(
            errors,
            "caldicott_advice",
            caldicott_advice,
            "Enter your advice to the Assistant Director",
            "Your advice",
            REASON_MAX,
        )
        if not confirmed(agreed):
            errors["agreed"] = (
                "Confirm that, as Caldicott Guardian, you agree the decision may be recorded"
            )

    @validator(may_decide)
    def validate_decide(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        disciplinary: Any,
        not_referred_reason: Any,
        staff_member: Any,
        refer_to_regulator: Any,
    ) -> None:
        if disciplinary not in (True, False):
            errors["disciplinary"] = "Select yes if there will be a disciplinary investigation"
        if not model.ico_referred and model.reportable:
            required_text(
                errors,
                "not_referred_reason",
                not_referred_reason,
                "Enter why the breach was not referred to the ICO: the risk assessment "
                "found it reportable",
                "Why it was not referred",
                REASON_MAX,
            )
        if staff_member != NO_ONE and not isinstance(staff_member, StaffMember):
            errors["staff_member"] = "Select whose conduct is in question, or 'No one'"
        if refer_to_regulator not in (True, False):
            errors["refer_to_regulator"] = (
                "Select yes if the member of staff will be referred to their regulator"
            )
        elif refer_to_regulator and "staff_member" not in errors:
            if staff_member == NO_ONE:
                errors["refer_to_regulator"] = (
                    "Select whose conduct is in question to refer them to a regulator"
                )
            elif regulator_of(staff_member) is None:
                errors["refer_to_regulator"] = (
                    f"{staff_member.name}'s profession is not recorded: ask an administrator "
                    "to record it, or select no referral"
                )
            elif regulator_of(staff_member) == "none":
                errors["refer_to_regulator"] = (
                    f"{staff_member.name} is not in a regulated profession: select no referral"
                )

    @validator(may_close)
    def validate_close(
        self,
        errors: Errors,
        model: Any,
        now: dt.datetime,
        report_complete: Any,
        lessons_learned: Any,
    ) -> None:
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

    # Actions: run only after the guard and validators passed; they set the row's fields.
    # Saving the row is the caller's (the audit listener's after_transition).

    def on_record_police(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        police_reference: Any = None,
        no_police_reference_reason: Any = None,
        police_officer: Any = None,
        police_told_at: Any = None,
        line_manager_told: Any = None,
    ) -> None:
        model.police_reference = text(police_reference) or None
        model.no_police_reference_reason = text(no_police_reference_reason) or None
        model.police_officer = text(police_officer) or None
        model.police_told_at = as_datetime(police_told_at)
        if model.police_reference and not model.police_recorded_at:
            model.police_recorded_at = now
        # Once told, told: a later save without the box ticked does not untell them.
        if confirmed(line_manager_told) and not model.line_manager_told:
            model.line_manager_told = True
            model.line_manager_told_by_id = actor.id
            model.line_manager_told_at = now

    def on_update_report(self, model: Any, now: dt.datetime, **data: Any) -> None:
        details = validate_report_details(data, now)
        for key in REPORT_DETAIL_FIELDS:
            value = details[key]
            setattr(model, key, ",".join(value) if key == "data_categories" else value)

    def on_refer_to_ico(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        ico_referred_at: dt.datetime,
        ico_reference: Any = None,
        ico_told_by: Any = None,
        delay_reason: Any = None,
    ) -> None:
        late = ico_referred_at > ico_deadline(model.discovered_at)
        model.ico_referred = True
        model.ico_referred_at = ico_referred_at
        model.ico_reference = text(ico_reference)
        model.ico_told_by = text(ico_told_by)
        model.ico_recorded_by_id = actor.id
        model.delay_reason = text(delay_reason) if late else None

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
        already = model.told_recipients()
        told = {
            key: {"who": text(given[key]["who"]), "at": given[key]["at"]}
            for key, _ in required_recipients(model.category)
            if key not in already
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
        reportable_reason: Any = None,
        grid: Grid | None = None,
    ) -> None:
        children = vulnerable_or_unknown(model.children_or_vulnerable)
        result = assess(likelihood, severity, children, grid)
        reportable = result.reportable if reportable_override is None else reportable_override
        overridden = reportable != result.reportable
        model.likelihood = result.likelihood
        model.severity = result.severity
        model.reportable = reportable
        # High risk to people is a risk to them: not reportable means not high risk either.
        model.high_risk = result.high_risk and reportable
        model.reportable_reason = text(reportable_reason)
        model.override_reason = text(reportable_reason) if overridden else None
        model.likely_outcomes = text(likely_outcomes)
        model.actions_taken = text(actions_taken)
        model.assessed_at = now

    def on_record_meeting(self, model: Any, informed_in_person_on: Any = None) -> None:
        model.informed_in_person_on = as_date(informed_in_person_on)

    def on_inform_service_user(
        self, model: Any, now: dt.datetime, informed_in_writing_on: Any = None
    ) -> None:
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

    def on_caldicott_agree(
        self, model: Any, actor: Actor, now: dt.datetime, caldicott_advice: Any = None
    ) -> None:
        model.caldicott_agreed_by_id = actor.id
        model.caldicott_agreed_at = now
        model.caldicott_advice = text(caldicott_advice)

    def on_decide(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        legal_advice: Any = None,
        disciplinary: bool | None = None,
        not_referred_reason: Any = None,
        staff_member: StaffMember | str | None = None,
        refer_to_regulator: bool | None = None,
    ) -> None:
        model.decided_by_id = actor.id
        model.decided_at = now
        model.legal_advice = confirmed(legal_advice)
        model.disciplinary = disciplinary
        if not model.ico_referred:
            model.ico_referred = False
            model.not_referred_reason = text(not_referred_reason) or None
        model.staff_member_id = staff_member.id if isinstance(staff_member, StaffMember) else None
        model.regulator = regulator_of(staff_member) if refer_to_regulator else "none"

    def on_close(
        self, model: Any, actor: Actor, now: dt.datetime, lessons_learned: Any = None
    ) -> None:
        model.closed_by_id = actor.id
        model.closed_at = now
        model.report_complete = True
        model.lessons_learned = text(lessons_learned)


STATE_IDS: frozenset[str] = frozenset(s.id for s in BreachMachine.states)


STATE_LABELS: dict[str, str] = state_labels(BreachMachine)
# Button texts; the keys are the event ids the views post to (/breaches/<id>/<event>).
EVENT_LABELS: dict[str, str] = event_labels(BreachMachine)


def breach_machine(model: Any, listeners: Iterable[object] = ()) -> BreachMachine:
    """Build the machine for one breach row; ValueError when its stored state is unknown."""
    return machine_for(BreachMachine, model, listeners)
