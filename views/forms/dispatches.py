"""The secure-sending forms: the draft, and each step of a dispatch."""

from __future__ import annotations

from machines.breach_report import ANSWERS
from views.forms import GovForm
from views.forms.fields import Checkbox, Choice, Text
from views.transitions import EventForm, WithReason


class DraftDispatch(GovForm):
    case_id = Text(personal_data=True)  # an ID, with its own format rule
    description = Text("What is being sent")
    method = Text()
    recipient_organisation = Text("Recipient organisation")
    recipient_role = Text("Recipient's role")
    # A professional's address or email: where the documents go (never in the ICO draft).
    address = Text(personal_data=True)


class Check(EventForm):
    address_source = Text()
    address_source_other = Text("Where you checked the address")
    address_confirmed = Checkbox()
    addressee_confirmed = Checkbox()
    right_to_information_confirmed = Checkbox()
    lawful_basis = Text("Lawful basis")

    def summary(self) -> dict:
        return {
            "address_source": self.address_source.data,
            "lawful_basis": self.lawful_basis.data,
            "confirmed": "address, addressee, right to the information",
        }


class MarkSent(EventForm):
    password_protected = Checkbox()
    password_separate = Checkbox()
    tracking_reference = Text()

    audited = ("tracking_reference",)


class ConfirmDelivered(EventForm):
    delivery_evidence = Text()

    audited = ("delivery_evidence",)


class ReportMisdirected(EventForm):
    what_happened = Text("What happened")
    # The breach case's first facts (machines/breach_report.py judges them).
    children_or_vulnerable = Choice(choices=[key for key, _ in ANSWERS])
    special_category = Choice(choices=[key for key, _ in ANSWERS])


EVENT_FORMS = {
    "check": Check,
    "mark_sent": MarkSent,
    "confirm_delivered": ConfirmDelivered,
    "report_misdirected": ReportMisdirected,
    "cancel": WithReason,
}
