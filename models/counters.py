"""Numbers handed out in series (breach references): each number once, however many servers ask.

COUNT+1 or MAX+1 against a unique column collides when two reports arrive together: both read
the same count before either inserts, and the second insert fails (on PostgreSQL 20 of 32
simultaneous loss reports did, and lost the report with a 500). Here a series is one row,
moved on by a single `UPDATE ... SET last = last + n ... RETURNING last` inside the
transaction that uses the number: the row stays locked until that transaction ends (a row
lock on PostgreSQL, the write lock of BEGIN IMMEDIATE on SQLite), so a second taker waits and
gets the next number. A transaction that rolls back gives its number back.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import CharField, IntegerField

from models.base import BaseModel


class Counter(BaseModel):
    """The last number handed out in one series (e.g. "breach-2026")."""

    series = CharField(primary_key=True, max_length=40)
    last = IntegerField(default=0)

    @classmethod
    def take(cls, series: str, count: int = 1, start: Callable[[], int] | None = None) -> int:
        """Reserve `count` numbers of `series` and return the highest of them.

        Call inside the write transaction that stores the numbers. A series that has no row
        yet begins after `start()` (numbers handed out before the series had a counter, say
        by an older version of Safekeep); two first takers race on the insert, which only one
        wins (the other's is ignored), and then queue on the update like everyone else.
        """
        if count < 1:
            raise ValueError("take at least one number")
        if not cls.select().where(cls.series == series).exists():
            first = start() if start is not None else 0
            cls.insert(series=series, last=first).on_conflict_ignore().execute()
        query = cls.update(last=cls.last + count).where(cls.series == series).returning(cls.last)
        rows = list(query.tuples().execute())
        return rows[0][0]


# -- Change stamps: a number that changes whenever a table does ---------------------------------
#
# A figure over a whole table (the breach register's medians) costs a pass over every row;
# stamped, it is worked out again only after the table changed. The database's own triggers
# set the stamp, in the transaction that changes the table, so no write path can forget it.
# Each change sets a new random number rather than adding one: a table emptied and filled
# again (a restore, a test) would otherwise hand out numbers a cache has already seen.

BREACH_CHANGES = "breach-changes"
# The actions to prevent the next breach change apart from their case (models/follow_through.py):
# what is worked out from both (the register's lessons by quarter) is kept against both stamps.
ACTION_CHANGES = "breach-action-changes"


def change_stamp(series: str) -> int | None:
    """The stamp of `series` now; None before the first change (nothing to cache against)."""
    return Counter.select(Counter.last).where(Counter.series == series).scalar()


def change_stamps(*series: str) -> tuple[int | None, ...]:
    """The stamps of several series now, in one statement, in the order asked."""
    found = dict(
        Counter.select(Counter.series, Counter.last).where(Counter.series.in_(series)).tuples()
    )
    return tuple(found.get(name) for name in series)


def stamp_trigger_sql(table: str, series: str, postgres: bool) -> list[str]:
    """The statements that make every change to `table` set a new stamp of `series`."""
    name = f"{table}_stamps_{series.replace('-', '_')}"
    if postgres:
        stamp = "floor(random() * 2147483646)::integer + 1"
    else:
        stamp = "abs(random() % 2147483646) + 1"  # Counter.last is a 32-bit integer on PostgreSQL
    upsert = (
        f'INSERT INTO "counter" ("series", "last") VALUES (\'{series}\', {stamp}) '
        'ON CONFLICT ("series") DO UPDATE SET "last" = excluded."last";'
    )
    if postgres:
        return [
            f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS '
            f"$$ BEGIN {upsert} RETURN NULL; END $$",
            f'CREATE TRIGGER "{name}" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
            f'FOR EACH STATEMENT EXECUTE FUNCTION "{name}"()',
        ]
    return [
        f'CREATE TRIGGER "{name}_{event.lower()}" AFTER {event} ON "{table}" BEGIN {upsert} END'
        for event in ("INSERT", "UPDATE", "DELETE")
    ]
