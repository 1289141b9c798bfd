"""The audit trail's anchor outside the database: the HMAC key and signed checkpoints.

Someone who can write the database can delete the newest audit events, or edit one and
re-hash every later one; the hash chain alone cannot tell. Two things kept outside the
database can:

- the HMAC key (`AUDIT_HMAC_KEY`, else a key file made on first use, 0600): every event is
  sealed with it (models/audit.py), so a rewritten event is named;
- checkpoints: lines appended to a file (`AUDIT_CHECKPOINT_FILE`) and to the security log,
  each naming the chain's head (event id, hash, number of events) and signed with the key.
  `flask audit-checkpoint` writes one (run it from cron); `flask audit-verify` checks every
  checkpoint against the chain, so deleting the newest events (truncation) is named, and
  writes a new one when everything holds.

`audit-verify` also checks that each removal, breach case and dispatch is in the state and at
the version its audit events say: every versioned save writes exactly one audit event (a
transition in models/transitions.py, or an in-state correction in views/breaches.py), so a
row changed behind the application's back is named too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from peewee import fn

from machines import clock
from machines.security_log import security_event
from models.audit import GENESIS, AuditEvent, ChainProblem, hmac_key, set_hmac_key, verify_chain
from models.base import db


def load_hmac_key(config: Mapping) -> bytes:
    """Set the audit HMAC key from AUDIT_HMAC_KEY, else from the key file (made if missing)."""
    if value := config.get("AUDIT_HMAC_KEY"):
        key = value.encode()
    else:
        key = _key_from_file(Path(config["AUDIT_KEY_FILE"]))
    set_hmac_key(key)
    return key


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked into place: a second worker starting
        # at the same moment either wins the link or reads the first one's complete key.
        spare = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink()
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"The audit key file {path.name} is empty")
    return key.encode()


# -- Checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    line: int
    at: str
    event_id: int
    hash: str
    events: int
    sealed_from: int | None
    # Written by a restore (`write_restore_mark`): the head of the restored database.
    restored: bool = False


def _checkpoint_mac(key: bytes, body: dict) -> str:
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, b"safekeep-audit-checkpoint:" + message, hashlib.sha256).hexdigest()


def chain_head() -> tuple[int, str, int, int | None]:
    """The newest event's id and hash, the number of events, and the first sealed event."""
    head = AuditEvent.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).first()
    count = AuditEvent.select().count()
    sealed = AuditEvent.select(fn.MIN(AuditEvent.id)).where(AuditEvent.hmac.is_null(False)).scalar()
    if head is None:
        return 0, GENESIS, 0, None
    return head.id, head.hash, count, sealed


def write_checkpoint(path: Path) -> Checkpoint:
    """Append a signed checkpoint of the chain's head to the file and the security log."""
    return _append(path, *chain_head())


def write_restore_mark(path: Path) -> tuple[Checkpoint, list[Checkpoint]]:
    """Record that the database was restored from a backup: a signed checkpoint of the
    restored head, marked as a restore, and the checkpoints it sets aside (of events after
    that head, which the backup does not hold).

    A nightly backup is older than the checkpoints cron writes every few minutes: without
    the mark, audit-verify takes the restored database for a truncated one, for ever. The
    mark excuses only those later checkpoints; the restored chain is checked as before, and
    the restore goes to the security log, which leaves the server. Read the head with plain
    SQL: a backup from an older release is restored before db-upgrade brings its columns."""
    head = db.execute_sql('SELECT "id", "hash" FROM "audit_event" ORDER BY "id" DESC LIMIT 1')
    event_id, head_hash = head.fetchone() or (0, GENESIS)
    (events,) = db.execute_sql('SELECT COUNT(*) FROM "audit_event"').fetchone()
    checkpoints, _ = read_checkpoints(path, hmac_key())
    mark = _append(path, event_id, head_hash, events, None, restored=True)
    return mark, [point for point in checkpoints if point.event_id > event_id]


def _append(
    path: Path,
    event_id: int,
    head_hash: str,
    events: int,
    sealed: int | None,
    restored: bool = False,
) -> Checkpoint:
    key = hmac_key()
    if key is None:
        raise RuntimeError("no audit HMAC key is loaded")
    body = {
        "at": clock.now().isoformat(timespec="seconds") + "Z",
        "event_id": event_id,
        "hash": head_hash,
        "events": events,
        "sealed_from": sealed,
    }
    if restored:
        body["restored"] = True
    line = json.dumps({**body, "mac": _checkpoint_mac(key, body)}, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())
    # The same line in the operations log, which a council ships off the server (syslog).
    security_event("audit_restored" if restored else "audit_checkpoint", **body)
    return Checkpoint(0, body["at"], event_id, head_hash, events, sealed, restored)


def read_checkpoints(path: Path, key: bytes | None) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and a sentence for each line that does not."""
    if not path.exists():
        return [], []
    good: list[Checkpoint] = []
    bad: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
                body = {k: data[k] for k in ("at", "event_id", "hash", "events", "sealed_from")}
                if "restored" in data:
                    body["restored"] = data["restored"]
                mac = data["mac"]
            except (ValueError, KeyError, TypeError):
                bad.append(f"checkpoint line {number} cannot be read: the file was edited")
                continue
            if key is None or not hmac.compare_digest(_checkpoint_mac(key, body), str(mac)):
                bad.append(
                    f"checkpoint line {number} is not signed with this key: the file was "
                    "edited, or the key changed"
                )
                continue
            good.append(
                Checkpoint(
                    number,
                    body["at"],
                    int(body["event_id"]),
                    body["hash"],
                    int(body["events"]),
                    body["sealed_from"],
                    body.get("restored") is True,
                )
            )
    return good, bad


def after_restores(checkpoints: list[Checkpoint]) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints that must still hold, in file order, and a sentence for each restore
    that set some aside: a restore mark ends the checkpoints of events after its head (the
    backup never held them), and is itself a checkpoint of the restored chain."""
    kept: list[Checkpoint] = []
    notes: list[str] = []
    for point in checkpoints:
        if point.restored:
            later = [p for p in kept if p.event_id > point.event_id]
            if later:
                notes.append(
                    f"{len(later)} {'checkpoint' if len(later) == 1 else 'checkpoints'} of "
                    f"events after event {point.event_id} (up to event "
                    f"{max(p.event_id for p in later)}) set aside by the restore recorded at "
                    f"{point.at} (line {point.line}): those events were not in the backup"
                )
            kept = [p for p in kept if p.event_id <= point.event_id]
        kept.append(point)
    return kept, notes


# -- Lifecycle rows against their audit events ----------------------------------------------


def _lifecycles():
    from models.breaches import Breach
    from models.dispatches import Dispatch
    from models.follow_through import BreachAction, IcoItem
    from models.records import Removal
    from models.remote_working import RemoteAgreement

    # (model, entity type, the version its first audit event leaves it at): a removal or a
    # remote working agreement is created at version 1 and its first event (`request`,
    # `ask`) moves it to 2; a breach case and a dispatch are created at version 1 together
    # with their first event. Every later versioned save adds exactly one event naming the
    # state it leaves the row in (its target), so version = first + such events - 1. Events
    # beside the row (an e-mail about a case, kept on its notification list) name no target
    # and change no version.
    return (
        (Removal, "removal", 2),
        (Breach, "breach", 1),
        (Dispatch, "dispatch", 1),
        (RemoteAgreement, "remote_agreement", 2),
        # Created in draft, as an agreement is: the first event (`record`, `add`) makes 2.
        (IcoItem, "ico_item", 2),
        (BreachAction, "breach_action", 2),
    )


def lifecycle_problems(limit: int = 50) -> tuple[int, list[str]]:
    """Rows whose state or version their audit events do not account for; rows checked."""
    problems: list[str] = []
    checked = 0
    for model, entity_type, first_version in _lifecycles():
        changes = (AuditEvent.entity_type == entity_type) & AuditEvent.target.is_null(False)
        counts = dict(
            AuditEvent.select(AuditEvent.entity_id, fn.COUNT(AuditEvent.id))
            .where(changes)
            .group_by(AuditEvent.entity_id)
            .tuples()
        )
        last = (
            AuditEvent.select(fn.MAX(AuditEvent.id)).where(changes).group_by(AuditEvent.entity_id)
        )
        last_version, last_state = {}, {}
        for entity_id, version, target in (
            AuditEvent.select(AuditEvent.entity_id, AuditEvent.entity_version, AuditEvent.target)
            .where(AuditEvent.id.in_(last))
            .tuples()
        ):
            last_version[entity_id], last_state[entity_id] = version, target
        rows = model.select(model.id, model.state, model.version).order_by(model.id).tuples()
        for row_id, state, version in rows.iterator():
            checked += 1
            events = counts.get(row_id, 0)
            name = f"{entity_type} {row_id}"
            if not events:
                problems.append(f"{name} has no audit event of a change at all")
                continue
            if last_state.get(row_id) != state:
                problems.append(
                    f"{name} is '{state}' but its last audit event says "
                    f"'{last_state.get(row_id)}': the row was changed outside the application"
                )
            expected = first_version + events - 1
            recorded = last_version.get(row_id)
            if version != expected:
                problems.append(
                    f"{name} is at version {version} but its {events} audit events of changes "
                    f"account for version {expected}: the row was changed outside the "
                    "application, or an event was deleted"
                )
            elif recorded is not None and recorded != version:
                problems.append(
                    f"{name} is at version {version} but its last audit event left it at "
                    f"version {recorded}: the row was changed outside the application"
                )
    if len(problems) > limit:
        problems = [*problems[:limit], f"... and {len(problems) - limit} more rows"]
    return checked, problems


# -- Everything audit-verify checks ----------------------------------------------------------


@dataclass
class AuditReport:
    events: int = 0
    hash_only: int = 0
    rows: int = 0
    checkpoints: int = 0
    chain: list[ChainProblem] = field(default_factory=list)
    anchor: list[str] = field(default_factory=list)  # checkpoint problems
    restores: list[str] = field(default_factory=list)  # what each restore set aside
    lifecycle: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.chain or self.anchor or self.lifecycle)


def verify_audit(checkpoint_file: Path) -> AuditReport:
    """Check the chain, its HMACs, every checkpoint outside the database and the rows."""
    key = hmac_key()
    signed, unreadable = read_checkpoints(checkpoint_file, key)
    # Every signed line says where the HMACs began, those a restore set aside too.
    sealed = [c.sealed_from for c in signed if c.sealed_from is not None]
    checkpoints, restores = after_restores(signed)
    chain = verify_chain(
        key=key,
        sealed_from=min(sealed) if sealed else None,
        remember={c.event_id for c in checkpoints},
    )
    report = AuditReport(
        events=chain.checked,
        hash_only=chain.hash_only,
        checkpoints=len(checkpoints),
        chain=chain.problems,
        anchor=list(unreadable),
        restores=restores,
    )
    for point in checkpoints:
        seen = chain.seen.get(point.event_id)
        written = f"the checkpoint written at {point.at} (line {point.line})"
        if point.event_id == 0:
            continue  # written when the trail was empty
        if point.event_id > chain.head_id:
            report.anchor.append(
                f"the chain ends at event {chain.head_id}, but {written} recorded event "
                f"{point.event_id}: the newest events were deleted (the trail was truncated)"
            )
        elif seen is None:
            report.anchor.append(
                f"event {point.event_id}, recorded by {written}, is missing: events were deleted"
            )
        elif seen[0] != point.hash:
            report.anchor.append(
                f"event {point.event_id} is not the event {written} recorded: the trail was "
                "rewritten or cut and refilled since"
            )
        elif seen[1] != point.events:
            report.anchor.append(
                f"{written} counted {point.events} events up to event {point.event_id}; "
                f"there are {seen[1]} now: events were deleted"
            )
    report.rows, report.lifecycle = lifecycle_problems()
    return report
