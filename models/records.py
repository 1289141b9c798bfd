"""Paper records (one case's bundle of papers) and removals (each time papers leave the office)."""

from __future__ import annotations

import datetime as dt
import secrets

from peewee import (
    JOIN,
    Case,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    TextField,
    fn,
)

from machines.common import normalise_case_id
from machines.permissions import Can
from models.base import BaseModel, VersionedModel, utcnow
from models.people import Team, User
from services.clock import uk_today

# Label codes avoid look-alike characters so they can be typed from a printed label.
_LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# The stored states of a removal that is still open (papers not back, not destroyed, not lost).
OPEN_STATES = ("in_office", "requested", "approved_for_removal", "out")


def new_label_code() -> str:
    return "SK-" + "".join(secrets.choice(_LABEL_ALPHABET) for _ in range(8))


class Record(BaseModel):
    """A physical bundle of papers for one case; no names or addresses, the case-system ID only."""

    case_id = CharField(index=True, max_length=20)
    description = CharField(max_length=120)
    team = ForeignKeyField(Team, backref="records")
    label_code = CharField(unique=True, max_length=16, default=new_label_code)
    created_by = ForeignKeyField(User)
    created_at = DateTimeField(default=utcnow)

    def visible_to(self, user: User) -> bool:
        """Need to know: the owning team, or a role that works across teams."""
        return user.team_id == self.team_id or user.can(Can.SEE_EVERY_TEAM)

    @classmethod
    def visible_query(cls, user: User):
        query = cls.select(cls, Team).join(Team)
        if not user.can(Can.SEE_EVERY_TEAM):
            query = query.where(cls.team == user.team_id)
        return query

    @classmethod
    def find(cls, user: User, term: str):
        """Records this person may see whose case-system ID or label code matches exactly.

        Both are stored in capitals (normalise_case_id on the way in; label codes are made
        so), so each is an index lookup, not a scan of UPPER(case_id) over every record.
        """
        term = normalise_case_id(term)
        # Each branch on its own index, whatever else (the team) the planner could start from.
        matching = cls.select(cls.id).where(cls.case_id == term) | cls.select(cls.id).where(
            cls.label_code == term
        )
        return (
            cls.visible_query(user)
            .where(cls.id.in_(matching))
            .order_by(cls.case_id, cls.description)
        )

    def open_removal(self) -> Removal | None:
        """The removal still open, with the people its panel names, in one statement."""
        Holder, Decider = User.alias(), User.alias()
        removal = (
            Removal.select(Removal, Holder, Decider)
            .join(Holder, on=(Removal.for_user == Holder.id), attr="for_user")
            .switch(Removal)
            .join(
                Decider, JOIN.LEFT_OUTER, on=(Removal.decided_by == Decider.id), attr="decided_by"
            )
            .where(Removal.record == self.id, Removal.closed_at.is_null())
            .order_by(Removal.id.desc())
            .first()
        )
        if removal is not None:
            removal.record = self  # the record it was asked of: no statement to read it again
        return removal


# What a list's removal knows of its holder (Removal.with_people).
HOLDER_FIELDS = ("id", "username", "display_name", "team", "line_manager", "email", "active")


class Removal(VersionedModel):
    """One removal of one record: the old paper registry's tracer-card line."""

    record = ForeignKeyField(Record, backref="removals")
    team = ForeignKeyField(Team)  # the record's team, kept here for the board's queries
    state = CharField(default="in_office", index=True)
    for_user = ForeignKeyField(User, backref="removals")
    requested_by = ForeignKeyField(User)
    requester_manager = ForeignKeyField(User, null=True)
    purpose = CharField()
    purpose_other = TextField(null=True)
    papers = TextField()
    due_kind = CharField(default="return")  # "return" or "destroy"
    due_on = DateField()
    requested_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True)
    decided_at = DateTimeField(null=True)
    decision_note = TextField(null=True)
    taken_out_at = DateTimeField(null=True)
    returned_at = DateTimeField(null=True)
    destroyed_at = DateTimeField(null=True)
    destruction_method = CharField(null=True)
    destruction_witness = CharField(null=True)
    lost_at = DateTimeField(null=True)
    last_seen_where = TextField(null=True)
    last_seen_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("team", "state", "due_on"), False), (("for_user", "state"), False))

    def open_breach_for_loss(self, actor, now: dt.datetime) -> None:
        """Open the breach case for these lost papers, in the caller's transaction.

        Called by the removal machine's `report_lost` action, so the removal becoming lost
        and the breach case existing are one change: neither happens without the other.
        """
        # Breach is reached through its backref: models/breaches.py imports this module.
        breach_model = Removal.breaches.rel_model
        breach_model.open_for_lost_removal(self, User.get_by_id(actor.id), now)

    @property
    def is_overdue(self) -> bool:
        return self.state == "out" and self.due_on < uk_today()

    @property
    def days_overdue(self) -> int:
        return max(0, (uk_today() - self.due_on).days) if self.state == "out" else 0

    @classmethod
    def with_people(cls, with_team: bool = False):
        """Removals with their record and holder in one query (no N+1 on lists).

        `with_team` joins the team too (`removal.team.name` without a query per row), for
        lists that span teams, like a director's board of every team. The holder carries the
        fields a list names people by (HOLDER_FIELDS), not their password hashes and
        counters: every column costs each row of every list.
        """
        Holder = User.alias()
        query = (
            cls.select(cls, Record, *(getattr(Holder, name) for name in HOLDER_FIELDS))
            .join(Record, on=(cls.record == Record.id))
            .switch(cls)
            .join(Holder, on=(cls.for_user == Holder.id), attr="holder")
        )
        if with_team:
            query = (
                query.select_extend(Team)
                .switch(cls)
                .join(Team, on=(cls.team == Team.id), attr="team")
            )
        return query

    @classmethod
    def for_person(cls, user: User):
        """This person's open removals: out first (overdue first), then the rest by due date."""
        return (
            cls.with_people()
            .where(cls.for_user == user, cls.closed_at.is_null())
            .order_by(
                Case(None, ((cls.state == "out", 0),), 1),
                cls.due_on,
                cls.id,
            )
        )

    @classmethod
    def awaiting_approval_for(cls, manager: User):
        """Requests a line manager may decide: their team's, and their direct reports'."""
        return (
            cls.with_people()
            .where(cls._awaiting_approval(manager))
            .order_by(cls.requested_at, cls.id)
        )

    @classmethod
    def count_awaiting_approval(cls, manager: User) -> int:
        """How many requests wait for this line manager (no joins: one index range each)."""
        return cls.select(fn.COUNT(cls.id)).where(cls._awaiting_approval(manager)).scalar()

    @classmethod
    def _awaiting_approval(cls, manager: User):
        # The state in each branch of the OR, so that each is one index range.
        return (
            ((cls.state == "requested") & (cls.team == manager.team_id))
            | ((cls.state == "requested") & (cls.requester_manager == manager.id))
        ) & (cls.requested_by != manager.id)


Removal.add_index(
    Removal.index(
        Removal.record,
        unique=True,
        where=Removal.closed_at.is_null(),
        name="removal_one_open_per_record",
    )
)
# The lists at volume (tests/http/test_query_plans.py): each finds its rows in index order.
Removal.add_index(
    Removal.index(Removal.for_user, where=Removal.closed_at.is_null(), name="removal_open_for_user")
)
Removal.add_index(Removal.index(Removal.team, Removal.state, Removal.requested_at))
Removal.add_index(Removal.index(Removal.state, Removal.requested_at))
Removal.add_index(Removal.index(Removal.state, Removal.due_on))
Removal.add_index(Removal.index(Removal.requester_manager, Removal.state, Removal.requested_at))
