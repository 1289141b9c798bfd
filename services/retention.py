"""Retention: what Safekeep keeps, for how long, and erasing the rest (`flask apply-retention`).

The policy
----------
Closed breach cases, finished removals (returned, destroyed, lost, declined, cancelled),
finished dispatches (delivered, misdirected, cancelled) and ended remote working agreements
(declined, withdrawn, expired) are kept whole for RETENTION_YEARS
(default 6) after they finished. Then their free text is erased: each text field is replaced
by a fixed marker (MARKER below), and the case-system ID is removed from breach cases and
dispatches. What stays is the register of what happened, with no story and no identifier of
a person: references, categories, dates, counts, risk scores, decisions, who did each step
and when. A breach case therefore still
stands in the register for good (UK GDPR Art. 33(5)); a removal or dispatch linked to a
breach case is kept whole as long as that case is.

The audit trail
---------------
Audit summaries quote what was typed (the papers, a note, where papers were last seen), so
the same events have their summaries cut down to the keys listed in KEPT_SUMMARY_KEYS, with
`erased` added. The hash chain must still verify (`flask audit-verify`), and rewriting old
hashes would make the chain prove nothing. So each run appends one event of its own (entity
"retention"), which records its counts and a SHA-256 digest of every event it erased as they
are after erasure, and each erased event names that run in `erased_by`. Verification checks
an erased event's link as before and its content against the run's digest (models/audit.py).
An erasure is never silent: it is a run in the chain with its counts. Altering an erased
event afterwards, or marking an untouched event as erased to hide a change to it, breaks
verification as any other change does.

Running it
----------
One transaction (holding the audit chain's lock), so a run is all or nothing; a second run
finds nothing more to erase and erases nothing, but it is still recorded with its counts of
zero. Schedule it daily (README: Retention).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from peewee import Case, fn

from models.audit import RETENTION_ENTITY, RETENTION_EVENT, AuditEvent, ErasedDigest
from models.base import AUDIT_LOCK_KEY, db, is_postgres, write_transaction
from models.breaches import Breach
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.records import Removal
from models.remote_working import RemoteAgreement

MARKER = "[erased under the retention policy]"
# A dispatch's case-system ID column is short and may not be empty.
CASE_ID_MARKER = "ERASED"

# Free text, per model: replaced by MARKER where it has a value.
ERASED_FIELDS = {
    Breach: (
        "what_happened",
        "no_police_reference_reason",
        "police_officer",
        "media_reason",
        "likely_outcomes",
        "actions_taken",
        "reportable_reason",
        "override_reason",
        "exemption_reason",
        "skip_reason",
        "not_referred_reason",
        "delay_reason",
        "ico_summary",
        "ico_late_reason",
        "ico_told_by",
        "caldicott_advice",
        "caldicott_consulted",
        "lessons_learned",
        "ico_outcome_note",
    ),
    # A case's follow-through goes with it.
    IcoItem: ("asked", "due_change_reason", "answer"),
    BreachAction: ("description", "evidence", "not_needed_reason"),
    Removal: (
        "papers",
        "purpose_other",
        "decision_note",
        "last_seen_where",
        "destruction_witness",
        "extension_reason",
        "location_where",
    ),
    Dispatch: (
        "description",
        "address",
        "address_source_other",
        "lawful_basis",
        "tracking_reference",
        "delivery_evidence",
        "cancel_reason",
    ),
    RemoteAgreement: ("place", "why", "decision_note", "withdraw_reason"),
}
# Their text columns that hold codes, states and references, not what someone typed: kept
# (the case-system ID is handled on its own). tests/unit/test_retention_columns.py fails on
# a text column in neither list, so a new one is decided here, not forgotten.
KEPT_TEXT_FIELDS = {
    Breach: (
        "reference",
        "state",
        "category",
        "data_categories",
        "containment_actions",
        "police_reference",
        "ico_reference",
        "ico_outcome",
        "regulator",
        "case_id",
    ),
    IcoItem: ("state", "kind"),
    BreachAction: ("state", "category"),
    Removal: (
        "state",
        "approval_route",
        "purpose",
        "due_kind",
        "destruction_method",
        "location_confirmed_how",
    ),
    Dispatch: (
        "state",
        "method",
        "address_source",
        "recipient_organisation",
        "recipient_role",
        "case_id",
    ),
    RemoteAgreement: ("state", "approval_route"),
}
ENTITY_TYPES = {
    Breach: "breach",
    Removal: "removal",
    Dispatch: "dispatch",
    RemoteAgreement: "remote_agreement",
    IcoItem: "ico_item",
    BreachAction: "breach_action",
}

# What an erased audit summary keeps: codes, numbers, yes/no and dates; never typed text.
KEPT_SUMMARY_KEYS = frozenset(
    {
        "address_source",
        "category",
        "changed",
        "confirmed",
        "confirmed_on",
        "disciplinary",
        "dispatch",
        "due_kind",
        "due_on",
        "how",
        "ico_reference",
        "ico_referred",
        "ico_outcome",
        "ico_outcome_on",
        "kind",
        "received_on",
        "answered_on",
        "owner",
        "legal_advice",
        "likelihood",
        "line_manager_told",
        "media_advised",
        "method",
        "new_due_on",
        "purpose",
        "reference",
        "regulator",
        "removal",
        "reportable_override",
        "safeguards",
        "severity",
        "told",
    }
)
ERASED_SUMMARY = {"erased": "under the retention policy"}

# Rows updated per statement: well inside every database's limit on parameters.
CHUNK = 500

FINISHED_DISPATCH_STATES = ("delivered", "misdirected", "cancelled")


@dataclass
class RetentionResult:
    cutoff: dt.datetime
    breaches: int = 0
    removals: int = 0
    dispatches: int = 0
    agreements: int = 0
    audit_events: int = 0
    run_event_id: int | None = None

    def summary(self) -> str:
        return (
            f"Erased the free text of {self.breaches} breach cases, {self.removals} removals, "
            f"{self.dispatches} dispatches and {self.agreements} remote working agreements "
            "that finished before "
            f"{self.cutoff:%d %B %Y}, and cut down {self.audit_events} audit events."
        )


def cutoff_for(now: dt.datetime, years: int) -> dt.datetime:
    """`years` before now (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def due(cutoff: dt.datetime) -> dict[type, list[int]]:
    """The ids of the cases, removals and dispatches whose retention period is over."""
    breaches_due = Breach.select(Breach.id).where(
        Breach.state == "closed", Breach.closed_at < cutoff, Breach.erased_at.is_null()
    )
    breaches = [b.id for b in breaches_due]
    follow_through = {
        model: [
            row.id
            for row in model.select(model.id).where(
                model.breach.in_(breaches_due), model.erased_at.is_null()
            )
        ]
        for model in (IcoItem, BreachAction)
    }
    # A removal or dispatch is kept as long as a breach case about it is kept: not erased,
    # and not due now either.
    BreachAbout = Breach.alias()
    kept_by_breach = BreachAbout.erased_at.is_null() & ~(
        (BreachAbout.state == "closed") & (BreachAbout.closed_at < cutoff)
    )
    removals = [
        r.id
        for r in Removal.select(Removal.id).where(
            Removal.closed_at < cutoff,
            Removal.erased_at.is_null(),
            ~fn.EXISTS(
                BreachAbout.select(BreachAbout.id).where(
                    BreachAbout.removal == Removal.id, kept_by_breach
                )
            ),
        )
    ]
    finished_at = fn.COALESCE(Dispatch.misdirected_at, Dispatch.delivered_at, Dispatch.cancelled_at)
    dispatches = [
        d.id
        for d in Dispatch.select(Dispatch.id).where(
            Dispatch.state.in_(FINISHED_DISPATCH_STATES),
            finished_at < cutoff,
            Dispatch.erased_at.is_null(),
            ~fn.EXISTS(
                BreachAbout.select(BreachAbout.id).where(
                    BreachAbout.dispatch == Dispatch.id, kept_by_breach
                )
            ),
        )
    ]
    agreements = [
        a.id
        for a in RemoteAgreement.select(RemoteAgreement.id).where(
            RemoteAgreement.closed_at < cutoff, RemoteAgreement.erased_at.is_null()
        )
    ]
    return {
        Breach: breaches,
        Removal: removals,
        Dispatch: dispatches,
        RemoteAgreement: agreements,
        **follow_through,
    }


def apply_retention(now: dt.datetime, years: int, dry_run: bool = False) -> RetentionResult:
    """Erase what the policy no longer keeps, and record the run; see the module docstring."""
    if years < 1:
        raise ValueError(f"RETENTION_YEARS must be 1 or more (it is {years})")
    result = RetentionResult(cutoff=cutoff_for(now, years))
    with write_transaction():
        if is_postgres():
            # Held to the end: the chain may not grow between the digest and the run's event.
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
        ids = due(result.cutoff)
        result.breaches, result.removals, result.dispatches, result.agreements = (
            len(ids[Breach]),
            len(ids[Removal]),
            len(ids[Dispatch]),
            len(ids[RemoteAgreement]),
        )
        events = _events_of(ids)
        result.audit_events = len(events)
        if dry_run:
            return result  # nothing was written
        for model, model_ids in ids.items():
            _erase_rows(model, model_ids, now)
        digest = ErasedDigest()
        for event in events:
            event.summary = json.dumps(_kept(event.details), sort_keys=True)
            digest.add(event)
            AuditEvent.update(summary=event.summary).where(AuditEvent.id == event.id).execute()
        run = AuditEvent.append(
            at=now,
            actor_id=None,
            entity_type=RETENTION_ENTITY,
            entity_id=0,
            event=RETENTION_EVENT,
            summary={
                "retention_years": years,
                "cutoff": result.cutoff.isoformat(),
                "breaches": result.breaches,
                "removals": result.removals,
                "dispatches": result.dispatches,
                "agreements": result.agreements,
                "audit_events": result.audit_events,
                "erased_digest": digest.hexdigest(),
            },
        )
        for chunk in _chunks([e.id for e in events]):
            AuditEvent.update(erased_by=run.id).where(AuditEvent.id.in_(chunk)).execute()
        result.run_event_id = run.id
    return result


def _events_of(ids: dict[type, list[int]]) -> list[AuditEvent]:
    """The not yet erased audit events of these rows, in id order (the digest's order)."""
    events: list[AuditEvent] = []
    for model, model_ids in ids.items():
        for chunk in _chunks(model_ids):
            events.extend(
                AuditEvent.select().where(
                    AuditEvent.entity_type == ENTITY_TYPES[model],
                    AuditEvent.entity_id.in_(chunk),
                    AuditEvent.erased_by.is_null(),
                )
            )
    return sorted(events, key=lambda e: e.id)


def _erase_rows(model, ids: list[int], now: dt.datetime) -> None:
    fields = [model._meta.fields[name] for name in ERASED_FIELDS[model]]
    # NULL stays NULL (nothing was written there); anything else becomes the marker.
    values = {field: Case(None, ((field.is_null(), None),), MARKER) for field in fields}
    values[model.erased_at] = now
    if model is Breach:
        values[Breach.case_id] = None
    if model is Dispatch:
        values[Dispatch.case_id] = CASE_ID_MARKER
    for chunk in _chunks(ids):
        model.update(values).where(model.id.in_(chunk)).execute()


def _kept(details: dict) -> dict:
    return {**{k: v for k, v in details.items() if k in KEPT_SUMMARY_KEYS}, **ERASED_SUMMARY}


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
