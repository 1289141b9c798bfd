"""The audit trail: append-only, hash-chained events, written in the transaction of the change.

Each event stores the SHA-256 of the previous event's hash plus its own canonical content,
so editing or deleting any row breaks the chain from that row on (`flask audit-verify`).
Appends are serialised so two concurrent transitions can never fork the chain: SQLite's
IMMEDIATE transactions already hold the write lock; PostgreSQL takes an advisory lock.

A chain alone can be rewritten by anyone who can write the table: edit a row, re-hash every
later one. So each event also carries an HMAC of its hash under a key that is NOT in the
database (services/audit_anchor.py loads it from the environment or a key file): without the
key, a rewritten event cannot be given a valid HMAC. Deleting the newest events (truncation)
leaves a valid shorter chain; signed checkpoints of the head, written outside the database,
catch that (services/audit_anchor.py).

Events written before HMACs existed have none: they are verified by hash only, and are
protected from rewriting by the first HMAC'd event after them, whose hash covers theirs.

Retention (services/retention.py) may later replace an event's summary with the part the
policy keeps. That event's own hash can then no longer be recomputed, so the run that erased
it vouches for it instead: the erased event names the run (`erased_by`), and the run, an
ordinary event appended after it, records a digest of every event it erased as they are now
(id, hash and canonical content). Verification checks an erased event's link as always, and
its content against the run's digest; changing an erased event, or marking an untouched one
as erased, no longer matches the digest.
The HMAC seals an event's hash, which retention never changes, so erased events stay sealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models.base import AUDIT_LOCK_KEY, BaseModel, db, is_postgres
from models.bulk import insert_rows
from models.people import User
from models.prepared import Prepared, insert_statement

GENESIS = "0" * 64

# The event a retention run appends (services/retention.py); verify_chain checks its digest.
RETENTION_ENTITY = "retention"
RETENTION_EVENT = "apply_retention"

# The HMAC key (bytes), set at start-up by services.audit_anchor.load_hmac_key; None writes
# events without an HMAC (as before HMACs existed).
_hmac_key: bytes | None = None


def set_hmac_key(key: bytes | None) -> None:
    global _hmac_key
    _hmac_key = key


def hmac_key() -> bytes | None:
    return _hmac_key


def event_hmac(key: bytes, event_hash: str) -> str:
    """The HMAC that seals one event: over its chain hash, which covers all before it."""
    return hmac.new(key, b"safekeep-audit-event:" + event_hash.encode(), hashlib.sha256).hexdigest()


def _canonical(event: AuditEvent) -> str:
    content = {
        "at": event.at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "actor": event.actor_id,
        "kiosk": event.kiosk_id,
        "entity": event.entity_type,
        "entity_id": event.entity_id,
        "event": event.event,
        "source": event.source,
        "target": event.target,
        "summary": event.summary,
    }
    if event.entity_version is not None:
        # Only in events written since versions were recorded: older hashes stay valid.
        content["version"] = event.entity_version
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(event)).encode()).hexdigest()


class AuditEvent(BaseModel):
    at = DateTimeField(index=True)
    actor = ForeignKeyField(User, null=True, backref="audit_events")
    # The shared team-base PC the person used, when they used one.
    kiosk = ForeignKeyField(User, null=True, backref="kiosk_events")
    entity_type = CharField()
    entity_id = IntegerField()
    event = CharField()
    source = CharField(null=True)
    target = CharField(null=True)
    summary = TextField(default="{}")  # JSON of what was entered; never service-user names
    # The lifecycle row's version after this change (audit-verify compares it with the row).
    entity_version = IntegerField(null=True)
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)
    hmac = CharField(max_length=64, null=True)  # see the module docstring
    # The retention run (an event later in the chain) that erased this event's summary;
    # not part of the hashed content (see verify_chain and services/retention.py).
    erased_by = IntegerField(null=True)

    class Meta:
        indexes = ((("entity_type", "entity_id", "id"), False),)

    @property
    def details(self) -> dict:
        return json.loads(self.summary or "{}")

    @classmethod
    def append(
        cls,
        *,
        at: dt.datetime,
        actor_id: int | None,
        entity_type: str,
        entity_id: int,
        event: str,
        source: str | None = None,
        target: str | None = None,
        summary: dict | None = None,
        kiosk_id: int | None = None,
        entity_version: int | None = None,
    ) -> AuditEvent:
        """Append one event; call inside the transaction that makes the change."""
        if not db.in_transaction():
            raise RuntimeError("audit events are written inside the change's transaction")
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
        newest = _NEWEST_HASH.rows()
        last = newest[0][0] if newest else None
        row = cls(
            at=at,
            actor=actor_id,
            kiosk=kiosk_id,
            entity_type=entity_type,
            entity_id=entity_id,
            event=event,
            source=source,
            target=target,
            summary=json.dumps(summary or {}, sort_keys=True, default=str),
            entity_version=entity_version,
            prev_hash=last or GENESIS,
        )
        row.hash = chain_hash(row.prev_hash, row)
        if _hmac_key is not None:
            row.hmac = event_hmac(_hmac_key, row.hash)
        # Every transition writes one: the INSERT is compiled once per set of fields given.
        given = {name: value for name, value in row.__data__.items() if name != "id"}
        statement = insert_statement(cls, tuple(sorted(given)))
        if statement is None:
            row.save(force_insert=True)
            return row
        fields = cls._meta.fields
        row.id = statement.insert(**{n: fields[n].db_value(v) for n, v in given.items()})
        row._dirty.clear()
        return row

    @classmethod
    def append_many(cls, events: list[dict[str, Any]]) -> None:
        """Append events (each the keyword arguments of `append`) in one insert, chained in
        order: a batch of an import costs one lookup of the newest hash, not one per event."""
        if not events:
            return
        if not db.in_transaction():
            raise RuntimeError("audit events are written inside the change's transaction")
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
        newest = cls.select(fn.MAX(cls.id))
        prev = cls.select(cls.hash).where(cls.id == newest).scalar() or GENESIS
        rows = []
        for event in events:
            summary = json.dumps(event.pop("summary", None) or {}, sort_keys=True, default=str)
            actor_id, kiosk_id = event.pop("actor_id", None), event.pop("kiosk_id", None)
            row = cls(actor=actor_id, kiosk=kiosk_id, summary=summary, prev_hash=prev, **event)
            row.hash = prev = chain_hash(prev, row)
            if _hmac_key is not None:
                row.hmac = event_hmac(_hmac_key, row.hash)
            rows.append(row.__data__)
        # Inserted in order: the ids follow the list, as the chain does.
        insert_rows(cls, rows)

    @classmethod
    def about(
        cls, row: Any, event: str, *, by: int | None, at: dt.datetime, **details: Any
    ) -> AuditEvent:
        """`append` an event about `row`, which names it by its table (user, record,
        dispatch); `by` is who did it (None: the schedule)."""
        return cls.append(
            at=at,
            actor_id=by,
            entity_type=row._meta.table_name,
            entity_id=row.id,
            event=event,
            **details,
        )

    @classmethod
    def for_entity(cls, entity_type: str, entity_id: int):
        """The timeline of one object, oldest first, with the actor and the kiosk (when it
        was done at one) in the same query."""
        Actor = User.alias()
        Kiosk = User.alias()
        return (
            # Only what a timeline shows of each person: their name (and id, to tell them apart).
            cls.select(cls, Actor.id, Actor.display_name, Kiosk.id, Kiosk.display_name)
            .join(Actor, JOIN.LEFT_OUTER, on=(cls.actor == Actor.id), attr="actor_user")
            .switch(cls)
            .join(Kiosk, JOIN.LEFT_OUTER, on=(cls.kiosk == Kiosk.id), attr="kiosk_user")
            .where(cls.entity_type == entity_type, cls.entity_id == entity_id)
            .order_by(cls.id)
        )


# The newest event's hash, by its primary key: one index lookup on both databases. Every
# transition appends an event: compiled once (models/prepared.py).
_NEWEST_HASH = Prepared(
    lambda: (
        AuditEvent.select(AuditEvent.hash)
        .where(AuditEvent.id == AuditEvent.select(fn.MAX(AuditEvent.id)))
        .tuples()
    )
)


class ErasedDigest:
    """The digest a retention run records of the events it erased, built in id order."""

    def __init__(self):
        self._sha = hashlib.sha256()
        self.count = 0
        self.first: AuditEvent | None = None

    def add(self, event: AuditEvent) -> None:
        self._sha.update(f"{event.id}:{event.hash}:{_canonical(event)}\n".encode())
        self.count += 1
        self.first = self.first or event

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


@dataclass
class ChainProblem:
    event_id: int
    what: str  # "take_out on removal 3"
    why: str


@dataclass
class ChainReport:
    checked: int = 0
    hash_only: int = 0  # events older than the first HMAC'd one: verified by hash only
    sealed_from: int | None = None  # the first event with an HMAC
    head_id: int = 0
    head_hash: str = GENESIS
    problems: list[ChainProblem] = field(default_factory=list)
    # The chain as walked, for the checkpoints: id -> (hash, events up to and including it).
    seen: dict[int, tuple[str, int]] = field(default_factory=dict)


def verify_chain(
    *,
    key: bytes | None = None,
    sealed_from: int | None = None,
    remember: set[int] | frozenset[int] = frozenset(),
    batch: int = 2000,
) -> ChainReport:
    """Walk the chain in id order and name every event that does not hold.

    Checks each event's link to the one before, its hash, and, with `key`, its HMAC. Events
    without an HMAC are accepted only before the first HMAC'd event, and before
    `sealed_from` (the first sealed event a checkpoint outside the database recorded), so
    stripping the HMACs off does not turn sealed events back into unsealed ones. After a
    broken link the walk carries on from the row's own link, so later problems are named too.
    `remember`: event ids whose hash and position to keep in the report (checkpoints).
    """
    report = ChainReport()
    prev = GENESIS
    last_id = 0
    erased: dict[int, ErasedDigest] = {}  # retention run id -> the events naming it so far
    while True:
        rows = list(
            AuditEvent.select().where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        )
        if not rows:
            for run, digest in erased.items():
                first = digest.first
                report.problems.append(
                    ChainProblem(
                        first.id,
                        f"{first.event} on {first.entity_type} {first.entity_id}",
                        f"it names event {run} as its retention run, and there is no such run",
                    )
                )
            return report
        for row in rows:
            report.checked += 1
            what = f"{row.event} on {row.entity_type} {row.entity_id}"

            def problem(why: str, row=row, what=what) -> None:
                report.problems.append(ChainProblem(row.id, what, why))

            if row.prev_hash != prev:
                problem(
                    "its link to the previous event does not match: an event before it was "
                    "deleted or changed"
                )
            if row.erased_by is not None:
                # Its summary was cut down by retention: the run's digest vouches for it.
                if row.erased_by <= row.id:
                    problem("it names an earlier event as its retention run")
                erased.setdefault(row.erased_by, ErasedDigest()).add(row)
            elif chain_hash(row.prev_hash, row) != row.hash:
                problem("its content does not match its hash: it was edited")
            if row.event == RETENTION_EVENT and row.entity_type == RETENTION_ENTITY:
                digest = erased.pop(row.id, ErasedDigest())
                details = row.details
                if (details.get("audit_events"), details.get("erased_digest")) != (
                    digest.count,
                    digest.hexdigest(),
                ):
                    problem("the events it erased do not match its record of them")
            if row.hmac is None:
                sealed = report.sealed_from is not None or (
                    sealed_from is not None and row.id >= sealed_from
                )
                if sealed:
                    problem(
                        "it has no HMAC, but every event since "
                        f"{report.sealed_from or sealed_from} is sealed with one: it was "
                        "written or rewritten without the key"
                    )
                else:
                    report.hash_only += 1
            else:
                if report.sealed_from is None:
                    report.sealed_from = row.id
                if key is not None and not hmac.compare_digest(event_hmac(key, row.hash), row.hmac):
                    problem(
                        "its HMAC does not match: it was written or rewritten by someone "
                        "without the key"
                    )
            if row.id in remember:
                report.seen[row.id] = (row.hash, report.checked)
            prev = row.hash
            last_id = row.id
            report.head_id, report.head_hash = row.id, row.hash
