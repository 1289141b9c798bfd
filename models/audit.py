"""The audit trail: append-only, hash-chained events, written in the transaction of the change.

Each event stores the SHA-256 of the previous event's hash plus its own canonical content,
so editing or deleting any row breaks the chain from that row on (`flask audit-verify`).
Appends are serialised so two concurrent transitions can never fork the chain: SQLite's
IMMEDIATE transactions already hold the write lock; PostgreSQL takes an advisory lock.

Retention (services/retention.py) may later replace an event's summary with the part the
policy keeps. That event's own hash can then no longer be recomputed, so the run that erased
it vouches for it instead: the erased event names the run (`erased_by`), and the run, an
ordinary event appended after it, records a digest of every event it erased as they are now
(id, hash and canonical content). Verification checks an erased event's link as always, and
its content against the run's digest; changing an erased event, or marking an untouched one
as erased, no longer matches the digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models.base import AUDIT_LOCK_KEY, BaseModel, db, is_postgres
from models.people import User

GENESIS = "0" * 64

# The event a retention run appends (services/retention.py); verify_chain checks its digest.
RETENTION_ENTITY = "retention"
RETENTION_EVENT = "apply_retention"


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
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)
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
    ) -> AuditEvent:
        """Append one event; call inside the transaction that makes the change."""
        if not db.in_transaction():
            raise RuntimeError("audit events are written inside the change's transaction")
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
        last = cls.select(cls.hash).order_by(cls.id.desc()).limit(1).scalar()
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
            prev_hash=last or GENESIS,
        )
        row.hash = chain_hash(row.prev_hash, row)
        row.save(force_insert=True)
        return row

    @classmethod
    def for_entity(cls, entity_type: str, entity_id: int):
        """The timeline of one object, oldest first, with the actor and the kiosk (when it
        was done at one) in the same query."""
        Actor = User.alias()
        Kiosk = User.alias()
        return (
            cls.select(cls, Actor, Kiosk)
            .join(Actor, JOIN.LEFT_OUTER, on=(cls.actor == Actor.id), attr="actor_user")
            .switch(cls)
            .join(Kiosk, JOIN.LEFT_OUTER, on=(cls.kiosk == Kiosk.id), attr="kiosk_user")
            .where(cls.entity_type == entity_type, cls.entity_id == entity_id)
            .order_by(cls.id)
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


def verify_chain(batch: int = 2000) -> tuple[int, AuditEvent | None, str]:
    """Walk the chain in id order; return (events checked, first broken event, why)."""
    prev = GENESIS
    checked = 0
    last_id = 0
    erased: dict[int, ErasedDigest] = {}  # retention run id -> the events naming it so far
    while True:
        rows = list(
            AuditEvent.select().where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        )
        if not rows:
            if erased:
                run, digest = next(iter(erased.items()))
                return checked, digest.first, f"it names event {run} as its retention run"
            return checked, None, ""
        for row in rows:
            if row.prev_hash != prev:
                return checked, row, "its link to the previous event does not match"
            if row.erased_by is not None:
                if row.erased_by <= row.id:
                    return checked, row, "it names an earlier event as its retention run"
                erased.setdefault(row.erased_by, ErasedDigest()).add(row)
            elif chain_hash(prev, row) != row.hash:
                return checked, row, "its content does not match its hash"
            if row.event == RETENTION_EVENT and row.entity_type == RETENTION_ENTITY:
                digest = erased.pop(row.id, ErasedDigest())
                details = row.details
                if (details.get("audit_events"), details.get("erased_digest")) != (
                    digest.count,
                    digest.hexdigest(),
                ):
                    return checked, row, "the events it erased do not match its record of them"
            prev = row.hash
            checked += 1
            last_id = row.id
