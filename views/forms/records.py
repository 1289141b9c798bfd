"""The custody forms: finding and adding records, asking to take papers out, and each event."""

from __future__ import annotations

import datetime as dt

from wtforms.validators import ValidationError

from machines import clock
from machines.breach_report import ANSWERS, LOST_CATEGORIES
from machines.common import case_id_error, normalise_case_id
from machines.removal import (
    CONFIRMED_HOW,
    DESTRUCTION_METHODS,
    NOTE_MAX,
    PAPERS_MAX,
    PURPOSE_OTHER_MAX,
    PURPOSES,
    RECORD_DESCRIPTION_MAX,
    WHERE_MAX,
)
from models.base import MAX_ID
from models.people import User
from models.records import LABEL_CODE
from views.forms import GovForm
from views.forms.fields import CODE_TEXT_MAX, Checkbox, Choice, GovDate, Text, WholeNumber
from views.forms.people import LABEL_CODE_MAX
from views.forms.times import UkDateTime
from views.transitions import EventForm, NoInput, WithNote, WithReason

SEARCH_MAX = 40


def valid_case_id(form, field) -> None:
    """A WTForms validator for the one case-system ID rule (machines.common)."""
    field.data = normalise_case_id(field.data)
    if problem := case_id_error(field.data, required=bool(field.required_message)):
        raise ValidationError(problem)


class FindRecord(GovForm):
    term = Text(
        "Case-system ID or label code",
        personal_data=True,  # an ID or a code, looked up, never stored
        required="Enter a case-system ID or a label code",
        limit=SEARCH_MAX,
    )


def a_label_code(form, field) -> None:
    """What a Safekeep label holds (models.records.LABEL_CODE), in any case."""
    field.data = field.data.upper()
    if not LABEL_CODE.fullmatch(field.data):
        raise ValidationError(
            "Scan a Safekeep record label, or type the code printed on it, like SK-AB3D5F7H"
        )


class ScannedLabel(GovForm):
    """The code "Scan label" read from a record's QR label (decoded in the browser)."""

    label_code = Text(
        "Label code",
        required="Scan the label, or type the code printed on it",
        limit=LABEL_CODE_MAX,
        validators=[a_label_code],
        personal_data=True,  # the label code's own rule decides
    )


class AddRecord(GovForm):
    case_id = Text(
        "Case-system ID",
        required="Enter the case-system ID",
        limit=CODE_TEXT_MAX,
        validators=[valid_case_id],
        personal_data=True,  # the case-system ID rule decides
    )
    description = Text(
        "Description",
        required="Describe the papers, like “court bundle, volume 2”",
        limit=RECORD_DESCRIPTION_MAX,
    )


class RequestRemoval(GovForm):
    purpose = Choice(
        required="Select why the papers are leaving the office",
        choices=[key for key, _ in PURPOSES],
    )
    purpose_other = Text("Why the papers need to leave", limit=PURPOSE_OTHER_MAX)
    papers = Text("Which papers", required="Enter which papers you are taking", limit=PAPERS_MAX)
    due_kind = Choice(
        required="Select whether the papers will be returned or destroyed",
        choices=["return", "destroy"],
    )
    due_on = GovDate("the date the papers will be returned or destroyed")

    def validate_purpose_other(self, field) -> None:
        if self.purpose.data == "other" and not field.data:
            raise ValidationError("Enter why the papers need to leave the office")

    def validate_due_on(self, field) -> None:
        today = clock.uk_today()
        if field.data is not None and field.data < today:
            raise ValidationError("The date must be today or in the future")
        if field.data is not None and field.data > today + dt.timedelta(days=366):
            raise ValidationError("The date must be within a year")


# -- Events of the removal machine -----------------------------------------------------------


class TakeOut(EventForm):
    lockable_bag = Checkbox()
    laptop_protected = Checkbox()
    no_usb_stick = Checkbox()
    notebook_secure = Checkbox()

    def summary(self) -> dict:
        return {"safeguards": "all four attested"}


class Destroy(EventForm):
    method = Choice("How they were destroyed", choices=[key for key, _ in DESTRUCTION_METHODS])
    witness = WholeNumber("Witness", maximum=MAX_ID)

    def witness_user(self) -> User | None:
        """The chosen member of staff (the machine checks they may witness it), if active."""
        if not self.witness.data:
            return None
        return User.get_or_none(User.id == self.witness.data, User.active == True)  # noqa: E712

    def machine_values(self) -> dict:
        person = self.witness_user()
        return {"method": self.method.data, "witness": person.as_actor() if person else None}

    def summary(self) -> dict:
        person = self.witness_user()
        return {"method": self.method.data, "witness": person.display_name if person else None}

    def answers(self) -> list[tuple[str, str]]:
        person = self.witness_user()
        return [
            ("How they were destroyed", dict(DESTRUCTION_METHODS).get(self.method.data, "")),
            ("Witness", person.display_name if person else ""),
        ]


class ReportLost(EventForm):
    last_seen_where = Text("Where last seen", limit=WHERE_MAX)
    last_seen_on = UkDateTime("when the papers were last seen")
    # The breach case's first facts (machines/breach_report.py judges them).
    category = Choice(choices=[key for key, _ in LOST_CATEGORIES])
    children_or_vulnerable = Choice(choices=[key for key, _ in ANSWERS])
    special_category = Choice(choices=[key for key, _ in ANSWERS])

    def last_seen_at(self) -> dt.datetime | None:
        return self.last_seen_on.data

    def machine_values(self) -> dict:
        return {
            "last_seen_where": self.last_seen_where.data,
            "last_seen_at": self.last_seen_at(),
            "category": self.category.data,
            "children_or_vulnerable": self.children_or_vulnerable.data,
            "special_category": self.special_category.data,
        }

    def summary(self) -> dict:
        at = self.last_seen_at()
        return {
            "last_seen_where": self.last_seen_where.data,
            "last_seen_at": at.isoformat() if at else None,
            "category": self.category.data,
        }


class AskExtension(EventForm):
    new_due_on = GovDate("the new date the papers will be back")
    reason = Text("Why more time is needed", limit=NOTE_MAX)

    def summary(self) -> dict:
        day = self.new_due_on.data
        return {"new_due_on": day.isoformat() if day else None, "reason": self.reason.data}


class AgreeExtension(WithNote):
    def summary(self) -> dict:
        asked = self.row.extension_due_on if self.row is not None else None
        return {"new_due_on": asked.isoformat() if asked else None, "note": self.note.data}


class ConfirmLocation(EventForm):
    where = Text("Where the papers are", limit=WHERE_MAX)
    how = Choice("How you checked", choices=[key for key, _ in CONFIRMED_HOW])
    confirmed_on = GovDate("the date you checked")

    def summary(self) -> dict:
        day = self.confirmed_on.data
        return {
            "where": self.where.data,
            "how": self.how.data,
            "confirmed_on": day.isoformat() if day else None,
        }


EVENT_FORMS = {
    "approve": WithNote,
    "decline": WithReason,
    "cancel": WithReason,
    "take_out": TakeOut,
    "return_papers": NoInput,
    "destroy": Destroy,
    "report_lost": ReportLost,
    "ask_extension": AskExtension,
    "agree_extension": AgreeExtension,
    "refuse_extension": WithReason,
    "extend": AskExtension,
    "confirm_location": ConfirmLocation,
}
