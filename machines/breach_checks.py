"""What each step of a breach case must be given: the machine's validators.

Each one reports every error at once, and only for someone the step's guard lets send it
(common.validator); the machine (machines/breach.py) names them on its transitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from machines.breach_clocks import ico_deadline
from machines.breach_report import (
    CATEGORIES,
    CONTAINMENT_ACTIONS,
    ICO_REFERENCE_MAX,
    ICO_SUMMARY_MAX,
    LESSONS_MAX,
    NAME_MAX,
    OFFICER_MAX,
    RATIONALE_MAX,
    REASON_MAX,
    REFERENCE_MAX,
    TEXT_MAX,
    check_police_told,
    day_of_step,
    emailed_roles,
    recipients_of,
    required_recipients,
    validate_report_details,
)
from machines.breach_rules import (
    NO_ONE,
    StaffMember,
    may_agree_decision,
    may_assess_risk,
    may_close,
    may_decide,
    may_inform_service_user,
    may_notify,
    may_record_exemption,
    may_record_ico_outcome,
    may_record_meeting,
    may_record_police,
    may_refer_to_ico,
    may_skip_informing,
    may_update_report,
    may_write_ico_summary,
    regulator_of,
    vulnerable_or_unknown,
)
from machines.common import (
    Errors,
    as_datetime,
    confirmed,
    optional_text,
    required_text,
    text,
    text_validator,
    uk_date,
    validator,
)
from machines.ico_follow_up import (
    OUTCOME_NOTE_MAX,
    OUTCOMES,
    ico_reference_error,
)
from machines.risk import Grid, assess, default_grid


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
    check_police_told(errors, reference, police_told_at, model.happened_at, now)


@validator(may_update_report)
def validate_update_report(self, errors: Errors, model: Any, now: dt.datetime, **data: Any) -> None:
    details = validate_report_details(data, now)
    if model.state != "reported":
        # Notified already: the people a new category adds must have been told. Breach
        # roles are emailed by the outbox (they follow the category); insurers are not.
        missing = [
            label
            for key, label in required_recipients(details["category"])
            if key not in emailed_roles(details["category"]) and key not in model.told_recipients()
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
        errors["ico_referred_at"] = "When the ICO was told must be after the breach was discovered"
    elif referred_at > ico_deadline(model.discovered_at):
        required_text(
            errors,
            "delay_reason",
            delay_reason,
            "Enter why the ICO was told more than 72 hours after the breach was discovered",
            "Why the ICO was told late",
            REASON_MAX,
        )
    if reference_error := ico_reference_error(ico_reference, ICO_REFERENCE_MAX):
        errors["ico_reference"] = reference_error
    required_text(
        errors,
        "ico_told_by",
        ico_told_by,
        "Enter the name of the person who told the ICO",
        "Name",
        NAME_MAX,
    )


@validator(may_record_ico_outcome)
def validate_record_ico_outcome(
    self,
    errors: Errors,
    model: Any,
    now: dt.datetime,
    ico_outcome: Any,
    ico_outcome_on: Any,
    ico_outcome_note: Any,
) -> None:
    if ico_outcome not in dict(OUTCOMES):
        errors["ico_outcome"] = "Select the ICO's outcome"
    day_of_step(
        errors,
        "ico_outcome_on",
        ico_outcome_on,
        now,
        "The date of the ICO's outcome",
        uk_date(model.ico_referred_at),
        "on or after the day the ICO was told",
    )
    optional_text(
        errors, "ico_outcome_note", ico_outcome_note, "What the ICO said", OUTCOME_NOTE_MAX
    )


@validator(may_write_ico_summary)
def validate_write_ico_summary(
    self,
    errors: Errors,
    model: Any,
    now: dt.datetime,
    ico_summary: Any,
    ico_late_reason: Any,
    containment_actions: Any,
    no_personal_data: Any,
) -> None:
    required_text(
        errors,
        "ico_summary",
        ico_summary,
        "Enter what happened, as the ICO should be told it",
        "Summary for the ICO",
        ICO_SUMMARY_MAX,
    )
    optional_text(
        errors, "ico_late_reason", ico_late_reason, "Why the report is late", ICO_SUMMARY_MAX
    )
    known = dict(CONTAINMENT_ACTIONS)
    if any(text(action) not in known for action in containment_actions or ()):
        errors["containment_actions"] = "Select the steps taken from the list"
    if not confirmed(no_personal_data):
        errors["no_personal_data"] = (
            "Confirm the summary holds no personal data: no names, addresses, "
            "case-system IDs or dates of birth"
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
    for key, label, person in recipients_of(model.category):
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
        overriding = reportable_override != assess(likelihood, severity, children, grid).reportable
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
    day_of_step(
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
    day_of_step(
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
        errors["approved_by_caldicott"] = "Confirm you approve this exemption as Caldicott Guardian"


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
