"""Paper records (one case's bundle of papers) and removals (each time papers leave the office)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from functools import reduce
from operator import or_

from peewee import (
    JOIN,
    SQL,
    Case,
    CharField,
    DateField,
    DateTimeField,
    Expression,
    Field,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    TextField,
    fn,
)

from machines.clock import uk_today
from machines.common import Actor, normalise_case_id
from machines.permissions import Can, roles_that
from machines.removal import (
    FALLBACK,
    OWN_MANAGER,
    PAPERS_GONE,
    TEAM_MANAGERS,
    Approvers,
    approvers_for,
)
from machines.training import Training
from models.base import BaseModel, Stale, VersionedModel, db, utcnow
from models.bulk import insert_rows
from models.kept_whereabouts import IN_OFFICE
from models.people import Team, User, UserRole, who_and_when
from models.prepared import (
    Prepared,
)
from models.training import TrainingException, training_of

# Label codes avoid look-alike characters so they can be typed from a printed label.
_LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# The stored states of a removal that is still open (papers not back, not destroyed, not lost).
OPEN_STATES = ("in_office", "requested", "approved_for_removal", "out")

# Where a record's papers are now (the records list's filter), from its latest removal.
WHEREABOUTS: tuple[tuple[str, str], ...] = (
    ("in_office", "In the office"),
    ("out", "Out of the office"),
    ("overdue", "Out and overdue"),
    ("destroyed", "Destroyed"),
    ("lost", "Reported lost"),
)


def whereabouts_is(where: str, today: dt.date, teams: list[int] | None = None):
    """A WHERE clause over records (of these teams; every team: None) for one of
    WHEREABOUTS: the kept `where_papers_are`, along an index in the list's order, so a page
    stops at its end however many records are destroyed. Overdue also asks the latest removal
    (`Record.join_latest`) when it is due."""
    if where == "overdue":
        # Among the papers out, those overdue are found by an index on the removals (few),
        # the teams' own only: every team's overdue papers grow with the council.
        Ever = Removal.alias("ever")
        late = Ever.select(Ever.record).where(Ever.state == "out", Ever.due_on < today)
        if teams is not None:
            late = late.where(Ever.team.in_(teams))
        return (Record.where_papers_are == "out") & (Removal.due_on < today) & Record.id.in_(late)
    return Record.where_papers_are == where


def held_by(person_id: int):
    """A WHERE clause over `Record.with_whereabouts`: papers out with this person now."""
    # The records this person has papers out of at all, found by an index on the removals
    # (few), so the latest removal is only looked up for them, not for every record listed.
    Ever = Removal.alias("ever")
    candidates = Ever.select(Ever.record).where(Ever.state == "out", Ever.for_user == person_id)
    return (Removal.state == "out") & (Removal.for_user == person_id) & Record.id.in_(candidates)


# Codes drawn before giving up: a second clash in a row (32^8 codes) means something else.
LABEL_ATTEMPTS = 5


def new_label_code() -> str:
    return "SK-" + "".join(secrets.choice(_LABEL_ALPHABET) for _ in range(8))


# Every code new_label_code draws, and all a label's QR code holds ("Scan label" opens nothing
# else). Fixed length: matching costs the same whatever is scanned or typed.
LABEL_CODE = re.compile(f"SK-[{_LABEL_ALPHABET}]{{8}}")


class Record(BaseModel):
    """A physical bundle of papers for one case; no names or addresses, the case-system ID only."""

    case_id = CharField(index=True, max_length=20)
    description = CharField(max_length=120)
    team = ForeignKeyField(Team, backref="records")
    label_code = CharField(unique=True, max_length=16, default=new_label_code)
    created_by = ForeignKeyField(User)
    created_at = DateTimeField(default=utcnow)
    # in_office, out, destroyed or lost: the latest removal's, kept by the database's triggers
    # (models/kept_whereabouts.py) so the list filters along an index; never written here.
    where_papers_are = CharField(
        max_length=12, default=IN_OFFICE, constraints=[SQL(f"DEFAULT '{IN_OFFICE}'")]
    )

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
    def create_many_labelled(cls, rows: list[dict]) -> list[tuple[int, str]]:
        """Create records (each a dict of fields) in one insert, each with a label code no
        other record has, in the caller's transaction; their (id, label code), in order."""
        codes = [new_label_code() for _ in rows]
        for _ in range(LABEL_ATTEMPTS):
            taken = set(cls.select(cls.label_code).where(cls.label_code.in_(codes)).scalars())
            repeated = len(set(codes)) < len(codes)
            if not taken and not repeated:
                break
            seen: set[str] = set()
            for n, code in enumerate(codes):
                if code in taken or code in seen:
                    codes[n] = new_label_code()
                seen.add(codes[n])
        insert_rows(
            cls, [{**row, "label_code": code} for row, code in zip(rows, codes, strict=True)]
        )
        ids = dict(cls.select(cls.label_code, cls.id).where(cls.label_code.in_(codes)).tuples())
        return [(ids[code], code) for code in codes]

    @classmethod
    def find(cls, user: User, term: str):
        """Records this person may see whose case-system ID or label code matches exactly,
        each with where it is now (`with_whereabouts`).

        Both are stored in capitals (normalise_case_id on the way in; label codes are made
        so), so each is an index lookup, not a scan of UPPER(case_id) over every record.
        """
        term = normalise_case_id(term)
        # Each branch on its own index, whatever else (the team) the planner could start from.
        matching = cls.select(cls.id).where(cls.case_id == term) | cls.select(cls.id).where(
            cls.label_code == term
        )
        query = cls.select(cls, Team).join(Team)
        if not user.can(Can.SEE_EVERY_TEAM):  # visible_query's rule
            # "+ 0": the team is checked on the few matches, not used to find them. Without
            # statistics SQLite would rather walk the team's records in order on the index
            # the whereabouts list uses, reading every one of them.
            query = query.where((cls.team + 0) == user.team_id)
        return (
            cls.with_whereabouts(query)
            .where(cls.id.in_(matching))
            .order_by(cls.case_id, cls.description)
        )

    @classmethod
    def with_whereabouts(cls, query):
        """`query` (records joined to their team) with each record's latest removal as
        `record.latest` and its holder as `record.latest.holder`, in the same statement.

        The latest removal says where the papers are: an open one is always the latest (one
        open removal per record), and a closed one is destroyed, lost or back in the office.
        """
        Holder = User.alias("holder")
        return cls.join_latest(query.select_extend(Removal, Holder)).join(
            Holder, JOIN.LEFT_OUTER, on=(Removal.for_user == Holder.id), attr="holder"
        )

    @classmethod
    def join_latest(cls, query):
        """`query` over records, joined to each one's latest removal (as `latest`)."""
        Other = Removal.alias("other")
        latest_id = Other.select(fn.MAX(Other.id)).where(Other.record == cls.id)
        return query.switch(cls).join(
            Removal, JOIN.LEFT_OUTER, on=(Removal.id == latest_id), attr="latest"
        )

    @property
    def whereabouts(self) -> str:
        """in_office, out, destroyed or lost (see WHEREABOUTS): the latest removal's, as
        `with_whereabouts` joined it (or read now for a record loaded without it)."""
        if not hasattr(self, "latest"):
            self.latest = (
                Removal.select()
                .where(Removal.record == self.id)
                .order_by(Removal.id.desc())
                .first()
            )
        latest = self.latest
        state = latest.state if latest is not None and latest.id else None
        return state if state == "out" or state in PAPERS_GONE else "in_office"

    @property
    def papers_gone(self) -> bool:
        """Destroyed or reported lost: nothing of this record to take out any more."""
        return self.whereabouts in PAPERS_GONE

    def open_removal(self) -> Removal | None:
        """The removal still open, with the people its panel names, in one statement."""
        rows = _OPEN_REMOVAL.rows(record_id=self.id)
        removal = rows[0] if rows else None
        if removal is not None:
            removal.record = self  # the record it was asked of: no statement to read it again
        return removal


# What a list's removal knows of its holder (Removal.with_people).
HOLDER_FIELDS = ("id", "username", "display_name", "team", "line_manager", "email", "active")


class ApprovalRequest(VersionedModel):
    """What a removal and a remote working agreement share: a request that the removal's
    approvers decide (machines.removal.may_approve), the decision, and the queries for it.

    Each model declares its own `team`, `state` and `for_user` (their backrefs differ) and
    `with_people()`, the query its lists read.
    """

    requested_by = ForeignKeyField(User)
    requester_manager = ForeignKeyField(User, null=True)
    # machines.removal.approvers_for: who was asked to agree it (own_manager, team_managers,
    # fallback, nobody); set when it is asked for.
    approval_route = CharField(null=True, max_length=20)
    decided_by, decided_at = who_and_when()
    decision_note = TextField(null=True)

    @classmethod
    def with_people(cls):
        """The rows with the people their lists name joined (each model says which)."""
        raise NotImplementedError

    @classmethod
    def asked_of(cls, person: User, within: Expression, oldest_first: Field):
        """Those among the rows `within` picks that this person may decide, oldest ask first."""
        return (
            cls.with_people()
            .where(may_approve_sql(cls, person, within))
            .order_by(oldest_first, cls.id)
        )

    def asked(self) -> list[str]:
        """The names of the people this request asked to agree it, by its stored route."""
        requesters = (self.for_user_id, self.requested_by_id)
        if self.approval_route == OWN_MANAGER and self.requester_manager_id:
            return [self.requester_manager.display_name]
        if self.approval_route == TEAM_MANAGERS:
            people = _holders_of(Can.APPROVE_REMOVALS, self.team_id)
        elif self.approval_route == FALLBACK:
            people = _holders_of(Can.APPROVE_AS_FALLBACK)
        else:
            return []
        return [person.display_name for person in people if person.id not in requesters]


class Removal(ApprovalRequest):
    """One removal of one record: the old paper registry's tracer-card line."""

    record = ForeignKeyField(Record, backref="removals")
    team = ForeignKeyField(Team)  # the record's team, kept here for the board's queries
    state = CharField(default="in_office", index=True)
    for_user = ForeignKeyField(User, backref="removals")
    purpose = CharField()
    purpose_other = TextField(null=True)
    papers = TextField()
    due_kind = CharField(default="return")  # "return" or "destroy"
    due_on = DateField()
    requested_at = DateTimeField(null=True)
    taken_out_at = DateTimeField(null=True)
    returned_at = DateTimeField(null=True)
    returned_by = ForeignKeyField(User, null=True)  # the holder, or whoever brought them back
    destroyed_at = DateTimeField(null=True)
    destruction_method = CharField(null=True)
    destruction_witness = CharField(null=True)  # before witnesses were chosen from the team
    witnessed_by = ForeignKeyField(User, null=True)
    lost_at = DateTimeField(null=True)
    last_seen_where = TextField(null=True)
    last_seen_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    # More time: the holder's waiting ask, and when the date last moved.
    extension_due_on = DateField(null=True)
    extension_reason = TextField(null=True)
    extension_asked_at = DateTimeField(null=True)
    extended_at = DateTimeField(null=True)
    # Where overdue papers are, as a line manager last confirmed it with the holder.
    location_where = TextField(null=True)
    location_confirmed_how = CharField(null=True, max_length=20)
    location_confirmed_on = DateField(null=True)
    location_confirmed_by = ForeignKeyField(User, null=True)
    # The reminder ladder: overdue reminders count from ladder_from (else due_on), and each
    # extension or confirmation starts a new round of them (services/reminders.py).
    ladder_from = DateField(null=True)
    reminder_round = IntegerField(default=0)
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
    def holder_training(self) -> Training:
        """The holder's data protection training (the take-out guard's fact)."""
        return training_of(self.for_user)

    def use_training_exception(self, actor, now: dt.datetime) -> None:
        """The papers go out on the holder's exception: it is used up by this removal, in the
        caller's transaction (a second removal racing for it loses and changes nothing)."""
        exception = TrainingException.open_for(self.for_user_id)
        if exception is None or not exception.use(self.id, actor.id, now):
            raise Stale(f"the training exception for removal {self.id} was used meanwhile")

    @property
    def papers_gone(self) -> bool:
        """The record's removal before this one ended destroyed or lost (the request guard's
        fact): there are no papers left to ask for."""
        earlier = Removal.select(Removal.state).where(Removal.record == self.record_id)
        if self.id is not None:
            earlier = earlier.where(Removal.id < self.id)
        return earlier.order_by(Removal.id.desc()).limit(1).scalar() in PAPERS_GONE

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
    def for_person(cls, user: User, limit: int) -> list[Removal]:
        """This person's first `limit` open removals: out first (overdue first), then the rest
        by due date.

        The out ones and the rest are each read along an index in the order shown and stopped
        at `limit`, inside the one statement: one ORDER BY with "out first" in it would sort
        every open removal the person holds.
        """
        return _FOR_PERSON.rows(person_id=user.id, limit=limit)

    @classmethod
    def _for_person_query(cls, person_id: int, limit: int):
        mine = (cls.for_user == person_id) & cls.closed_at.is_null()
        firsts = [
            cls.select(cls.id).where(mine, stage).order_by(cls.due_on, cls.id).limit(limit)
            for stage in (cls.state == "out", cls.state != "out")
        ]
        ids = reduce(or_, [cls.select(first.c.id).from_(first) for first in firsts])
        out_first = Case(None, ((cls.state == "out", 0),), 1)
        return (
            cls.with_people()
            .where(cls.id.in_(ids))
            .order_by(out_first, cls.due_on, cls.id)
            .limit(limit)
        )

    @classmethod
    def decided_for(cls, person: User, since: dt.datetime):
        """This person's requests agreed or declined since then, newest decision first, with
        who decided (the requester is told on their home page)."""
        Decider = User.alias()
        return (
            cls.with_people()
            .select_extend(Decider)
            .switch(cls)
            .join(Decider, on=(cls.decided_by == Decider.id), attr="decider")
            .where(cls.for_user == person, cls.decided_at >= since)
            .order_by(cls.decided_at.desc(), cls.id.desc())
        )

    @classmethod
    def awaiting_approval_for(cls, person: User):
        """Requests this person may agree (machines.removal.may_approve, as SQL): never their
        own; their reports' when they may see the team's records; their team's when they
        manage it; a fallback request when they hold that capability. Every one listed is
        one they can open and decide."""
        return cls.asked_of(person, cls.state == "requested", cls.requested_at)

    @classmethod
    def _more_time(cls):
        return (cls.state == "out") & cls.extension_due_on.is_null(False)

    @classmethod
    def more_time_asked_of(cls, person: User):
        """Asks for more time this person may answer (the same people as for a request)."""
        return cls.asked_of(person, cls._more_time(), cls.extension_asked_at)


def may_approve_sql(model, person: User, within=None):
    """machines.removal.may_approve as a WHERE clause over a row with `team`,
    `requester_manager`, `approval_route`, `for_user` and `requested_by` (a removal, or a
    remote working agreement), among the rows `within` picks (the state asked about).

    `within` is repeated in each branch of the OR, so that each branch is one range of an
    index that starts with its own column (team, requester_manager, approval_route), and the
    planner unions them instead of reading every row in that state.
    """
    rules = []
    whole_team = person.can(Can.APPROVE_REMOVALS) and person.team_id is not None
    if whole_team:
        rules.append(model.team == person.team_id)
    if person.can(Can.SEE_EVERY_TEAM):
        rules.append(model.requester_manager == person.id)
    elif not whole_team:  # their reports' in their own team (all of it, when they manage it)
        rules.append((model.requester_manager == person.id) & (model.team == person.team_id))
    if person.can(Can.APPROVE_AS_FALLBACK):
        rules.append(model.approval_route == FALLBACK)
    if within is not None:
        rules = [within & rule for rule in rules]
    return (model.for_user != person.id) & (model.requested_by != person.id) & reduce(or_, rules)


def _holders_of(capability: Can, team_id: int | None = None) -> list[User]:
    """Active staff holding a capability (in one team when given), by name."""
    query = (
        User.select()
        .where(
            User.active == True,  # noqa: E712
            User.id.in_(
                UserRole.select(UserRole.user).where(
                    UserRole.role.in_(sorted(roles_that(capability)))
                )
            ),
        )
        .order_by(User.display_name, User.id)
    )
    if team_id is not None:
        query = query.where(User.team == team_id)
    return list(query)


def approvers_of(person: User, team_id: int) -> tuple[Approvers, list[User]]:
    """Who would be asked to agree `person`'s request about team `team_id`'s papers, and
    their names (machines.removal.approvers_for, given the people it needs)."""
    wanted = sorted(roles_that(Can.APPROVE_REMOVALS) | roles_that(Can.APPROVE_AS_FALLBACK))
    candidates = UserRole.select(UserRole.user).where(UserRole.role.in_(wanted))
    rows = (
        User.select(User, UserRole.role)
        .join(UserRole)
        .where(
            User.active == True,  # noqa: E712
            User.id.in_(candidates) | (User.id == person.line_manager_id),
        )
        .order_by(User.display_name, User.id)
        .objects()
    )
    users: dict[int, User] = {}
    roles: dict[int, set[str]] = {}
    for row in rows:
        users.setdefault(row.id, row)
        roles.setdefault(row.id, set()).add(row.role)
    actors = {
        uid: Actor(uid, frozenset(roles[uid]), users[uid].team_id, users[uid].line_manager_id)
        for uid in users
    }
    everyone = list(actors.values())
    approvers = approvers_for(
        person.as_actor(),
        team_id,
        actors.get(person.line_manager_id),
        team_staff=[a for a in everyone if a.team_id == team_id],
        seniors=everyone,
    )
    return approvers, [users[uid] for uid in approvers.ids]


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
# A person's open removals for their home page, out first (migration 26): each part in order.
Removal.add_index(
    Removal.index(
        Removal.for_user,
        Removal.state,
        Removal.due_on,
        Removal.id,
        where=Removal.closed_at.is_null(),
        name="removal_open_for_user_state_due",
    )
)
Removal.add_index(
    Removal.index(
        Removal.for_user,
        Removal.due_on,
        Removal.id,
        where=Removal.closed_at.is_null(),
        name="removal_open_for_user_due",
    )
)
# Who holds papers out in a team (the whereabouts' holder filter), asked person by person.
Removal.add_index(
    Removal.index(Removal.for_user, Removal.state, Removal.team, name="removal_holder_state_team")
)
Removal.add_index(Removal.index(Removal.team, Removal.state, Removal.requested_at))
Removal.add_index(Removal.index(Removal.state, Removal.requested_at))
Removal.add_index(Removal.index(Removal.state, Removal.due_on))
# A line manager's requests to decide, in their own team: three columns asked for by equality,
# or SQLite (without statistics) prefers the team's index and reads every removal of the team.
Removal.add_index(
    Removal.index(Removal.requester_manager, Removal.state, Removal.team, Removal.requested_at)
)
Removal.add_index(Removal.index(Removal.approval_route, Removal.state, Removal.requested_at))
# A person's requests decided lately (their home page). Partial: over every removal, SQLite
# without statistics chose it for the person's *open* removals too and read all of a long
# holder's closed ones (16,594 rows for 497 open at volume: 23 ms, not 1.4).
Removal.add_index(
    Removal.index(
        Removal.for_user,
        Removal.decided_at,
        where=Removal.decided_at.is_null(False),
        name="removal_for_user_id_decided_at",
    )
)
# Asks for more time waiting for an answer: a few among the papers out.
for _name, _columns in (
    ("removal_more_time_team", (Removal.team, Removal.state)),
    ("removal_more_time_manager", (Removal.requester_manager, Removal.state, Removal.team)),
    ("removal_more_time_route", (Removal.approval_route, Removal.state)),
):
    Removal.add_index(
        Removal.index(*_columns, where=Removal.extension_due_on.is_null(False), name=_name)
    )
# Where every record is: a team's records in the page's order, read a page at a time.
Record.add_index(Record.index(Record.team, Record.case_id, Record.description))
# The same, filtered by where the papers are (migration 28).
Record.add_index(
    Record.index(
        Record.team,
        Record.where_papers_are,
        Record.case_id,
        Record.description,
        name="record_team_whereabouts",
    )
)


def _open_removal(record_id: int):
    Holder, Decider = User.alias(), User.alias()
    return (
        Removal.select(Removal, Holder, Decider)
        .join(Holder, on=(Removal.for_user == Holder.id), attr="for_user")
        .switch(Removal)
        .join(Decider, JOIN.LEFT_OUTER, on=(Removal.decided_by == Decider.id), attr="decided_by")
        .where(Removal.record == record_id, Removal.closed_at.is_null())
        .order_by(Removal.id.desc())
        .limit(1)
    )


# A record's panel reads its open removal on every view and every event: compiled once.
_OPEN_REMOVAL = Prepared(_open_removal, record_id=int)


# Every home page runs these (models/prepared.py: why each is compiled once).
_FOR_PERSON = Prepared(Removal._for_person_query, person_id=int, limit=int)
