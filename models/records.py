"""Paper records (one case's bundle of papers) and removals (each time papers leave the office)."""

from __future__ import annotations

import datetime as dt
import secrets

from peewee import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegrityError,
    TextField,
    fn,
)

from machines.permissions import Can
from models.base import BaseModel, VersionedModel, db, utcnow
from models.people import Team, User
from services.clock import uk_today

# Label codes avoid look-alike characters so they can be typed from a printed label.
_LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# The stored states of a removal that is still open (papers not back, not destroyed, not lost).
OPEN_STATES = ("in_office", "requested", "approved_for_removal", "out")


# Codes drawn before giving up: a second clash in a row (32^8 codes) means something else.
LABEL_ATTEMPTS = 5


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
    def create_labelled(cls, **fields) -> Record:
        """Create a record with a label code no other record has, in the caller's transaction.

        Codes are random under a unique index: a clash is rare, but without this it would
        end the request with a 500 instead of drawing another code.
        """
        for attempt in range(1, LABEL_ATTEMPTS + 1):
            code = new_label_code()
            try:
                # A savepoint: on PostgreSQL a failed insert would otherwise end the transaction.
                with db.atomic():
                    return cls.create(label_code=code, **fields)
            except IntegrityError:
                taken = cls.select().where(cls.label_code == code).exists()
                if not taken or attempt == LABEL_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def find(cls, user: User, term: str):
        """Records this person may see whose case-system ID or label code matches exactly."""
        term = term.strip().upper()
        return (
            cls.visible_query(user)
            .where((fn.UPPER(cls.case_id) == term) | (cls.label_code == term))
            .order_by(cls.case_id, cls.description)
        )

    def open_removal(self) -> Removal | None:
        return (
            Removal.select()
            .where(Removal.record == self, Removal.closed_at.is_null())
            .order_by(Removal.id.desc())
            .first()
        )


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
    # When its free text was erased under the retention policy (services/retention.py).
    erased_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("team", "state", "due_on"), False), (("for_user", "state"), False))

    def open_breach_for_loss(self, actor, now: dt.datetime, facts: dict) -> None:
        """Open the breach case for these lost papers, in the caller's transaction.

        Called by the removal machine's `report_lost` action, so the removal becoming lost
        and the breach case existing are one change: neither happens without the other.
        """
        # Breach is reached through its backref: models/breaches.py imports this module.
        breach_model = Removal.breaches.rel_model
        breach_model.open_for_lost_removal(self, User.get_by_id(actor.id), now, facts)

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
        lists that span teams, like a director's board of every team.
        """
        Holder = User.alias()
        query = (
            cls.select(cls, Record, Holder)
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
            .where(
                cls.state == "requested",
                (cls.team == manager.team_id) | (cls.requester_manager == manager.id),
                cls.requested_by != manager.id,
            )
            .order_by(cls.requested_at, cls.id)
        )


Removal.add_index(
    Removal.index(
        Removal.record,
        unique=True,
        where=Removal.closed_at.is_null(),
        name="removal_one_open_per_record",
    )
)
