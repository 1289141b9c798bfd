"""The forms of a case's follow-through: what the ICO is owed, its outcome, and the actions."""

from __future__ import annotations

from machines import breach_action, ico_follow_up
from machines.breach_action import Person
from models.people import User
from views.forms.fields import ID_TEXT_MAX, Choice, GovDate, Text
from views.transitions import EventForm, WithReason


class RecordIcoItem(EventForm):
    kind = Choice(choices=[key for key, _ in ico_follow_up.KINDS])
    asked = Text("What the ICO asked or is owed", limit=ico_follow_up.ASKED_MAX)
    received_on = GovDate("the date the ICO asked", required=False)
    due_on = GovDate("the date the answer is due", required=False)

    def summary(self) -> dict:
        due, received = self.due_on.data, self.received_on.data
        return {
            "kind": self.kind.data,
            "due_on": due.isoformat() if due else None,
            "received_on": received.isoformat() if received else None,
        }


class ChangeIcoDue(EventForm):
    due_on = GovDate("the new due date", required=False)
    reason = Text("Why the due date changed", limit=ico_follow_up.ASKED_MAX)

    def summary(self) -> dict:
        due = self.due_on.data
        return {"due_on": due.isoformat() if due else None, "reason": self.reason.data}


class AnswerIco(EventForm):
    answer = Text("What the council told the ICO", limit=ico_follow_up.ANSWER_MAX)
    answered_on = GovDate("the date the answer was sent", required=False)

    def summary(self) -> dict:
        day = self.answered_on.data
        return {"answered_on": day.isoformat() if day else None}


class RecordIcoOutcome(EventForm):
    ico_outcome = Choice(choices=[key for key, _ in ico_follow_up.OUTCOMES])
    ico_outcome_on = GovDate("the date of the ICO's outcome", required=False)
    ico_outcome_note = Text("What the ICO said", limit=ico_follow_up.OUTCOME_NOTE_MAX)

    def summary(self) -> dict:
        day = self.ico_outcome_on.data
        return {
            "ico_outcome": self.ico_outcome.data,
            "ico_outcome_on": day.isoformat() if day else None,
        }


def owner_choices() -> list[User]:
    """Who may own an action: the active staff, kiosk accounts aside (no one's work)."""
    return list(User.active_people().order_by(User.display_name, User.id))


def chosen_person(value: str | None) -> Person | None:
    """The active person whose id was chosen, or None (none chosen, or not one offered)."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > ID_TEXT_MAX:
        return None
    user = User.active_people().where(User.id == int(value)).first()
    return Person(user.id, user.display_name) if user else None


class _OwnerAndDate(EventForm):
    """An owner (an account id, chosen from the active staff) and a due date: each form
    declares the two fields itself, so they come in its page's order."""

    def machine_values(self) -> dict:
        return {**self.values, "owner": chosen_person(self.owner.data)}

    def summary(self) -> dict:
        person = chosen_person(self.owner.data)
        due = self.due_on.data
        return {
            "owner": person.name if person else None,
            "due_on": due.isoformat() if due else None,
        }


class AddAction(_OwnerAndDate):
    category = Choice(choices=[key for key, _ in breach_action.CATEGORIES])
    description = Text("What is to be done", limit=breach_action.DESCRIPTION_MAX, one_line=True)
    owner = Text("Owner", limit=ID_TEXT_MAX, personal_data=True)  # an account id
    due_on = GovDate("the date it is due", required=False)

    def summary(self) -> dict:
        return {**super().summary(), "category": self.category.data}


class Reassign(_OwnerAndDate):
    owner = Text("Owner", limit=ID_TEXT_MAX, personal_data=True)  # an account id
    due_on = GovDate("the date it is due", required=False)


class Complete(EventForm):
    evidence = Text("The evidence", limit=breach_action.EVIDENCE_MAX)


ICO_ITEM_FORMS = {"answer": AnswerIco, "change_due": ChangeIcoDue}
ACTION_FORMS = {"complete": Complete, "accept_not_needed": WithReason, "reassign": Reassign}
