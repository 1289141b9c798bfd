"""What became of each message Safekeep sent: one row per message and recipient.

A message is one Reminder claim (models.reminders); its Delivery row says which channel took
it and what that channel knows. SMTP hands a message to a mail server and hears nothing
more, so an SMTP row says "sent" and stays so. GOV.UK Notify gives each message an id and
reports its fate (by callback, or when asked): created or sending, then delivered or a
failure. Changes of status are compare-and-set on `version`, so a callback and a poll that
arrive together cannot both write; the status rules live in services/deliveries.py.
"""

from __future__ import annotations

import datetime as dt

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField

from models.base import BaseModel, Stale, utcnow
from models.people import User
from models.reminders import Key

SMTP, OUTBOX, NOTIFY = "smtp", "outbox", "notify"

SENT = "sent"  # handed to a mail server: SMTP gives no receipt, so this is all we know
NOT_SENT = "not-sent"  # refused each time it was tried: given up
REFUSED = "refused"  # refused, to be tried again on the next run
CREATED, SENDING, PENDING = "created", "sending", "pending"
DELIVERED = "delivered"
PERMANENT_FAILURE = "permanent-failure"
TEMPORARY_FAILURE = "temporary-failure"
TECHNICAL_FAILURE = "technical-failure"

WAITING = frozenset({CREATED, SENDING, PENDING})
FAILED = frozenset({PERMANENT_FAILURE, TEMPORARY_FAILURE, TECHNICAL_FAILURE, NOT_SENT})
# Notify's own words for an e-mail's status; anything else from it is not believed.
NOTIFY_STATUSES = WAITING | {DELIVERED, PERMANENT_FAILURE, TEMPORARY_FAILURE, TECHNICAL_FAILURE}

STATUS_LABELS = {
    SENT: "Sent; SMTP gives no delivery receipt",
    NOT_SENT: "Not sent: refused each time it was tried",
    REFUSED: "Not sent yet: refused, to be tried again",
    CREATED: "Sent, waiting for a delivery receipt",
    SENDING: "Sent, waiting for a delivery receipt",
    PENDING: "Sent, waiting for a delivery receipt",
    DELIVERED: "Delivered",
    PERMANENT_FAILURE: "Not delivered: the address does not exist or refused it",
    TEMPORARY_FAILURE: "Not delivered: the inbox was full or unavailable",
    TECHNICAL_FAILURE: "Not delivered: a technical failure at GOV.UK Notify",
}

# A message to the breach chain not delivered by then is raised, as if it had failed.
DELIVERY_DEADLINE = dt.timedelta(hours=1)


class Delivery(BaseModel):
    """One message to one person: the channel it went by, and its fate as last heard."""

    kind = CharField(max_length=20)
    subject_type = CharField(max_length=10)
    subject_id = IntegerField()
    recipient = ForeignKeyField(User, backref="deliveries", on_delete="CASCADE")
    round = IntegerField(default=0)
    channel = CharField(max_length=10)
    # Notify's id for the message (a UUID): how callbacks and polls find the row.
    notify_id = CharField(max_length=36, null=True, unique=True)
    status = CharField(max_length=20)
    attempts = IntegerField(default=1)
    sent_at = DateTimeField(null=True)
    status_at = DateTimeField(default=utcnow)
    # When the failure (or the silence past DELIVERY_DEADLINE) was raised to a person.
    raised_at = DateTimeField(null=True)
    # When someone recorded telling the person another way: off the raised list.
    followed_up_at = DateTimeField(null=True)
    version = IntegerField(default=1)

    class Meta:
        indexes = (
            (("kind", "subject_type", "subject_id", "recipient", "round"), True),
            (("subject_type", "subject_id"), False),
            (("status", "sent_at"), False),
            # The Information and Records Manager's list, and the follow-ups, by when raised.
            (("raised_at",), False),
        )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def overdue(self, now: dt.datetime) -> bool:
        """Sent through Notify and still not delivered after DELIVERY_DEADLINE."""
        return (
            self.status in WAITING
            and self.sent_at is not None
            and self.sent_at <= now - DELIVERY_DEADLINE
        )

    @classmethod
    def for_key(cls, key: Key) -> Delivery | None:
        kind, subject_type, subject_id, recipient_id, round_ = key
        return cls.get_or_none(
            (cls.kind == kind)
            & (cls.subject_type == subject_type)
            & (cls.subject_id == subject_id)
            & (cls.recipient == recipient_id)
            & (cls.round == round_)
        )

    @classmethod
    def of_subject(cls, subject_type: str, subject_id: int) -> list[Delivery]:
        """Every message about one case or removal, oldest first, with its recipient."""
        return list(
            cls.select(cls, User)
            .join(User)
            .where(cls.subject_type == subject_type, cls.subject_id == subject_id)
            .order_by(cls.sent_at, cls.id)
        )

    def change(self, **fields) -> None:
        """Write these fields when the row is still at our version, else raise Stale."""
        cls = type(self)
        fields["version"] = self.version + 1
        updated = (
            cls.update(**fields).where(cls.id == self.id, cls.version == self.version).execute()
        )
        if updated != 1:
            raise Stale(f"delivery {self.id} changed meanwhile")
        for name, value in fields.items():
            setattr(self, name, value)


def counts_as_told(now: dt.datetime):
    """A notification-list row joined (left) to its Delivery tells its person unless the
    e-mail failed, or went through Notify and is still undelivered past the deadline."""
    return Delivery.id.is_null() | (
        Delivery.status.not_in(sorted(FAILED))
        & ~(Delivery.status.in_(sorted(WAITING)) & (Delivery.sent_at <= now - DELIVERY_DEADLINE))
    )
