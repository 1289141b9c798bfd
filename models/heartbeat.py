"""The heartbeat: one row that /healthz rewrites, so "healthy" means "a write commits now"."""

from __future__ import annotations

import datetime as dt

from peewee import DateTimeField

from models.base import BaseModel, write_transaction


class Heartbeat(BaseModel):
    at = DateTimeField()

    @classmethod
    def beat(cls, now: dt.datetime) -> None:
        """Commit a write (raises the database's error when it cannot).

        A write rolled back would not do: SQLite keeps it in memory and never meets a full
        disk, and PostgreSQL only finds its disk full when the commit writes the log.
        """
        with write_transaction():
            if not cls.update(at=now).where(cls.id == 1).execute():
                cls.insert(id=1, at=now).on_conflict_ignore().execute()
