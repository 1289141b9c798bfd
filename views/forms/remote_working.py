"""The remote working forms: asking, and each step of an agreement."""

from __future__ import annotations

from views.forms.fields import GovDate, Text
from views.transitions import EventForm


class Ask(EventForm):
    where = Text("Where you will work from", one_line=True)
    why = Text("Why")
    ends_on = GovDate("the date the agreement ends")

    def summary(self) -> dict:
        day = self.ends_on.data
        return {"where": self.where.data, "ends_on": day.isoformat() if day else None}


class Agree(EventForm):
    note = Text("Note")

    def summary(self) -> dict:
        return {"note": self.note.data}


class Decline(EventForm):
    reason = Text("Reason")

    def summary(self) -> dict:
        return {"reason": self.reason.data}


class Withdraw(Decline):
    pass


# The events a page may send (expiry is the schedule's alone).
EVENT_FORMS = {"agree": Agree, "decline": Decline, "withdraw": Withdraw}
