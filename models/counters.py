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
