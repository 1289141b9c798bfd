"""Count the SQL statements a request runs, by wrapping the bound database's execute_sql.

Every peewee query goes through `Database.execute_sql`, so counting there sees selects,
inserts and updates alike (BEGIN/COMMIT are not statements a page author writes, and peewee
sends them on the cursor directly, so they are not counted).

A session's last activity is written at most once a second (UserSession.resume), so whether a
counted request would also write it depends on how long the requests before it took: while
counting, that write is held still, and a page's count is the page's own. A test of those
writes themselves asks for them (`StatementCounter(session_touch=True)`).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from models import people
from models.base import db


class StatementCounter:
    """Records the SQL of each statement while `counting()` is open."""

    def __init__(self, session_touch: bool = False):
        self.session_touch = session_touch
        self.statements: list[str] = []
        self.parameters: list[tuple] = []  # each statement's, in the same order
        self._active = False
        self._database = None
        self._original = None

    def install(self) -> None:
        """Wrap the bound database's execute_sql (call once the app has bound it)."""
        self._database = db.obj
        self._original = self._database.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            if self._active:
                self.statements.append(sql)
                self.parameters.append(tuple(params or ()))
            return self._original(sql, params, *args, **kwargs)

        self._database.execute_sql = execute_sql

    def uninstall(self) -> None:
        if self._database is not None:
            del self._database.execute_sql  # back to the class's method
            self._database = None

    @contextmanager
    def counting(self):
        """Collect the statements run inside the block (earlier ones are forgotten)."""
        self.statements = []
        self.parameters = []
        self._active = True
        touch_every = people.TOUCH_EVERY
        if not self.session_touch:
            people.TOUCH_EVERY = dt.timedelta(days=1)
        try:
            yield self
        finally:
            people.TOUCH_EVERY = touch_every
            self._active = False

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        return "\n".join(f"{i + 1:>3}. {sql[:160]}" for i, sql in enumerate(self.statements))
