"""The audit trail: append-only, hash-chained events, written in the transaction of the change.

Each event stores the SHA-256 of the previous event's hash plus its own canonical content,
so editing or deleting any row breaks the chain from that row on (`flask audit-verify`).
Appends are serialised so two concurrent transitions can never fork the chain: SQLite's
IMMEDIATE transactions already hold the write lock; PostgreSQL takes an advisory lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models.base import AUDIT_LOCK_KEY, BaseModel, db, is_postgres
from models.people import User

GENESIS = "0" * 64


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
        # The newest event by its primary key: one index lookup on both databases.
        newest = cls.select(fn.MAX(cls.id))
        last = cls.select(cls.hash).where(cls.id == newest).scalar()
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
        """The timeline of one object, oldest first, with the actor in the same query."""
        Actor = User.alias()
        return (
            cls.select(cls, Actor)
            .join(Actor, JOIN.LEFT_OUTER, on=(cls.actor == Actor.id), attr="actor_user")
            .where(cls.entity_type == entity_type, cls.entity_id == entity_id)
            .order_by(cls.id)
        )


def verify_chain(batch: int = 2000) -> tuple[int, AuditEvent | None, str]:
    """Walk the chain in id order; return (events checked, first broken event, why)."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(
            AuditEvent.select().where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        )
        if not rows:
            return checked, None, ""
        for row in rows:
            if row.prev_hash != prev:
                return checked, row, "its link to the previous event does not match"
            if chain_hash(prev, row) != row.hash:
                return checked, row, "its content does not match its hash"
            prev = row.hash
            checked += 1
            last_id = row.id
