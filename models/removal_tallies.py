"""How many removals each team has in each state, by due date, kept by the database: a board's
figures (asked for, out, overdue) without a pass over the team's open removals.

Summing a team's requests and papers out row by row reads every one of them, and the work in
hand grows with the council. Here each (state, team, due date) has one row holding its number,
moved by the database's own triggers in the transaction of every insert, delete, change of
state, team or due date, so no write path (a transition, an import, the volume seed, a cron
command, retention) can forget it, and a rolled-back change takes its count back with it.

"Overdue" depends on today's date, which no trigger can follow; keeping the due date in the key
makes it a range: the papers out with a due date before today, one row per distinct date, not
per removal. A row whose number falls to nought is deleted, so the dates read are only those
that still have papers out (or asked for).

Two servers writing at once cannot lose a count, as models/tallies.py: the trigger's
`INSERT ... ON CONFLICT DO UPDATE SET total = total + n` locks the row until that transaction
ends (a row lock on PostgreSQL, BEGIN IMMEDIATE's write lock on SQLite), so the second adds
to what the first left. On PostgreSQL each statement moves each row it touches once, in key
order (a bulk change of many removals cannot deadlock with another).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import Case, CharField, CompositeKey, DateField, IntegerField, fn

from models.base import BaseModel

KEY = ("state", "team_id", "due_on")


class RemovalTally(BaseModel):
    """How many removals of team `team_id` are in `state` and due on `due_on`."""

    state = CharField(max_length=30)
    team_id = IntegerField()
    due_on = DateField()
    total = IntegerField(default=0)

    class Meta:
        table_name = "removal_tally"
        primary_key = CompositeKey(*KEY)


def in_scope(teams: Iterable[int] | None):
    """The tally rows of these teams (every team: None)."""
    return True if teams is None else RemovalTally.team_id.in_(list(teams))


def _overdue(today: dt.date):
    """The tally rows of removals out and due before today (one row a due date)."""
    return (RemovalTally.state == "out") & (RemovalTally.due_on < today)


def open_figures(teams: list[int] | None, today: dt.date):
    """A query of one row: `pending` (asked for), `out` and `overdue` (out, due before today)
    among these teams' removals; one tally row read per team, state and due date."""
    tally = RemovalTally

    def total_where(condition):
        return fn.COALESCE(fn.SUM(Case(None, ((condition, tally.total),), 0)), 0)

    return tally.select(
        total_where(tally.state == "requested").alias("pending"),
        total_where(tally.state == "out").alias("out"),
        total_where(_overdue(today)).alias("overdue"),
    ).where(tally.state.in_(("requested", "out")), in_scope(teams))


def overdue_count(teams: list[int] | None, today: dt.date) -> int:
    """How many removals of these teams are out and due before today."""
    tally = RemovalTally
    return (
        tally.select(fn.COALESCE(fn.SUM(tally.total), 0))
        .where(_overdue(today), in_scope(teams))
        .scalar()
    )


_COLUMNS = ", ".join(f'"{column}"' for column in KEY)


def _upsert(changes: str) -> str:
    """Add each (state, team, due date)'s `n` from the rows `changes` selects (key and n)."""
    return (
        f'INSERT INTO "removal_tally" ({_COLUMNS}, "total") {changes} '
        f'ON CONFLICT ({_COLUMNS}) DO UPDATE SET "total" = "removal_tally"."total" + '
        'excluded."total";'
    )


def _drop_noughts(rows: str) -> str:
    """Delete the tally rows at nought among the keys of `rows` (a transition table)."""
    return (
        f'DELETE FROM "removal_tally" WHERE "total" = 0 AND ({_COLUMNS}) IN '
        f'(SELECT {_COLUMNS} FROM "{rows}");'
    )


def removal_tally_trigger_sql(postgres: bool) -> list[str]:
    """The statements that keep the removal tally as removals are added, removed or change."""
    new = ", ".join(f'NEW."{column}"' for column in KEY)
    old = ", ".join(f'OLD."{column}"' for column in KEY)
    changed = " OR ".join(f'OLD."{column}" IS NOT NEW."{column}"' for column in KEY)
    if not postgres:
        # SQLite's upsert needs a WHERE after a SELECT to tell its ON from a join's.
        add = _upsert(f"SELECT {new}, 1 WHERE true")
        take = _upsert(f"SELECT {old}, -1 WHERE true")
        at_old = " AND ".join(f'"{column}" = OLD."{column}"' for column in KEY)
        drop = f'DELETE FROM "removal_tally" WHERE "total" = 0 AND {at_old};'
        return [
            f'CREATE TRIGGER "removal_tally_insert" AFTER INSERT ON "removal" BEGIN {add} END',
            f'CREATE TRIGGER "removal_tally_delete" AFTER DELETE ON "removal" BEGIN '
            f"{take} {drop} END",
            f'CREATE TRIGGER "removal_tally_change" AFTER UPDATE OF {_COLUMNS} ON "removal" '
            f"WHEN {changed} BEGIN {take} {add} {drop} END",
        ]

    def grouped(rows: str) -> str:
        return (
            f"SELECT {_COLUMNS}, SUM(n) FROM ({rows}) AS moved GROUP BY {_COLUMNS} "
            f"HAVING SUM(n) <> 0 ORDER BY {_COLUMNS}"
        )

    added = f'SELECT {_COLUMNS}, 1 AS n FROM "added"'
    removed = f'SELECT {_COLUMNS}, -1 AS n FROM "removed"'
    bodies = {
        "insert": _upsert(grouped(added)),
        "delete": _upsert(grouped(removed)) + " " + _drop_noughts("removed"),
        "update": _upsert(grouped(f"{added} UNION ALL {removed}")) + " " + _drop_noughts("removed"),
    }
    # Transition tables allow one event a trigger, and no column list: an update that moves
    # no key nets to nothing and writes nothing.
    referencing = {
        "insert": 'NEW TABLE AS "added"',
        "delete": 'OLD TABLE AS "removed"',
        "update": 'NEW TABLE AS "added" OLD TABLE AS "removed"',
    }
    statements = []
    for event, body in bodies.items():
        name = f"removal_tally_{event}"
        statements += [
            f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS '
            f"$$ BEGIN {body} RETURN NULL; END $$",
            f'CREATE TRIGGER "{name}" AFTER {event.upper()} ON "removal" REFERENCING '
            f'{referencing[event]} FOR EACH STATEMENT EXECUTE FUNCTION "{name}"()',
        ]
    return [
        *statements,
        'CREATE OR REPLACE FUNCTION "removal_tally_truncate"() RETURNS trigger LANGUAGE plpgsql '
        'AS $$ BEGIN DELETE FROM "removal_tally"; RETURN NULL; END $$',
        'CREATE TRIGGER "removal_tally_truncate" AFTER TRUNCATE ON "removal" '
        'FOR EACH STATEMENT EXECUTE FUNCTION "removal_tally_truncate"()',
    ]


def backfill_sql() -> str:
    """Count every removal there is now into the tally (the step that makes it)."""
    return (
        f'INSERT INTO "removal_tally" ({_COLUMNS}, "total") '
        f'SELECT {_COLUMNS}, COUNT(*) FROM "removal" GROUP BY {_COLUMNS}'
    )
