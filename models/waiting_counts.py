"""How much waits for a person's answer, counted in one statement: the figures of the home page
(bounded) and the approvals page (exact, for its pages).

Requests for papers, asks for more time and asks to work remotely that this person may decide
(models/records.py may_approve_sql, the machine's may_approve as SQL), and the team's drafts
waiting for their second check (Dispatch.to_check). Each is a scalar subquery of one SELECT,
compiled once for each shape of person (models/prepared.py): four counts cost the database one
round trip, not four, on a page every signed-in person opens first.
"""

from __future__ import annotations

from functools import partial
from typing import TypedDict

from peewee import SQL, Select, Value, fn

from machines.permissions import Can
from models.dispatches import Dispatch
from models.prepared import PERSON_KINDS, PersonShape, PreparedByShape, StandInPerson, person_values
from models.records import Removal, may_approve_sql
from models.remote_working import RemoteAgreement


class WaitingCounts(TypedDict):
    pending: int  # requests for papers to approve
    more_time: int  # asks for more time to answer
    remote: int  # asks to work remotely to answer
    to_check: int  # the team's drafted documents to check (0 for those who may not)


# The home page counts what waits no further than this (one more says "more than"): a person
# may decide a hundred requests only in a seed, or a council whose managers left, and then
# the number matters less than that there are that many; the approvals page counts them all,
# for its pages. A count to the end read every request a director manages, which grows with
# the council.
BOUND = 99


def _count_asked_of(model, person, within, bound: int | None):
    """How many of `model`'s rows `within` picks this person may decide (no joins: one index
    range per rule of may_approve_sql), no further than `bound` + 1 (None: all of them)."""
    asked = may_approve_sql(model, person, within)
    if bound is None:
        return model.select(fn.COUNT(model.id)).where(asked)
    first = model.select(model.id).where(asked).limit(bound + 1)
    return model.select(fn.COUNT(SQL("*"))).from_(first.alias("asked"))


def _statement(shape: PersonShape, person_id, team_id, bound: int | None):
    count = partial(_count_asked_of, bound=bound)
    person = shape.person(person_id, team_id)
    # Only team staff check drafts, and only their own team's: the /send page's own list.
    checks = shape.has_team and person.can(Can.WORK_WITH_PAPERS)
    to_check = (
        Dispatch.to_check(StandInPerson(person_id, team_id, frozenset()))
        .select(fn.COUNT(Dispatch.id))
        .order_by()
        if checks
        else Value(0)
    )
    # Bound to the models' database, so that it is compiled for the dialect in use.
    return (
        Select(
            columns=[
                count(Removal, person, Removal.state == "requested").alias("pending"),
                count(Removal, person, Removal._more_time()).alias("more_time"),
                count(RemoteAgreement, person, RemoteAgreement.state == "asked").alias("remote"),
                to_check.alias("to_check"),
            ]
        )
        .bind(Removal._meta.database)
        .dicts()
    )


_COUNTS = {
    bound: PreparedByShape(partial(_statement, bound=bound), **PERSON_KINDS)
    for bound in (None, BOUND)
}


def waiting_counts(user, bounded: bool = False) -> WaitingCounts:
    """What waits for this person's answer, counted in one statement; `bounded`: the asks to
    decide no further than BOUND + 1 each (more than BOUND: "more than BOUND")."""
    statement = _COUNTS[BOUND if bounded else None]
    return statement.rows(PersonShape.of(user), **person_values(user))[0]
