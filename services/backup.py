"""Backups of the SQLite database (`flask backup PATH`) and restoring one (`flask restore`).

A backup goes through SQLite's online backup API: a consistent copy taken while the app runs
and writes (WAL mode lets writers carry on during the copy), never a file copy, which can
catch a half-written page or miss the write-ahead log. It is written beside its target and
renamed into place only once it has passed `PRAGMA integrity_check` and its audit chain has
verified, so PATH is either a good backup or absent. The file holds everything Safekeep
holds: it is created readable by its owner only.

Restoring copies a backup into the configured database through the same API (it is checked
the same way first), so the database's own write-ahead log is handled by SQLite rather than
left to replay over a copied file.

PostgreSQL is backed up with its own tools (pg_dump and pg_restore; README: Backups).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from peewee import SqliteDatabase

from models import SCHEMA_VERSION
from models.base import SQLITE_PRAGMAS, db


class BackupError(Exception):
    """A backup or restore that cannot be done, said in one sentence."""


@dataclass
class Checked:
    path: Path
    size: int
    schema_version: int
    audit_events: int | None  # None: an older schema's chain, verified after db-upgrade


def backup(destination: Path, overwrite: bool = False) -> Checked:
    """Copy the live SQLite database to `destination`, checked; raise BackupError."""
    destination = Path(destination)
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} exists: choose a new name, or add --force")
    if not destination.parent.is_dir():
        raise BackupError(f"{destination.parent} is not a directory")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        target = sqlite3.connect(partial)
        try:
            db.connection().backup(target)
        finally:
            target.close()
        checked = check(partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    checked.path = destination
    return checked


def restore(source: Path, replace: bool = False) -> Checked:
    """Copy a checked backup into the configured SQLite database; raise BackupError."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    checked = check(source)
    if db.get_tables() and not replace:
        raise BackupError(
            "The database already has tables: add --replace to overwrite it with the backup "
            "(stop the app first)"
        )
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        origin.backup(db.connection())
    finally:
        origin.close()
    return checked


def check(path: Path) -> Checked:
    """Integrity and audit chain of a backup file; raise BackupError naming the fault."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database ({error})") from None
    if result != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")
    version = _schema_version_of(path)
    events = None
    if version == SCHEMA_VERSION:
        chain = _verify_chain_in(path)
        if chain.problems:
            first = chain.problems[0]
            raise BackupError(
                f"{path}: the audit chain is broken at event {first.event_id} ({first.why})"
            )
        events = chain.checked
    elif version > SCHEMA_VERSION:
        raise BackupError(f"{path} is at schema version {version}, newer than this code")
    return Checked(Path(path), Path(path).stat().st_size, version, events)


def _schema_version_of(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute('SELECT MAX("version") FROM "schema_version"').fetchone()[0]
    except sqlite3.DatabaseError:
        raise BackupError(f"{path} is not a Safekeep database (no schema_version)") from None
    finally:
        connection.close()


def _verify_chain_in(path: Path):
    from models.audit import AuditEvent, hmac_key, verify_chain

    copy = SqliteDatabase(str(path), pragmas={"query_only": 1, **_read_pragmas()})
    try:
        with copy.bind_ctx([AuditEvent]):
            return verify_chain(key=hmac_key())
    finally:
        copy.close()


def _read_pragmas() -> dict:
    return {k: v for k, v in SQLITE_PRAGMAS.items() if k in ("busy_timeout", "foreign_keys")}
