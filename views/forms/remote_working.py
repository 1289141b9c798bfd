"""The remote working forms: asking, and each step of an agreement."""

from __future__ import annotations

from machines.remote_working import WHERE_MAX, WHY_MAX
from views.forms.fields import GovDate, Text
from views.transitions import EventForm, WithNote, WithReason


class Ask(EventForm):
    where = Text("Where you will work from", limit=WHERE_MAX, one_line=True)
    why = Text("Why", limit=WHY_MAX)
    ends_on = GovDate("the date the agreement ends")

    def summary(self) -> dict:
        day = self.ends_on.data
        return {"where": self.where.data, "ends_on": day.isoformat() if day else None}


# The events a page may send (expiry is the schedule's alone).
EVENT_FORMS = {"agree": WithNote, "decline": WithReason, "withdraw": WithReason}
