"""The breach forms: the report, the corrections while reported, and each step of the case.

The fields parse; the breach machine (machines/breach.py) judges, with GOV.UK messages for
what is missing or out of line. So most fields here carry no `required` message of their own.
"""

from __future__ import annotations

import functools

from machines import breach_report, breach_rules, clock
from machines.common import InputError
from machines.risk import load_grid
from models.people import User
from views.forms import GovForm
from views.forms.fields import (
    CODE_TEXT_MAX,
    ID_TEXT_MAX,
    Checkbox,
    Choice,
    Choices,
    GovDate,
    Text,
    WholeNumber,
    YesNo,
)
from views.forms.follow_through import RecordIcoOutcome
from views.forms.times import UkDateTime
from views.transitions import EventForm

GRID = load_grid()

_CATEGORY_KEYS = [key for key, _ in breach_report.CATEGORIES]
_DATA_KEYS = [key for key, _ in breach_report.DATA_CATEGORIES]
_ANSWER_KEYS = [key for key, _ in breach_report.ANSWERS]


def answer_field() -> Choice:
    """Yes, no, or not known yet (the machine says what to choose when unanswered)."""
    return Choice(choices=_ANSWER_KEYS)


class ReportBreach(GovForm):
    category = Choice(choices=_CATEGORY_KEYS)
    police_reference = Text("Police crime reference", limit=breach_report.REFERENCE_MAX)
    no_police_reference_reason = Text(
        "Why there is no crime reference", limit=breach_report.REASON_MAX
    )
    police_officer = Text(  # not a service user
        "Officer or police station", limit=breach_report.OFFICER_MAX, personal_data=True
    )
    police_told_at = UkDateTime("when the police were told")
    line_manager_told = Checkbox()
    data_left_control = YesNo()  # the machine asks for it on a near miss
    what_happened = Text("What happened", limit=breach_report.TEXT_MAX)
    happened_at = UkDateTime("when it happened")
    discovered_at = UkDateTime("when it was discovered")
    data_categories = Choices(choices=_DATA_KEYS)
    people_affected = WholeNumber("Number of people", maximum=breach_report.COUNT_MAX)
    records_affected = WholeNumber("Number of records", maximum=breach_report.COUNT_MAX)
    children_or_vulnerable = Checkbox()
    special_category = Checkbox()
    case_id = Text(  # the case-system ID rule decides
        "Case-system ID", limit=CODE_TEXT_MAX, personal_data=True
    )


# -- corrections while the case is reported --------------------------------------------------


class RecordPolice(EventForm):
    police_reference = Text("Police crime reference", limit=breach_report.REFERENCE_MAX)
    no_police_reference_reason = Text(
        "Why there is no crime reference", limit=breach_report.REASON_MAX
    )
    police_officer = Text(  # not a service user
        "Officer or police station", limit=breach_report.OFFICER_MAX, personal_data=True
    )
    police_told_at = UkDateTime("when the police were told")
    line_manager_told = Checkbox()

    def summary(self) -> dict:
        told_at = self.police_told_at.data
        return {
            "police_reference": self.police_reference.data,
            "reason": self.no_police_reference_reason.data,
            "police_officer": self.police_officer.data,
            "police_told_at": told_at.isoformat() if told_at else None,
            "line_manager_told": self.line_manager_told.data,
        }


REPORT_FIELD_NAMES = {
    "category": "category",
    "what_happened": "what happened",
    "happened_at": "when it happened",
    "discovered_at": "when it was discovered",
    "data_left_control": "whether data left the council's control",
    "data_categories": "data involved",
    "people_affected": "people affected",
    "records_affected": "records affected",
    "children_or_vulnerable": "children or vulnerable adults",
    "special_category": "special category data",
}


class UpdateReport(EventForm):
    category = Choice(choices=_CATEGORY_KEYS)
    what_happened = Text("What happened", limit=breach_report.TEXT_MAX)
    happened_at = UkDateTime("when it happened")
    discovered_at = UkDateTime("when it was discovered")
    data_left_control = YesNo()  # the machine asks for it on a near miss
    data_categories = Choices(choices=_DATA_KEYS)
    people_affected = WholeNumber("Number of people", maximum=breach_report.COUNT_MAX)
    records_affected = WholeNumber("Number of records", maximum=breach_report.COUNT_MAX)
    children_or_vulnerable = answer_field()
    special_category = answer_field()

    def changed(self, breach) -> list[str]:
        """The report's fields this correction changes on the case as it is now."""
        try:
            details = breach_report.validate_report_details(self.values, clock.now())
        except InputError:
            return list(breach_report.REPORT_DETAIL_FIELDS)
        stored = {**{k: getattr(breach, k) for k in breach_report.REPORT_DETAIL_FIELDS}}
        stored["data_categories"] = breach.data_category_list
        return [key for key in breach_report.REPORT_DETAIL_FIELDS if stored[key] != details[key]]

    def summary(self) -> dict:
        # Field names only: the free text stays on the case, not in the audit trail.
        return {"changed": ", ".join(REPORT_FIELD_NAMES[key] for key in self.changed(self.row))}


# -- the steps of the case -------------------------------------------------------------------


@functools.cache
def notify_form(category: str) -> type[EventForm]:
    """The notification form for a category: a name and a time for each person to tell."""
    fields = {}
    for key, label in breach_report.required_recipients(category):
        fields[f"{key}_who"] = Text(  # a member of staff's name
            "Name", limit=breach_report.NAME_MAX, personal_data=True
        )
        fields[f"{key}_at"] = UkDateTime(f"when the {label} was told")

    class Notify(EventForm):
        media_advised = YesNo()
        media_reason = Text(
            "Why the media office was or was not advised", limit=breach_report.REASON_MAX
        )

        def machine_values(self) -> dict:
            told = {}
            for key, _ in breach_report.required_recipients(category):
                who, at = self[f"{key}_who"].data, self[f"{key}_at"].data
                if who or at:
                    told[key] = {"who": who, "at": at}
            return {
                "notifications": told,
                "media_advised": self.media_advised.data,
                "media_reason": self.media_reason.data,
            }

        def summary(self) -> dict:
            values = self.machine_values()
            return {
                "told": ", ".join(sorted(values["notifications"])),
                "media_advised": self.media_advised.typed or None,
            }

    for name, field in fields.items():
        setattr(Notify, name, field)
    return Notify


class ReferToIco(EventForm):
    ico_referred_at = UkDateTime("when the ICO was told")
    ico_reference = Text("ICO case reference", limit=breach_report.ICO_REFERENCE_MAX)
    ico_told_by = Text(  # a member of staff's name
        "Name", limit=breach_report.NAME_MAX, personal_data=True
    )
    delay_reason = Text("Why the ICO was told late", limit=breach_report.REASON_MAX)

    def summary(self) -> dict:
        at = self.ico_referred_at.data
        return {
            "ico_referred_at": at.isoformat() if at else None,
            "ico_reference": self.ico_reference.data,
            "ico_told_by": self.ico_told_by.data,
        }


class WriteIcoSummary(EventForm):
    """What the ICO is told. Checked for personal data like every free text, and confirmed
    by the person writing it: the ICO draft carries this and the case's answers only."""

    ico_summary = Text("Summary for the ICO", limit=breach_report.ICO_SUMMARY_MAX)
    ico_late_reason = Text("Why the report is late", limit=breach_report.ICO_SUMMARY_MAX)
    containment_actions = Choices(choices=[key for key, _ in breach_report.CONTAINMENT_ACTIONS])
    no_personal_data = Checkbox()

    def summary(self) -> dict:
        # The audit trail says what was chosen, not the text (it is on the case).
        return {"containment_actions": ",".join(self.containment_actions.data or [])}


class AssessRisk(EventForm):
    likelihood = Choice(choices=[str(level.value) for level in GRID.likelihood])
    severity = Choice(choices=[str(level.value) for level in GRID.severity])
    likely_outcomes = Text("Likely outcomes", limit=breach_report.TEXT_MAX)
    actions_taken = Text("Actions taken", limit=breach_report.TEXT_MAX)
    reportable_override = Choice(choices=["grid", "yes", "no"])
    reportable_reason = Text("Why it is or is not reportable", limit=breach_report.RATIONALE_MAX)

    def machine_values(self) -> dict:
        return {
            "likelihood": int(self.likelihood.data) if self.likelihood.data else None,
            "severity": int(self.severity.data) if self.severity.data else None,
            "likely_outcomes": self.likely_outcomes.data,
            "actions_taken": self.actions_taken.data,
            "reportable_override": {"yes": True, "no": False}.get(self.reportable_override.data),
            "reportable_reason": self.reportable_reason.data,
            "grid": GRID,
        }

    def summary(self) -> dict:
        values = self.machine_values()
        keys = ("likelihood", "severity", "reportable_override", "reportable_reason")
        return {k: values[k] for k in keys}


class RecordMeeting(EventForm):
    informed_in_person_on = GovDate("the date of the face-to-face meeting")

    def summary(self) -> dict:
        day = self.informed_in_person_on.data
        return {"informed_in_person_on": day.isoformat() if day else None}


class InformServiceUser(EventForm):
    informed_in_writing_on = GovDate("the date of the letter")

    def summary(self) -> dict:
        day = self.informed_in_writing_on.data
        return {"informed_in_writing_on": day.isoformat() if day else None}


class RecordExemption(EventForm):
    exemption_reason = Text(
        "Why the service user should not be told", limit=breach_report.REASON_MAX
    )
    approved_by_caldicott = Checkbox()

    audited = ("exemption_reason",)


class SkipInforming(EventForm):
    skip_reason = Text("Why there is no one to tell", limit=breach_report.REASON_MAX)

    audited = ("skip_reason",)


class CaldicottAgree(EventForm):
    caldicott_advice = Text("Your advice", limit=breach_report.REASON_MAX)
    agreed = Checkbox()

    audited = ("caldicott_advice",)


def staff_member(user: User) -> breach_rules.StaffMember:
    return breach_rules.StaffMember(id=user.id, name=user.display_name, profession=user.profession)


class Decide(EventForm):
    legal_advice = Checkbox()
    disciplinary = YesNo()
    not_referred_reason = Text("Why it was not referred", limit=breach_report.REASON_MAX)
    # A member of staff, chosen from the case's team: an account id, or NO_ONE.
    staff_member = Text("Staff member", limit=ID_TEXT_MAX, personal_data=True)
    refer_to_regulator = YesNo()

    def chosen_staff_member(self):
        """The staff member chosen, NO_ONE, or None when nothing (or no one offered) was."""
        chosen = self.staff_member.data
        if chosen == breach_rules.NO_ONE:
            return breach_rules.NO_ONE
        for user in self.row.staff_choices():
            if str(user.id) == chosen:
                return staff_member(user)
        return None

    def machine_values(self) -> dict:
        return {
            "legal_advice": self.legal_advice.data,
            "disciplinary": self.disciplinary.data,
            "not_referred_reason": self.not_referred_reason.data,
            "staff_member": self.chosen_staff_member(),
            "refer_to_regulator": self.refer_to_regulator.data,
        }

    def summary(self) -> dict:
        chosen = self.chosen_staff_member()
        return {
            "disciplinary": self.disciplinary.data,
            "legal_advice": self.legal_advice.data,
            "staff_member": chosen.name
            if isinstance(chosen, breach_rules.StaffMember)
            else "no one",
            "regulator": (
                breach_rules.regulator_of(chosen) if self.refer_to_regulator.data else "none"
            )
            if isinstance(chosen, breach_rules.StaffMember)
            else "none",
        }


class Close(EventForm):
    report_complete = Checkbox()
    lessons_learned = Text("Lessons learned", limit=breach_report.LESSONS_MAX)

    audited = ("lessons_learned",)


STEP_FORMS = {
    "record_police": RecordPolice,
    "update_report": UpdateReport,
    "refer_to_ico": ReferToIco,
    "write_ico_summary": WriteIcoSummary,
    "assess_risk": AssessRisk,
    "record_meeting": RecordMeeting,
    "inform_service_user": InformServiceUser,
    "caldicott_agree": CaldicottAgree,
    "record_exemption": RecordExemption,
    "skip_informing": SkipInforming,
    "decide": Decide,
    "close": Close,
    "record_ico_outcome": RecordIcoOutcome,
}


def event_form(event: str, breach) -> type[EventForm]:
    """The form of `event` for this case (whom to tell depends on its category)."""
    return notify_form(breach.category) if event == "notify" else STEP_FORMS[event]


class ToldAnotherWay(GovForm):
    """Who told a person an e-mail did not reach, and when (services.deliveries)."""

    who = Text(
        "Who told them, and how",
        required="Enter who told them, and how",
        limit=breach_report.NAME_MAX,
        one_line=True,
        personal_data=True,  # a member of staff's name
    )
    told_at = UkDateTime("when they were told", required=True)
