"""How many open breach cases a board shows at each stage, whatever the volume.

For those who handle every breach, the count is every open case of the board's team (or of
every team): summed case by case it read each of them, and the open work grows with the
council. Here each (stage, team) has one row holding its number, kept by the database's own
triggers exactly as the removals' tally (models/removal_tallies.py): in the transaction of
every insert, delete and change of state or team, so no write path can forget it, a rolled
back change takes its count back, and two servers writing at once add to what the other left
(`INSERT ... ON CONFLICT DO UPDATE`). Only open cases are counted: the stages listed in the
triggers are the breach machine's states that are not final, read from it when the triggers
are written (OPEN_STATES), not a list typed here.

A line manager sees the cases their reports raised (Breach.seen_through_reports: four
relations, any one will do). Those overlap, and the holder's manager changes when an admin
edits a person: no tally by key can add them up. Their count is bounded instead: at each
stage, each relation reads at most BOUND + 1 rows along its own index, the union drops a case
seen through two, and a stage that reaches past BOUND is shown as "more than BOUND". The
oldest ten they see are found the same way: each relation walks its index in the order of
discovery and stops at ten, the holder's manager's a managed person at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_

from peewee import JOIN, SQL, CharField, CompositeKey, IntegerField, Value, fn

from models.base import BaseModel, is_postgres
from models.breaches import OPEN_STATES, Breach
from models.people import User
from models.removal_tallies import keyed_tally_trigger_sql

KEY = ("state", "team_id")

# A line manager's count at each stage stops here: a board is a summary, and past a hundred
# open cases at one stage the number matters less than that there are that many (the breach
# list holds them all). Each relation reads at most 100 rows a stage, 2,000 at worst, whatever
# the volume; their own cases at one stage rarely come near it.
BOUND = 99


class BreachStageTally(BaseModel):
    """How many open breach cases of team `team_id` are at stage `state`."""

    state = CharField(max_length=30)
    team_id = IntegerField()
    total = IntegerField(default=0)

    class Meta:
        table_name = "breach_stage_tally"
        primary_key = CompositeKey(*KEY)


def _counted(row: str) -> str:
    """The SQL condition for a case (`NEW.`, `OLD.` or a transition table's row) to count."""
    states = ", ".join(f"'{state}'" for state in OPEN_STATES)
    return f'{row}"state" IN ({states})'


def breach_stage_trigger_sql(postgres: bool) -> list[str]:
    """The statements that keep the open cases' tally as cases are added, removed or move."""
    return keyed_tally_trigger_sql("breach", "breach_stage_tally", KEY, postgres, _counted)


def backfill_sql() -> str:
    """Count every open case there is now into the tally (the step that makes it)."""
    columns = ", ".join(f'"{column}"' for column in KEY)
    return (
        f'INSERT INTO "breach_stage_tally" ({columns}, "total") SELECT {columns}, COUNT(*) '
        f'FROM "breach" WHERE {_counted("")} GROUP BY {columns}'
    )


def make_in_step(m) -> None:
    """Migration 33: the table as it is on that day, its triggers, then its first counts."""

    class BreachStageTally(m.Model):
        state = CharField(max_length=30)
        team_id = IntegerField()
        total = IntegerField(default=0)

        class Meta:
            table_name = "breach_stage_tally"
            primary_key = CompositeKey(*KEY)

    m.create_tables(BreachStageTally)
    # Triggers before the backfill, as migration 31: on PostgreSQL CREATE TRIGGER holds off
    # other writers to breach until the step commits, so no change falls between the two.
    for statement in breach_stage_trigger_sql(m.is_postgres):
        m.sql(statement)
    m.sql(backfill_sql())
    # A line manager's bounded count, for the holder's manager: each managed person's open
    # losses and thefts at one stage, found on an index (Breach's indexes of that name).
    no_holder = ' AND "staff_member_id" IS NULL'
    for name, columns, where in (
        ("breach_open_staff_member_state", '"staff_member_id", "state", "category"', ""),
        ("breach_open_no_staff_member_state", '"reported_by_id", "state", "category"', no_holder),
        # and the board's oldest ten of those that name no holder, a person at a time
        ("breach_open_no_staff_member", '"reported_by_id", "discovered_at", "id"', no_holder),
    ):
        m.sql(f'CREATE INDEX "{name}" ON "breach" ({columns}) WHERE "closed_at" IS NULL{where}')


# Breach's indexes for a line manager's board (migration 33): each stage's open losses and
# thefts of papers held by the people they manage, a person, stage and category at a time
# (found by the person alone, each stage read every open case of theirs). The cases that
# name no holder, the reporter's, have their own: few, and not walked past the others.
for _name, _column, _where in (
    ("breach_open_staff_member_state", Breach.staff_member, Breach.is_open()),
    (
        "breach_open_no_staff_member_state",
        Breach.reported_by,
        Breach.is_open() & Breach.staff_member.is_null(),
    ),
):
    Breach.add_index(Breach.index(_column, Breach.state, Breach.category, where=_where, name=_name))
# And the board's oldest ten of those that name no holder, a managed person at a time.
Breach.add_index(
    Breach.index(
        Breach.reported_by,
        Breach.discovered_at,
        Breach.id,
        where=Breach.is_open() & Breach.staff_member.is_null(),
        name="breach_open_no_staff_member",
    )
)


def tallied_stages(teams: Iterable[int] | None):
    """A query of (stage, how many) open cases in these teams (every team: None), from the
    tally: one row read per stage and team."""
    tally = BreachStageTally
    query = tally.select(tally.state, fn.SUM(tally.total)).where(tally.total != 0)
    if teams is not None:
        query = query.where(tally.team_id.in_(list(teams)))
    return query.group_by(tally.state).tuples()


def bounded_stages(user_id: int):
    """A query of (stage, how many) open cases this person sees through their reports
    (Breach.reports_relations), counted no further than BOUND + 1 a relation: a count above
    BOUND means more than BOUND."""
    counts = []
    for state in OPEN_STATES:
        # Each relation along its own index of open cases, stopped one past the bound.
        parts = [
            Breach.select(Breach.id)
            .where(relation, Breach.is_open(), Breach.state == state)
            .limit(BOUND + 1)
            for relation in Breach.reports_relations(user_id, by_category=True)
        ]
        seen = reduce(or_, [Breach.select(part.c.id).from_(part) for part in parts])
        counts.append(
            Breach.select(Value(state).alias("state"), fn.COUNT(SQL("*")).alias("total")).from_(
                seen.alias("seen")
            )
        )
    # Selected from, so that the statement starts with SELECT on either database.
    stages = reduce(lambda a, b: a.union_all(b), counts).alias("stages")
    return Breach.select(stages.c.state, stages.c.total).from_(stages).tuples()


def first_open_seen_through_reports(user_id: int, limit: int):
    """The first `limit` open cases, oldest discovery first, this person sees through their
    reports (Breach.reports_relations): each relation walks its index of open cases in that
    order and stops at `limit`, the holder's manager's a managed person at a time (asked of
    them all at once, the database read every open case of every one of them, to sort)."""
    order = (Breach.discovered_at, Breach.id)
    firsts = [
        Breach.select(Breach.id).where(relation, Breach.is_open()).order_by(*order).limit(limit)
        for relation in Breach.own_relations(user_id)
    ]
    person = User.alias("managed")
    for relation in Breach.held_relations(lambda column: column == person.id, by_category=True):
        theirs = (
            Breach.select(Breach.id).where(relation, Breach.is_open()).order_by(*order).limit(limit)
        )
        if is_postgres():
            # Each person's first few, joined LATERAL: PostgreSQL does not run a correlated
            # IN per person as SQLite does, but tests every open case against it.
            each = theirs.alias("theirs")
            found = person.select(each.c.id).join(each, JOIN.LATERAL, on=SQL("true"))
        else:
            case = Breach.alias("held")
            found = person.select(case.id).join(case, on=case.id.in_(theirs))
        firsts.append(found.where(person.line_manager == user_id))
    ids = reduce(or_, [Breach.select(first.c.id).from_(first) for first in firsts])
    return Breach.select().where(Breach.id.in_(ids)).order_by(*order).limit(limit)
