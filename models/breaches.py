"""Breach cases (every breach and near miss, kept for good) and the notifications made."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from functools import reduce
from operator import or_
from types import MappingProxyType

from peewee import (
    JOIN,
    SQL,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from machines.breach import BreachMachine
from machines.breach_report import POLICE_CATEGORIES
from machines.breach_rules import may_read_case, waiting_events
from machines.common import Actor, enabled_events
from machines.permissions import Can, roles_that
from models.base import BaseModel, VersionedModel, utcnow
from models.counters import Counter
from models.deliveries import Delivery, counts_as_told
from models.dispatches import Dispatch
from models.people import Team, User, UserRole, who_and_when
from models.prepared import PERSON_KINDS, PersonShape, PreparedByShape, person_values
from models.records import Record, Removal
from models.tallies import Tally

# The most cases the machine is run over for one person's "waiting for you" (one query).
WAITING_SCAN = 100

# Facts of a case that open guards (police details complete, a near miss that kept the data
# in, ...): the probe cases below are built with each, so that a state where the person
# could act on *some* case is read from the database. A guard that comes to read another
# fact of the case needs its favourable value here (tests/unit/test_breach_waiting.py).
_PROBE_FACTS: tuple[dict, ...] = (
    {"category": "other"},
    {"category": "near_miss", "data_left_control": False},
    {"category": "loss", "police_reference": "probe", "line_manager_told": True},
    {"category": "loss"},  # waits for its police details
    # Referred, the ICO's outcome not on record: recording it is the decided case's step.
    {"category": "other", "ico_referred": True},
    # Reportable and not referred (the ICO referral is due); the meeting on record (the
    # letter is next); the Caldicott Guardian agreed (the decision is next).
    {
        "category": "other",
        "reportable": True,
        "informed_in_person_on": dt.date.min,
        "caldicott_agreed_at": dt.datetime.min,
    },
)
OPEN_STATES: tuple[str, ...] = tuple(s.id for s in BreachMachine.states if not s.final)


def to_minute(at: dt.datetime) -> dt.datetime:
    """The time without its seconds: the precision people type and read times in."""
    return at.replace(second=0, microsecond=0)


def reference_for(year: str, number: int) -> str:
    return f"BR-{year}-{number:04d}"


def highest(year: str) -> int:
    """The highest number of the year's references already stored (0 when none)."""
    prefix = f"BR-{year}-"
    numbers = (
        reference[len(prefix) :]
        for (reference,) in Breach.select(Breach.reference)
        .where(Breach.reference.startswith(prefix))
        .tuples()
    )
    return max((int(n) for n in numbers if n.isascii() and n.isdigit()), default=0)


class Breach(VersionedModel):
    reference = CharField(unique=True, max_length=20)
    state = CharField(default="reported", index=True)
    team = ForeignKeyField(Team, backref="breaches")
    reported_by = ForeignKeyField(User, backref="breaches_reported")
    reporter_manager = ForeignKeyField(User, null=True)
    reported_at = DateTimeField(index=True)
    # What happened
    what_happened = TextField()
    happened_at = DateTimeField()
    discovered_at = DateTimeField(index=True)  # awareness: starts the 72-hour ICO clock
    category = CharField(index=True)
    data_categories = TextField(default="")  # comma-separated keys
    people_affected = IntegerField(default=0)
    records_affected = IntegerField(default=0)
    # None: not known yet (a case opened for someone, until checked): the worst case for the
    # severity floor.
    children_or_vulnerable = BooleanField(null=True, default=False)
    special_category = BooleanField(null=True, default=False)
    data_left_control = BooleanField(default=True)
    police_reference = CharField(null=True)
    no_police_reference_reason = TextField(null=True)
    police_recorded_at = DateTimeField(null=True)
    police_officer = CharField(null=True)  # the officer or station told
    police_told_at = DateTimeField(null=True)
    line_manager_told = BooleanField(default=False)
    line_manager_told_by, line_manager_told_at = who_and_when()  # who recorded telling them
    # Whose conduct is in question (the regulator follows their profession): the reporter,
    # the holder of lost papers or the sender of a misdirected dispatch, until the decision.
    staff_member = ForeignKeyField(User, null=True)
    # Links to custody and the case (case-system ID only)
    removal = ForeignKeyField(Removal, null=True, backref="breaches")
    record = ForeignKeyField(Record, null=True, backref="breaches")
    case_id = CharField(null=True, max_length=20)
    dispatch = ForeignKeyField(Dispatch, null=True, backref="breaches")
    # Notified
    notified_at = DateTimeField(null=True)
    media_advised = BooleanField(null=True)
    media_reason = TextField(null=True)
    # Risk assessed
    likelihood = IntegerField(null=True)
    severity = IntegerField(null=True)
    reportable = BooleanField(null=True)
    high_risk = BooleanField(null=True)
    likely_outcomes = TextField(null=True)
    actions_taken = TextField(null=True)
    reportable_reason = TextField(null=True)  # one line, whatever the answer
    override_reason = TextField(null=True)
    assessed_at = DateTimeField(null=True)
    # Service user informed
    informed_in_person_on = DateField(null=True)
    informed_in_writing_on = DateField(null=True)
    exemption_reason = TextField(null=True)
    skip_reason = TextField(null=True)
    informed_at = DateTimeField(null=True)
    # Referred to the ICO (at any stage before the decision; it stops the 72-hour clock)
    ico_referred = BooleanField(null=True)
    ico_referred_at = DateTimeField(null=True)
    ico_reference = CharField(null=True)
    ico_told_by = CharField(null=True)
    ico_recorded_by = ForeignKeyField(User, null=True)
    delay_reason = TextField(null=True)
    # How the ICO ended its case (a referred case closes only once it is on record)
    ico_outcome = CharField(null=True, max_length=20)
    ico_outcome_on = DateField(null=True)
    ico_outcome_note = TextField(null=True)
    ico_outcome_by, ico_outcome_at = who_and_when()
    # What the ICO is told, written for it with no personal data (the ICO draft's only text)
    ico_summary = TextField(null=True)
    ico_late_reason = TextField(null=True)
    containment_actions = TextField(null=True)  # comma-separated keys
    ico_summary_by, ico_summary_at = who_and_when()
    # The Caldicott Guardian's agreement, before the decision
    caldicott_agreed_by, caldicott_agreed_at = who_and_when()
    caldicott_advice = TextField(null=True)
    # Decided
    decided_by, decided_at = who_and_when()
    caldicott_consulted = CharField(null=True)  # before agreements were recorded: a name
    legal_advice = BooleanField(null=True)
    disciplinary = BooleanField(null=True)
    not_referred_reason = TextField(null=True)
    regulator = CharField(null=True)
    # Closed
    closed_by, closed_at = who_and_when()
    report_complete = BooleanField(default=False)
    lessons_learned = TextField(null=True)
    # When its free text was erased under the retention policy (services/retention.py).
    erased_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("team", "state"), False),)

    @property
    def data_category_list(self) -> list[str]:
        return [c for c in (self.data_categories or "").split(",") if c]

    @property
    def containment_action_list(self) -> list[str]:
        return [c for c in (self.containment_actions or "").split(",") if c]

    def staff_choices(self) -> list[User]:
        """Whose conduct the decision may name: the case's team's staff (kiosk accounts are
        no one's conduct) and whoever the case names now, by name."""
        kiosks = UserRole.select(UserRole.user).where(
            UserRole.role.in_(sorted(roles_that(Can.KIOSK_DEVICE)))
        )
        members = User.select().where(
            ((User.team == self.team_id) & User.active & User.id.not_in(kiosks))
            | (User.id == self.staff_member_id)
        )
        return list(members.order_by(User.display_name, User.id))

    def open_action_count(self) -> int:
        """Its actions to prevent the next breach that are neither done nor not needed."""
        return self._open_count("actions")

    def open_ico_item_count(self) -> int:
        """What the ICO is still owed on this case: questions and follow-up reports open."""
        return self._open_count("ico_items")

    def _open_count(self, backref: str) -> int:
        # Counted once for a whole list by with_open_counts, else asked of the database
        # through the backref models.follow_through declares (it imports this module).
        counted = getattr(self, "_open_counts", None)
        if counted is not None:
            return counted.get(backref, 0)
        if self.id is None:
            return 0
        rows = getattr(self, backref)
        return rows.where(rows.model.state == "open").count()

    @classmethod
    def with_open_counts(cls, cases: list[Breach]) -> list[Breach]:
        """Count the open follow-through of every case in the list in one statement per
        kind, so the close and outcome guards of a whole list read no more rows."""
        decided = {case.id: case for case in cases if case.state == "decided" or case.ico_referred}
        for case in cases:
            case._open_counts = {}
        # Asked even for a list with no decided case, or none at all: a page costs the same
        # statements whichever cases it happens to show (tests/http/test_volume.py).
        for backref in ("actions", "ico_items"):
            model = getattr(cls, backref).rel_model
            counts = (
                model.select(model.breach, fn.COUNT(model.id))
                .where(model.breach.in_(sorted(decided)), model.state == "open")
                .group_by(model.breach)
                .tuples()
            )
            for breach_id, count in counts:
                decided[breach_id]._open_counts[backref] = count
        return cases

    def told_recipients(self, now: dt.datetime | None = None) -> set[str]:
        """The notification list's keys already on record (typed in, or e-mailed and not
        known to have failed nor left undelivered past the hour: nobody counts as told who
        was not)."""
        if self.id is None:
            return set()
        return {
            r
            for (r,) in Notification.select(Notification.recipient)
            .join(Delivery, JOIN.LEFT_OUTER, on=(Notification.delivery == Delivery.id))
            .where(Notification.breach == self.id, counts_as_told(now or utcnow()))
            .tuples()
        }

    def visible_to(self, user: User) -> bool:
        """Need to know (machines.breach_rules.may_read_case)."""
        return may_read_case(user.as_actor(), self)

    @functools.cached_property
    def holder_manager_id(self) -> int | None:
        """The line manager, now, of the person whose papers they were (the reporter when
        the case names no one): the one services.reminders e-mails about a loss or theft."""
        person = self.staff_member_id or self.reported_by_id
        return User.select(User.line_manager).where(User.id == person).scalar()

    @classmethod
    def is_open(cls):
        """Not closed yet, as the condition of the partial indexes of open cases below.

        The machine stamps closed_at on the way into its final state (a unit test holds it
        to that), so this is `state != "closed"`; unlike that, it needs no parameter, so
        SQLite can match it to those indexes, and the few open cases are read in the order
        of discovery instead of walking past the thousands of closed ones.
        """
        return cls.closed_at.is_null()

    @classmethod
    def _seen_through(cls, user: User, one_by_one: bool = False) -> list | None:
        """How a person may see cases, as conditions (any one will do), each counted or paged
        on its own and joined by UNION; None for every case: machines.breach_rules.
        may_read_case as SQL (visible_query is the same rule as one condition).

        `one_by_one`: the holder's manager's relations as a pair for each person they manage
        now, each walking that person's own cases newest first on an index and stopping at
        the page's end (asked of them all at once, the database read every case of every one
        of them over the years, to sort them). Only where the people are values, not in a
        statement compiled once per shape (waiting_for)."""
        if user.can(Can.HANDLE_EVERY_BREACH):
            return None

        loss_or_theft = cls.category.in_(sorted(POLICE_CATEGORIES))
        own = [cls.reported_by == user.id, cls.reporter_manager == user.id]
        if one_by_one:
            managed = User.select(User.id).where(User.line_manager == user.id).order_by(User.id)
            return own + [
                relation & loss_or_theft
                for (person_id,) in managed.tuples()
                for relation in (
                    cls.staff_member == person_id,
                    (cls.reported_by == person_id) & cls.staff_member.is_null(),
                )
            ]

        # The holder's manager reads a loss or theft of papers: the holder is
        # COALESCE(staff_member, reported_by). Found from the people they manage, then each
        # one's cases by the staff_member or reported_by index; the category is checked on
        # those few (given inside, SQLite walked every loss by the category index instead).
        def cases_held_by_managed(holder):
            return (
                cls.select(cls.id)
                .join(User, on=(holder == User.id))
                .where(User.line_manager == user.id)
            )

        return own + [
            cls.id.in_(cases_held_by_managed(cls.staff_member)) & loss_or_theft,
            cls.id.in_(cases_held_by_managed(cls.reported_by))
            & cls.staff_member.is_null()
            & loss_or_theft,
        ]

    @classmethod
    def visible_query(cls, user: User):
        """The cases this person may see: machines.breach_rules.may_read_case as SQL, as
        one condition, for the boards' few open cases (a list's pages: visible_page)."""
        query = cls.select()
        if not user.can(Can.HANDLE_EVERY_BREACH):
            query = query.where(cls.seen_through_reports(user.id))
        return query

    @classmethod
    def seen_through_reports(cls, user_id: int):
        """visible_query's condition for someone without a breach role: the cases they
        reported, their reports reported, and their reports' losses and thefts of papers."""
        return reduce(or_, cls.reports_relations(user_id))

    @classmethod
    def reports_relations(cls, user_id: int, by_category: bool = False) -> list:
        """seen_through_reports's four relations, each a condition on its own (any one will do).
        `by_category`: the holder's manager's found by the category too (one stage's open
        cases: models/breach_stages.py, on the indexes by holder, state and category)."""
        managed = User.select(User.id).where(User.line_manager == user_id)
        return cls.own_relations(user_id) + cls.held_relations(
            lambda column: column.in_(managed), by_category
        )

    @classmethod
    def own_relations(cls, user_id: int) -> list:
        """The cases this person reported, and those their reports reported."""
        return [cls.reported_by == user_id, cls.reporter_manager == user_id]

    @classmethod
    def held_relations(cls, held_by, by_category: bool = False) -> list:
        """The holder's manager's: the losses and thefts of papers whose holder is one
        `held_by(column)` accepts (the person's reports; or one of them, as a value)."""
        # The holder, COALESCE(staff_member, reported_by), spelt in two terms that each find
        # their rows by an index (a few people's cases among thousands). Otherwise the
        # category is checked on those few, never used to find them ("|| ''" keeps it off
        # its index): SQLite without statistics walked every loss and theft ever.
        category = cls.category if by_category else cls.category.concat("")
        loss_or_theft = category.in_(sorted(POLICE_CATEGORIES))
        return [
            loss_or_theft & held_by(cls.staff_member),
            loss_or_theft & cls.staff_member.is_null() & held_by(cls.reported_by),
        ]

    @classmethod
    def count_visible(cls, user: User, bound: int | None = None) -> tuple[int, bool]:
        """How many cases this person may see, counted no further than `bound` (None: every
        one), and whether there are more than that."""
        relations = cls._seen_through(user, one_by_one=True)
        if relations is None:
            return Tally.of("breach"), False  # kept by the database: models/tallies.py
        # Each relation counted on its own index; the union drops a case seen through both.
        parts = [cls.select(cls.id).where(relation) for relation in relations]
        if bound is not None:
            # Each relation stops one past the bound: if any reaches it there are more, and
            # if none does, each was read whole and the union's count is exact. A person's
            # own cases pile up with the years; a count of them all would too.
            limited = [part.limit(bound + 1) for part in parts]
            parts = [cls.select(part.c.id).from_(part) for part in limited]
        ids = reduce(or_, parts)
        counted = cls.select(fn.COUNT(SQL("*"))).from_(ids.alias("seen")).scalar()
        if bound is not None and counted > bound:
            return bound, True
        return counted, False

    @classmethod
    def _first_ids(cls, parts: list[tuple], order: tuple):
        """The ids of the first rows (in `order`) under each (condition, how many) part, as
        one UNION: each part walks its own index in that order and stops at its limit."""
        firsts = [cls.select(cls.id).where(c).order_by(*order).limit(n) for c, n in parts]
        return reduce(or_, [cls.select(first.c.id).from_(first) for first in firsts])

    @classmethod
    def visible_page(cls, user: User, offset: int, limit: int) -> list[Breach]:
        """A page of the cases this person may see, the most recently discovered first.

        Through their own relations, each relation walks its index in the list's order and
        stops at the page's end: one condition with OR would sort every case of both.
        """
        order = (cls.discovered_at.desc(), cls.id)
        relations = cls._seen_through(user, one_by_one=True)
        query = cls.select()
        if relations is not None:
            parts = [
                (relation & stage, offset + limit)
                for relation in relations
                for stage in (cls.is_open(), cls.closed_at.is_null(False))
            ]
            query = query.where(cls.id.in_(cls._first_ids(parts, order)))
        return list(query.order_by(*order).limit(limit).offset(offset))

    @classmethod
    def states_to_act_in(cls, actor: Actor) -> Mapping[str, frozenset[str]]:
        """Where this person could move some case on, by how they stand to it.

        Keys: "reporter" (they reported it), "manager" (they manage the reporter), "any" (by
        role alone). The machine answers, asked about unsaved probe cases in each open state:
        the rules live in its guards only. A superset is harmless (the machine decides again
        for each real case); a state left out would hide cases, hence the probe facts.
        """
        return _states_to_act_in(actor)

    @classmethod
    def waiting_for(
        cls, user: User, now: dt.datetime, scan: int = WAITING_SCAN
    ) -> tuple[list[tuple[Breach, list[str]]], bool]:
        """The open cases this person may see and can move on now, oldest discovery first,
        each with the events the machine enables for them; and whether rows were left unread.

        One statement whatever the volume: SQL keeps to the states from which the person
        could have an event (states_to_act_in) and reads at most `scan` rows (plus one, to
        know there are more); the machine decides for each of those.
        """
        actor = user.as_actor()
        states = cls.states_to_act_in(actor)
        if not any(states.values()):
            return [], False
        # The SQL depends on the states and the person's roles; the person and `scan` are
        # its values (one row more than `scan` says there are more).
        shape = (PersonShape.of(user), tuple(sorted(states.items())))
        rows = _WAITING.rows(shape, **person_values(user), limit=scan + 1)
        waiting = []
        for breach in cls.with_open_counts(rows[:scan]):
            events = waiting_events(
                enabled_events(BreachMachine, breach, actor, now), breach, actor
            )
            if events:
                waiting.append((breach, events))
        return waiting, len(rows) > scan

    @classmethod
    def _waiting_query(cls, person, states: Mapping[str, frozenset[str]], limit: int):
        """waiting_for's one statement: at most `limit` open cases in these states."""
        # One part per state and relation, each read along an index of open cases in the
        # list's order and stopped at `limit`: with OR and IN, the database would sort them all.
        wanted = [(None, state) for state in sorted(states["any"])]
        for relation, column in (("reporter", cls.reported_by), ("manager", cls.reporter_manager)):
            wanted += [(column, state) for state in sorted(states[relation] - states["any"])]
        parts = []
        for column, state in wanted:
            condition = cls.is_open() & (cls.state == state)
            if column is not None:  # the person's own relation: one they may see through
                parts.append((condition & (column == person.id), limit))
                continue
            for relation in cls._seen_through(person) or [None]:
                parts.append((condition if relation is None else condition & relation, limit))
        order = (cls.discovered_at, cls.id)
        return (
            cls.select()
            .where(cls.id.in_(cls._first_ids(parts, order)))
            .order_by(*order)
            .limit(limit)
        )

    @classmethod
    def next_reference(cls, now: dt.datetime) -> str:
        """BR-<year>-<number>: the next number of the year's series, taken in the caller's
        write transaction so that cases reported at the same moment never share one."""
        year = f"{now:%Y}"
        return reference_for(year, Counter.take(f"breach-{year}", start=lambda: highest(year)))

    @classmethod
    def open_case(
        cls,
        cleaned: dict,
        reporter: User,
        now: dt.datetime,
        *,
        case_id: str | None = None,
        removal: Removal | None = None,
        dispatch: Dispatch | None = None,
    ) -> Breach:
        """Create a case in `reported` with its audit event; call inside a write transaction."""
        from models.audit import AuditEvent

        fields = {k: v for k, v in cleaned.items() if k in cls._meta.fields}
        # People type times to the minute (datetime-local), and the checks compare what they
        # type with these: a case opened automatically (now, to the microsecond) would
        # otherwise refuse a notification typed in the very minute of its discovery.
        for key in ("happened_at", "discovered_at"):
            if isinstance(fields.get(key), dt.datetime):
                fields[key] = to_minute(fields[key])
        fields["data_categories"] = ",".join(cleaned.get("data_categories") or [])
        if fields.get("police_reference"):
            fields["police_recorded_at"] = now
        if fields.get("line_manager_told"):
            fields.update(line_manager_told_by=reporter.id, line_manager_told_at=now)
        # Whose conduct is in question until the decision says otherwise: whoever held the
        # lost papers, sent the misdirected documents, or reported it.
        if removal is not None:
            staff_member = removal.for_user_id
        elif dispatch is not None:
            staff_member = dispatch.sent_by_id or dispatch.drafted_by_id
        else:
            staff_member = reporter.id
        breach = cls.create(
            reference=cls.next_reference(now),
            team=reporter.team_id,
            reported_by=reporter.id,
            reporter_manager=reporter.line_manager_id,
            reported_at=now,
            case_id=case_id or (removal.record.case_id if removal else None),
            record=removal.record_id if removal else None,
            removal=removal,
            dispatch=dispatch,
            staff_member=staff_member,
            **fields,
        )
        AuditEvent.append(
            at=now,
            actor_id=reporter.id,
            entity_type="breach",
            entity_id=breach.id,
            event="report",
            target="reported",
            entity_version=breach.version,
            summary={
                "category": breach.category,
                "reference": breach.reference,
                "removal": removal.id if removal else None,
                "dispatch": dispatch.id if dispatch else None,
            },
        )
        return breach

    @classmethod
    def open_for_lost_removal(
        cls, removal: Removal, reporter: User, now: dt.datetime, facts: dict
    ) -> Breach:
        """The breach case a lost removal opens, pre-filled from the removal, with the facts
        asked when the papers were reported (lost or stolen; children or vulnerable adults;
        special category data; None where not known yet)."""
        record = removal.record
        cleaned = {
            "what_happened": (
                f"Papers reported lost while out of the office: {removal.papers} "
                f"({record.description}, label {record.label_code}). "
                f"Last seen: {removal.last_seen_where or 'not known'}."
            ),
            "happened_at": removal.last_seen_at or now,
            "discovered_at": now,
            "category": facts["category"],
            "children_or_vulnerable": facts["children_or_vulnerable"],
            "special_category": facts["special_category"],
            "data_categories": [],
            "records_affected": 1,
            "people_affected": 1,
            "data_left_control": True,
        }
        return cls.open_case(cleaned, reporter, now, removal=removal)

    # Called by the breach machine's notify action.
    def record_notifications(self, notifications: dict, actor, now: dt.datetime) -> None:
        for recipient, entry in notifications.items():
            Notification.create(
                breach=self,
                recipient=recipient,
                who=entry["who"],
                at=entry["at"],
                recorded_by=actor.id,
                recorded_at=now,
            )

    def record_emailed(
        self, recipient: User, roles: list[str], now: dt.datetime, delivery: Delivery | None = None
    ) -> None:
        """An email about this case went to `recipient`: on the notification list under each
        of their roles the list names, with its audit event; call in a write transaction."""
        from models.audit import AuditEvent

        for role in roles:
            Notification.create(
                breach=self,
                recipient=role,
                who=recipient.display_name,
                at=now,
                recorded_by=None,
                recorded_at=now,
                emailed=True,
                delivery=delivery,
            )
        AuditEvent.append(
            at=now,
            actor_id=None,
            entity_type="breach",
            entity_id=self.id,
            event="emailed",
            summary={"told": ", ".join(roles)},
        )

    def record_line_manager_emailed(
        self, manager: User, now: dt.datetime, delivery: Delivery | None = None
    ) -> None:
        """The line manager of the person whose papers were lost or stolen was emailed: on the
        notification list, and the case's "line manager told" is that email (a versioned
        save with its audit event); call in a write transaction on a freshly read row."""
        from models.audit import AuditEvent

        Notification.create(
            breach=self,
            recipient=LINE_MANAGER_KEY,
            who=manager.display_name,
            at=now,
            recorded_by=None,
            recorded_at=now,
            emailed=True,
            delivery=delivery,
        )
        if not self.line_manager_told:
            self.line_manager_told = True
            self.line_manager_told_by = None
            self.line_manager_told_at = now
        self.save_versioned()
        AuditEvent.append(
            at=now,
            actor_id=None,
            entity_type="breach",
            entity_id=self.id,
            event="emailed",
            source=self.state,
            target=self.state,
            entity_version=self.version,
            summary={"told": LINE_MANAGER_KEY},
        )


# On a case's notification list: the line manager of the person whose papers they were.
LINE_MANAGER_KEY = "line_manager"


@functools.lru_cache(maxsize=512)
def _states_to_act_in(actor: Actor) -> Mapping[str, frozenset[str]]:
    # Guards are pure functions of the person and the case: the answer for one Actor (a
    # frozen value: id, roles, team, manager) never changes, so it is worked out once.
    relations = {
        "reporter": {"reported_by": actor.id, "reporter_manager": None},
        "manager": {"reported_by": None, "reporter_manager": actor.id},
        "any": {"reported_by": None, "reporter_manager": None},
    }
    found: dict[str, frozenset[str]] = {}
    for relation, people in relations.items():
        states = set()
        for state in OPEN_STATES:
            for facts in _PROBE_FACTS:
                probe = Breach(state=state, team=actor.team_id, **people, **facts)
                # Guards do not read the clock; `now` is passed as every caller does.
                events = enabled_events(BreachMachine, probe, actor, dt.datetime.min)
                if waiting_events(events, probe, actor):
                    states.add(state)
                    break
        found[relation] = frozenset(states)
    return MappingProxyType(found)


# Every home page asks it (models/prepared.py: why it is compiled once per shape).
_WAITING = PreparedByShape(
    lambda shape, person_id, team_id, limit: Breach._waiting_query(
        shape[0].person(person_id, team_id), dict(shape[1]), limit
    ),
    **PERSON_KINDS,
    limit=int,
)

# The lists at volume (tests/http/test_query_plans.py): open cases oldest first, everyone's
# and by how a person stands to them.
for _name, _columns in (
    ("breach_open", (Breach.discovered_at,)),
    ("breach_open_state", (Breach.state,)),  # the board's count of open cases per stage
    ("breach_open_reported_by", (Breach.reported_by, Breach.discovered_at)),
    ("breach_open_reporter_manager", (Breach.reporter_manager, Breach.discovered_at)),
):
    Breach.add_index(Breach.index(*_columns, where=Breach.is_open(), name=_name))

# The lists whatever their length (migration 26): a person's closed cases newest first (the
# breach list's order; their open ones come from the indexes above), and the register's
# filters newest first, each walked in order and stopped at the page's end. Partial, the
# closed cases' indexes cannot be taken for the open ones, which are few.
for _name, _columns in (
    ("breach_closed_reported_by", (Breach.reported_by, Breach.discovered_at.desc(), Breach.id)),
    (
        "breach_closed_reporter_manager",
        (Breach.reporter_manager, Breach.discovered_at.desc(), Breach.id),
    ),
    # The cases of each person a line manager manages, as their holder (migration 29).
    ("breach_closed_staff_member", (Breach.staff_member, Breach.discovered_at.desc(), Breach.id)),
):
    Breach.add_index(Breach.index(*_columns, where=Breach.closed_at.is_null(False), name=_name))
Breach.add_index(
    Breach.index(
        Breach.staff_member,
        Breach.discovered_at,
        where=Breach.is_open(),
        name="breach_open_staff_member",
    )
)
# Cases that name no holder, whose reporter is taken for one: few or none (cases name the
# holder since migration 10), so a line manager's "their reports' losses reported with no
# holder named" reads those few, not every case each report ever reported.
Breach.add_index(
    Breach.index(
        Breach.reported_by,
        Breach.discovered_at.desc(),
        Breach.id,
        where=Breach.staff_member.is_null(),
        name="breach_no_staff_member_reported_by",
    )
)
# "Waiting for you" (Breach.waiting_for): a person's own open cases, one state at a time, in
# the order of discovery (migration 32). By the person alone, each state's part walked every
# open case they reported or manage the reporter of, to find the few in that state.
for _name, _column in (
    ("breach_open_reported_by_state", Breach.reported_by),
    ("breach_open_reporter_manager_state", Breach.reporter_manager),
):
    Breach.add_index(
        Breach.index(
            _column,
            Breach.state,
            Breach.discovered_at,
            Breach.id,
            where=Breach.is_open(),
            name=_name,
        )
    )
for _name, _columns in (
    ("breach_category_discovered", (Breach.category, Breach.discovered_at, Breach.id)),
    ("breach_state_discovered", (Breach.state, Breach.discovered_at, Breach.id)),
    ("breach_team_discovered", (Breach.team, Breach.discovered_at, Breach.id)),
):
    Breach.add_index(Breach.index(*_columns, name=_name))


class Notification(BaseModel):
    """One person or body told about a breach: who was told and when."""

    breach = ForeignKeyField(Breach, backref="notifications", on_delete="CASCADE")
    recipient = CharField()
    who = CharField()
    at = DateTimeField()
    recorded_by = ForeignKeyField(User, null=True)  # None: Safekeep's own email
    recorded_at = DateTimeField()
    emailed = BooleanField(default=False)
    # The e-mail that told them (Safekeep's own e-mails since delivery is known): a failed
    # one, or one not delivered within the hour, does not count as telling anyone.
    delivery = ForeignKeyField(Delivery, null=True, on_delete="SET NULL")


def _open_count(rows) -> int:
    """How many of a case's follow-through rows (a backref's query) are open."""
    return rows.where(rows.model.state == "open").count()
