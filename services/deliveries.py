"""What became of each e-mail: the Delivery row's status, changed with its audit event.

A message goes (services/reminders.py) and its row says "sent" (SMTP: no receipt is
possible) or "created" (GOV.UK Notify). Notify's receipts arrive by callback
(views/notify_callback.py) or, for messages still not final, by `flask poll-notify`; both
come through `apply_status`, a compare-and-set write with its audit event in the same
transaction. A message about a breach case that failed, or that Notify has not delivered
within the hour, is raised: `raised_at` is set (with its audit event), the Information and
Records Manager's home page lists it, send-reminders e-mails the next person in the chain
(models.reminders' claim keeps that to once), and the case's notification list stops
counting its recipient as told (models.deliveries.counts_as_told).
"""

from __future__ import annotations

import datetime as dt
import logging

from peewee import JOIN

from models.audit import AuditEvent
from models.base import Stale, write_transaction
from models.breaches import LINE_MANAGER_KEY, Breach, Notification
from models.deliveries import (
    DELIVERED,
    DELIVERY_DEADLINE,
    FAILED,
    NOT_SENT,
    NOTIFY,
    NOTIFY_STATUSES,
    REFUSED,
    STATUS_LABELS,
    WAITING,
    Delivery,
)
from models.people import User
from models.reminders import Key
from services.channel import Receipt
from services.message_kinds import KIND_LABELS, LINE_MANAGER_TOLD

log = logging.getLogger(__name__)

# The audit trail names a removal's or agreement's events by these entity types.
AUDIT_ENTITY = {"removal": "removal", "agreement": "remote_agreement", "breach": "breach"}
# A message refused this many times (by Notify or the mail server) is given up and raised.
MAX_ATTEMPTS = 3
# Messages asked about per `flask poll-notify` run: a run stays short whatever the backlog;
# the oldest go first, and the callback normally leaves few to ask about.
POLL_LIMIT = 200
# Messages are asked about while Notify may still know them (it keeps them 7 days).
POLL_WITHIN = dt.timedelta(days=7)


def _audit(delivery: Delivery, event: str, now: dt.datetime, label: str, status: str) -> None:
    recipient = User.get_by_id(delivery.recipient_id)
    AuditEvent.append(
        at=now,
        actor_id=None,
        entity_type=AUDIT_ENTITY.get(delivery.subject_type, delivery.subject_type),
        entity_id=delivery.subject_id,
        event=event,
        summary={
            "to": recipient.display_name,
            "message": KIND_LABELS.get(delivery.kind, delivery.kind),
            "status": STATUS_LABELS.get(status, status) if label is None else label,
        },
    )


def record_sent(key: Key, receipt: Receipt, now: dt.datetime) -> Delivery:
    """The message went: its Delivery row (a new one, or the one its refused tries left),
    with its audit event; call inside the transaction that marks the claim sent."""
    delivery = Delivery.for_key(key)
    fields = dict(
        channel=receipt.channel,
        notify_id=receipt.notify_id,
        status=receipt.status,
        sent_at=now,
        status_at=now,
    )
    if delivery is None:
        kind, subject_type, subject_id, recipient_id, round_ = key
        delivery = Delivery.create(
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            recipient=recipient_id,
            round=round_,
            **fields,
        )
    else:
        delivery.change(attempts=delivery.attempts + 1, **fields)
    _audit(delivery, "delivery", now, None, receipt.status)
    return delivery


def record_refused(key: Key, channel: str, now: dt.datetime) -> bool:
    """This try at the message was refused; return True when it is the last try (the
    message is then given up, and raised when it is about a breach case)."""
    with write_transaction():
        delivery = Delivery.for_key(key)
        if delivery is None:
            kind, subject_type, subject_id, recipient_id, round_ = key
            delivery = Delivery.create(
                kind=kind,
                subject_type=subject_type,
                subject_id=subject_id,
                recipient=recipient_id,
                round=round_,
                channel=channel,
                status=REFUSED,
                attempts=1,
                status_at=now,
            )
        else:
            delivery.change(attempts=delivery.attempts + 1, status_at=now)
        if delivery.attempts < MAX_ATTEMPTS:
            return False
        delivery.change(status=NOT_SENT)
        _audit(delivery, "delivery", now, None, NOT_SENT)
        _raise(delivery, now)
        return True


def apply_status(notify_id: str, status: str, now: dt.datetime) -> Delivery | None:
    """Notify's word on one message: the new status with its audit event (and a failure
    raised), in one transaction. None when no message of ours has that id. A receipt that
    says nothing new, or that comes after a final one, changes nothing."""
    if status not in NOTIFY_STATUSES:
        raise ValueError(f"not a status of GOV.UK Notify: {status!r}")
    for attempt in (1, 2):
        try:
            with write_transaction():
                delivery = Delivery.get_or_none(Delivery.notify_id == notify_id)
                if delivery is None:
                    return None
                if delivery.status == status or delivery.status not in WAITING:
                    return delivery
                delivery.change(status=status, status_at=now)
                _audit(delivery, "delivery", now, None, status)
                if status in FAILED:
                    _raise(delivery, now)
                return delivery
        except Stale:
            # A callback and a poll about the same message at once: read it again.
            if attempt == 2:
                raise
    return None  # pragma: no cover


def _raise(delivery: Delivery, now: dt.datetime) -> None:
    """A message about a breach case did not reach its person: say so to people, and stop
    counting its recipient as told by it."""
    if delivery.subject_type != "breach" or delivery.raised_at is not None:
        return
    delivery.change(raised_at=now)
    _audit(delivery, "delivery_raised", now, "Raised to the Information and Records Manager", "")
    if delivery.kind == LINE_MANAGER_TOLD:
        breach = Breach.get_by_id(delivery.subject_id)
        # Only when the e-mail was what recorded them told: a person's own record stands.
        if breach.line_manager_told and breach.line_manager_told_by_id is None:
            breach.line_manager_told = False
            breach.line_manager_told_at = None
            breach.save_versioned()
            AuditEvent.append(
                at=now,
                actor_id=None,
                entity_type="breach",
                entity_id=breach.id,
                event="line_manager_not_told",
                source=breach.state,
                target=breach.state,
                entity_version=breach.version,
                summary={"told": LINE_MANAGER_KEY},
            )


class AlreadyFollowedUp(Exception):
    """The message was delivered after all, or someone recorded telling the person."""


def needs_follow_up(delivery: Delivery) -> bool:
    return (
        delivery.raised_at is not None
        and delivery.followed_up_at is None
        and delivery.status != DELIVERED
    )


def record_told_another_way(
    delivery_id: int, who: str, told_at: dt.datetime, actor_id: int, now: dt.datetime
) -> Delivery:
    """The person an undelivered message was for has been told another way: the notification
    list counts them as told again (by `who`, at `told_at`), the message leaves the raised
    list, with its audit event; one transaction, compare-and-set (Stale when it moved)."""
    with write_transaction():
        delivery = Delivery.get_by_id(delivery_id)
        if not needs_follow_up(delivery):
            raise AlreadyFollowedUp(delivery_id)
        delivery.change(followed_up_at=now)
        breach = Breach.get_by_id(delivery.subject_id)
        keys = sorted(
            {
                key
                for (key,) in Notification.select(Notification.recipient)
                .where(Notification.delivery == delivery.id)
                .tuples()
            }
        )
        for key in keys:
            Notification.create(
                breach=breach,
                recipient=key,
                who=who,
                at=told_at,
                recorded_by=actor_id,
                recorded_at=now,
            )
        # A versioned change of the case only when it undoes "line manager told" being
        # undone; otherwise the notification rows are the change (as the e-mails' own are).
        versioned = {}
        if delivery.kind == LINE_MANAGER_TOLD and not breach.line_manager_told:
            breach.line_manager_told = True
            breach.line_manager_told_by = actor_id
            breach.line_manager_told_at = told_at
            breach.save_versioned()
            versioned = dict(
                source=breach.state, target=breach.state, entity_version=breach.version
            )
        AuditEvent.append(
            at=now,
            actor_id=actor_id,
            entity_type="breach",
            entity_id=breach.id,
            event="told_another_way",
            summary={"told": ", ".join(keys)},
            **versioned,
        )
        return delivery


def raise_overdue(now: dt.datetime) -> int:
    """Raise every message about a breach case Notify has not delivered within the hour."""
    raised = 0
    late = list(
        Delivery.select(Delivery.id)
        .where(
            Delivery.subject_type == "breach",
            Delivery.status.in_(sorted(WAITING)),
            Delivery.sent_at <= now - DELIVERY_DEADLINE,
            Delivery.raised_at.is_null(),
        )
        .order_by(Delivery.id)
        .limit(POLL_LIMIT)
        .tuples()
    )
    for (delivery_id,) in late:
        try:
            with write_transaction():
                delivery = Delivery.get_by_id(delivery_id)
                if delivery.raised_at is None and delivery.overdue(now):
                    _raise(delivery, now)
                    raised += 1
        except Stale:
            continue  # a receipt came meanwhile: the next run looks again
    return raised


def poll(now: dt.datetime, status_of, limit: int = POLL_LIMIT) -> dict[str, int]:
    """Ask Notify about messages not final yet (oldest first, at most `limit`), then raise
    the breach chain's messages still undelivered after the hour."""
    waiting = list(
        Delivery.select(Delivery.notify_id)
        .where(
            Delivery.channel == NOTIFY,
            Delivery.status.in_(sorted(WAITING)),
            Delivery.notify_id.is_null(False),
            Delivery.sent_at > now - POLL_WITHIN,
        )
        .order_by(Delivery.sent_at, Delivery.id)
        .limit(limit)
        .tuples()
    )
    counts = {"asked": 0, "changed": 0, "raised": 0}
    for (notify_id,) in waiting:
        counts["asked"] += 1
        status = status_of(notify_id)
        if status is None:
            continue
        before = Delivery.get(Delivery.notify_id == notify_id).status
        after = apply_status(notify_id, status, now)
        if after is not None and after.status != before:
            counts["changed"] += 1
    counts["raised"] = raise_overdue(now)
    return counts


def raised_for_board(limit: int = 10) -> list[Delivery]:
    """Undelivered messages about open breach cases: the Information and Records Manager's
    to follow up, newest first."""
    return list(
        Delivery.select(Delivery, User, Breach)
        .join(User, on=(Delivery.recipient == User.id), attr="recipient")
        .switch(Delivery)
        .join(
            Breach,
            JOIN.INNER,
            on=(Delivery.subject_type == "breach") & (Delivery.subject_id == Breach.id),
            attr="breach",
        )
        .where(
            Delivery.raised_at.is_null(False),
            Delivery.followed_up_at.is_null(),
            Delivery.status != DELIVERED,
            Breach.closed_at.is_null(),
        )
        .order_by(Delivery.raised_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
