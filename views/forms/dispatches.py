"""The secure-sending forms: the draft, and each step of a dispatch."""

from __future__ import annotations

from machines import dispatch as rules
from machines.breach_report import ANSWERS
from views.forms import GovForm
from views.forms.fields import CODE_TEXT_MAX, Checkbox, Choice, Text
from views.transitions import EventForm, WithReason


class DraftDispatch(GovForm):
    case_id = Text(  # an ID, with its own format rule
        "Case-system ID", limit=CODE_TEXT_MAX, personal_data=True
    )
    description = Text("What is being sent", limit=rules.DESCRIPTION_MAX)
    method = Text("How it is sent", limit=rules.SHORT_TEXT_MAX)  # a key of METHODS
    recipient_organisation = Text("Recipient organisation", limit=rules.SHORT_TEXT_MAX)
    recipient_role = Text("Recipient's role", limit=rules.SHORT_TEXT_MAX)
    # A professional's address or email: where the documents go (never in the ICO draft).
    address = Text("Address", limit=rules.ADDRESS_MAX, personal_data=True)


class Check(EventForm):
    address_source = Text(  # a key of the machine's list
        "How you checked the address", limit=rules.SHORT_TEXT_MAX
    )
    address_source_other = Text("Where you checked the address", limit=rules.SHORT_TEXT_MAX)
    address_confirmed = Checkbox()
    addressee_confirmed = Checkbox()
    right_to_information_confirmed = Checkbox()
    lawful_basis = Text("Lawful basis", limit=rules.LAWFUL_BASIS_MAX)

    def summary(self) -> dict:
        return {
            "address_source": self.address_source.data,
            "lawful_basis": self.lawful_basis.data,
            "confirmed": "address, addressee, right to the information",
        }


class MarkSent(EventForm):
    password_protected = Checkbox()
    password_separate = Checkbox()
    tracking_reference = Text("Tracking reference", limit=rules.SHORT_TEXT_MAX)

    audited = ("tracking_reference",)


class ConfirmDelivered(EventForm):
    delivery_evidence = Text(  # a key of DELIVERY_EVIDENCE
        "How you know it was delivered", limit=rules.SHORT_TEXT_MAX
    )

    audited = ("delivery_evidence",)


class ReportMisdirected(EventForm):
    what_happened = Text("What happened", limit=rules.LONG_TEXT_MAX)
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
