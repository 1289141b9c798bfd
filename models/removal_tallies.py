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
from collections.abc import Callable, Iterable

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


def _upsert(tally: str, key: tuple[str, ...], changes: str) -> str:
    """Add each key's `n` from the rows `changes` selects (key and n)."""
    columns = ", ".join(f'"{column}"' for column in key)
    return (
        f'INSERT INTO "{tally}" ({columns}, "total") {changes} '
        f'ON CONFLICT ({columns}) DO UPDATE SET "total" = "{tally}"."total" + '
        'excluded."total";'
    )


def _drop_noughts(tally: str, key: tuple[str, ...], rows: str) -> str:
    """Delete the tally rows at nought among the keys of `rows` (a transition table)."""
    columns = ", ".join(f'"{column}"' for column in key)
    return (
        f'DELETE FROM "{tally}" WHERE "total" = 0 AND ({columns}) IN '
        f'(SELECT {columns} FROM "{rows}");'
    )


def keyed_tally_trigger_sql(
    table: str,
    tally: str,
    key: tuple[str, ...],
    postgres: bool,
    counted: Callable[[str], str] | None = None,
) -> list[str]:
    """The statements that keep `tally` (a row a `key`, named as `table`'s columns, and its
    `total`) as `table`'s rows are added, removed or change key. `counted(row)`: the SQL
    condition on a row (`NEW.`, `OLD.` or a transition table's bare columns) for it to be
    counted at all; None: every row."""
    columns = ", ".join(f'"{column}"' for column in key)
    new = ", ".join(f'NEW."{column}"' for column in key)
    old = ", ".join(f'OLD."{column}"' for column in key)
    changed = " OR ".join(f'OLD."{column}" IS NOT NEW."{column}"' for column in key)
    if not postgres:
        # SQLite's upsert needs a WHERE after a SELECT to tell its ON from a join's.
        add = _upsert(tally, key, f"SELECT {new}, 1 WHERE {counted('NEW.') if counted else 'true'}")
        take = _upsert(
            tally, key, f"SELECT {old}, -1 WHERE {counted('OLD.') if counted else 'true'}"
        )
        at_old = " AND ".join(f'"{column}" = OLD."{column}"' for column in key)
        drop = f'DELETE FROM "{tally}" WHERE "total" = 0 AND {at_old};'
        return [
            f'CREATE TRIGGER "{tally}_insert" AFTER INSERT ON "{table}" BEGIN {add} END',
            f'CREATE TRIGGER "{tally}_delete" AFTER DELETE ON "{table}" BEGIN {take} {drop} END',
            f'CREATE TRIGGER "{tally}_change" AFTER UPDATE OF {columns} ON "{table}" '
            f"WHEN {changed} BEGIN {take} {add} {drop} END",
        ]

    def grouped(rows: str) -> str:
        return (
            f"SELECT {columns}, SUM(n) FROM ({rows}) AS moved GROUP BY {columns} "
            f"HAVING SUM(n) <> 0 ORDER BY {columns}"
        )

    only = f" WHERE {counted('')}" if counted else ""
    added = f'SELECT {columns}, 1 AS n FROM "added"{only}'
    removed = f'SELECT {columns}, -1 AS n FROM "removed"{only}'
    drop = _drop_noughts(tally, key, "removed")
    bodies = {
        "insert": _upsert(tally, key, grouped(added)),
        "delete": _upsert(tally, key, grouped(removed)) + " " + drop,
        "update": _upsert(tally, key, grouped(f"{added} UNION ALL {removed}")) + " " + drop,
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
        name = f"{tally}_{event}"
        statements += [
            f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS '
            f"$$ BEGIN {body} RETURN NULL; END $$",
            f'CREATE TRIGGER "{name}" AFTER {event.upper()} ON "{table}" REFERENCING '
            f'{referencing[event]} FOR EACH STATEMENT EXECUTE FUNCTION "{name}"()',
        ]
    return [
        *statements,
        f'CREATE OR REPLACE FUNCTION "{tally}_truncate"() RETURNS trigger LANGUAGE plpgsql '
        f'AS $$ BEGIN DELETE FROM "{tally}"; RETURN NULL; END $$',
        f'CREATE TRIGGER "{tally}_truncate" AFTER TRUNCATE ON "{table}" '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{tally}_truncate"()',
    ]


def removal_tally_trigger_sql(postgres: bool) -> list[str]:
    """The statements that keep the removal tally as removals are added, removed or change."""
    return keyed_tally_trigger_sql("removal", "removal_tally", KEY, postgres)


def backfill_sql() -> str:
    """Count every removal there is now into the tally (the step that makes it)."""
    return (
        f'INSERT INTO "removal_tally" ({_COLUMNS}, "total") '
        f'SELECT {_COLUMNS}, COUNT(*) FROM "removal" GROUP BY {_COLUMNS}'
    )
