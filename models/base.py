"""The database: a proxy bound at start-up, the base model, and transactions.

SQLite (the default) keeps one connection per worker in WAL mode; PostgreSQL
(`DATABASE_URL=postgresql://...`) goes through a psycopg 3 connection pool. The pool checks an
idle connection before handing it out (peewee's `is_connection_closed`: a `SELECT 1`; not for
one handed back a moment ago, _CheckedPool), so after a server restart the dead connections are
dropped and the first request succeeds;
tests/http/test_outages.py restarts a server to hold it to that. A connection a database error
came through, or one a request finds inside a transaction, is thrown away rather than reused.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

from peewee import (
    DateTimeField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
)
from playhouse.pool import PooledPostgresqlDatabase

from machines import clock
from models.prepared import versioned_update
from models.proxy import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 5000,
    "synchronous": "normal",
    "foreign_keys": 1,
}

# Advisory lock key that serialises appends to the hash-chained audit trail on PostgreSQL.
AUDIT_LOCK_KEY = 7_345_001


# Ids are 64-bit in both databases; a longer number (in a URL) is no such row, and handing it
# to SQLite raises OverflowError (a 500) rather than finding nothing.
MAX_ID = 2**63 - 1


class Stale(Exception):
    """Someone else changed the row first (its version moved on): answer 409, never overwrite."""


def utcnow() -> dt.datetime:
    """Return the clock's current naive UTC time (see machines.clock)."""
    return clock.now()


# SQLite keeps times as ISO text. peewee parses each value by trying strptime formats in
# turn (~10 µs a value: most of the cost of reading a page of breach cases, which have 15
# time columns); sqlite3 can hand them over as datetimes instead, parsed by fromisoformat.
def _sqlite_datetime(value: bytes) -> dt.datetime | str:
    text = value.decode()
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return text  # not ours to judge: peewee's own parsing has its say


def _sqlite_date(value: bytes) -> dt.date | str:
    text = value.decode()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return text


sqlite3.register_converter("DATETIME", _sqlite_datetime)
sqlite3.register_converter("DATE", _sqlite_date)


def connect_database(url: str | None, sqlite_path: str) -> SqliteDatabase | PostgresqlDatabase:
    """Build the database for a DATABASE_URL, or the SQLite file when there is none."""
    if not url or url.startswith("sqlite"):
        path = sqlite_path
        if url and url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
        return SqliteDatabase(
            path,
            pragmas=SQLITE_PRAGMAS,
            check_same_thread=False,
            detect_types=sqlite3.PARSE_DECLTYPES,
        )
    parts = urlparse(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"Unsupported DATABASE_URL scheme: {parts.scheme}")
    return _CheckedPool(
        parts.path.lstrip("/"),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=parts.port or 5432,
        max_connections=20,
        stale_timeout=300,
        timeout=10,
        # An unreachable server (not one that refuses) would hang each request for the
        # kernel's TCP timeout, minutes, before its 503.
        connect_timeout=5,
    )


class _CheckedPool(PooledPostgresqlDatabase):
    """peewee's pool, which asks the server `SELECT 1` before handing out an idle connection
    (is_connection_closed: a server restart kills the connections it holds), but not for one
    handed back within the last RECENT seconds: under load every request would otherwise pay
    a round trip for a connection the request before it used a moment ago, while no server
    stops and starts again that fast. A server that died in that moment fails the request's
    first query instead: a 503, and the connection is discarded (discard_connection)."""

    RECENT = 0.05

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._handed_back_at: dict[int, float] = {}

    def _is_closed(self, conn) -> bool:
        handed_back = self._handed_back_at.pop(self.conn_key(conn), None)
        if (
            handed_back is not None
            and time.monotonic() - handed_back < self.RECENT
            and not conn.closed
            and conn.info.transaction_status.name == "IDLE"
        ):
            return False
        return super()._is_closed(conn)

    def _close(self, conn, close_conn=False):
        if not close_conn:
            self._handed_back_at[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn):
        self._handed_back_at.pop(self.conn_key(conn), None)
        super()._close_raw(conn)


def is_postgres() -> bool:
    """Return True when the bound database is PostgreSQL."""
    return isinstance(db.obj, PostgresqlDatabase)


# -- A request's connection ---------------------------------------------------------------------
# Recovery needs nobody: a connection a database error may have left broken, or inside a
# transaction the disk refused both to commit and to undo, is thrown away (never reused, never
# back in the pool), so the first request after the database is back gets a clean one.


def open_for_request() -> object:
    """Take this request's connection: the worker's own (SQLite) or one from the pool. Returns
    it, for release_after_request to hand back that one and no other."""
    if not db.is_closed() and _left_unclean():
        discard_connection()
    db.connect(reuse_if_open=True)
    return db.connection()


def release_after_request(ours: object | None) -> None:
    """Hand the request's pooled connection back at its end (SQLite keeps the worker's).

    Only `ours`: a streamed download's request ends when its body is closed, and a body that
    was never read is closed whenever it is garbage-collected, by then perhaps in the middle
    of another transaction on this thread (another request's, a schema being created), which
    closing "the thread's connection" would cut in two."""
    if ours is None or not is_postgres() or db.is_closed() or db.connection() is not ours:
        return
    try:
        db.close()
    except Exception:
        discard_connection()  # refused (a transaction still open) or broken: not for reuse


def _left_unclean() -> bool:
    """True when the thread's open connection is closed underneath or inside a transaction:
    between requests it never is, unless an error left it so."""
    if db.transaction_depth():
        return True
    conn = db.connection()
    if is_postgres():
        # psycopg's own state, read without a round trip (its enum by name: a server on
        # SQLite never imports the driver).
        return conn.closed or conn.info.transaction_status.name != "IDLE"
    return conn.in_transaction


def discard_connection() -> None:
    """Close this thread's connection for good after a database error; the next request opens
    a fresh one. Safe to call with none open."""
    database = db.obj
    if database is None or database.is_closed():
        return
    # The error ended whatever transaction peewee thinks is open: forget it, or close refuses.
    while database.transaction_depth():
        database.pop_transaction()
    try:
        if isinstance(database, PooledPostgresqlDatabase):
            database.manual_close()  # closed, not returned to the pool
        else:
            database.close()
    except Exception:
        database.dispose()  # the driver could not close it either: let it go


@contextmanager
def write_transaction():
    """Open a transaction for read-then-write work.

    SQLite: BEGIN IMMEDIATE takes the write lock up front, so two writers never both read
    the old state and then fail with "database is locked". PostgreSQL: an ordinary
    transaction; the version check in `save_versioned` catches a concurrent winner.
    """
    if is_postgres():
        with db.atomic() as txn:
            yield txn
    else:
        with db.atomic("IMMEDIATE") as txn:
            yield txn


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class VersionedModel(BaseModel):
    """A lifecycle row with a version column: updates are compare-and-set, never last-write-wins."""

    version = IntegerField(default=1)

    def save_versioned(self) -> None:
        """Write every changed field when the stored version is still ours, else raise Stale."""
        cls = type(self)
        expected = self.version
        # The stored values (a foreign key's id), not getattr: that would load the related row.
        data = {f: self.__data__.get(f.name) for f in self.dirty_fields if f.name != "version"}
        # Compiled once per set of fields changed (an approve always changes the same ones).
        statement = versioned_update(cls, tuple(sorted(f.name for f in data)))
        if statement is not None:
            updated = statement.execute(
                row_id=self.id,
                expected=expected,
                new_version=expected + 1,
                **{f.name: f.db_value(value) for f, value in data.items()},  # as peewee would
            )
        else:
            data[cls.version] = expected + 1
            where = (cls.id == self.id) & (cls.version == expected)
            updated = cls.update(data).where(where).execute()
        if updated != 1:
            raise Stale(f"{cls.__name__} {self.id} changed since version {expected}")
        self.version = expected + 1
        self._dirty.clear()


class SchemaVersion(BaseModel):
    """The schema version this database is at, so later changes can migrate it."""

    version = IntegerField()
    applied_at = DateTimeField(default=utcnow)
