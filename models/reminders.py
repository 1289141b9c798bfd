"""The reminder claim table: one row per reminder sent (or being sent) to one person.

The claim is the insert: a UNIQUE index on (kind, subject_type, subject_id, recipient, round)
lets exactly one process create the row, and only that process sends the email. A removal's
`round` moves on when its return date is extended or its whereabouts confirmed, so the
ladder (due tomorrow, overdue, confirm location) starts again from the new date. The row is
committed before sending and marked sent after. A failure deletes it, so the next run
tries again (a message refused three times is given up: its claim stays, marked sent, and
its delivery row says "not sent": services/deliveries.py); a claim left unsent for
CLAIM_LEASE (its process died mid-send) may be taken over by a later run. What is due and
the sending itself: services/reminders.py.
"""

from __future__ import annotations

import datetime as dt

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, fn

from models.base import BaseModel, utcnow
from models.people import User
from models.records import Removal

# Far longer than one SMTP send can take (SMTP_TIMEOUT per step), so a live claim is never
# taken over; short enough that a crashed run's reminder still goes the same morning.
CLAIM_LEASE = dt.timedelta(minutes=15)

Key = tuple[str, str, int, int, int]  # kind, subject_type, subject_id, recipient_id, round


class SettingError(ValueError):
    """A REMINDER_* setting that cannot work."""


class Reminder(BaseModel):
    """One reminder to one person about one removal or breach: the claim and the receipt."""

    kind = CharField(max_length=20)
    subject_type = CharField(max_length=10)  # "removal", "breach", "agreement" or "training"
    subject_id = IntegerField()
    recipient = ForeignKeyField(User, backref="reminders", on_delete="CASCADE")
    round = IntegerField(default=0)
    claimed_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("kind", "subject_type", "subject_id", "recipient", "round"), True),)

    @classmethod
    def _key(cls, kind, subject_type, subject_id, recipient_id, round_=0):
        return (
            (cls.kind == kind)
            & (cls.subject_type == subject_type)
            & (cls.subject_id == subject_id)
            & (cls.recipient == recipient_id)
            & (cls.round == round_)
        )

    @classmethod
    def _live(cls, now: dt.datetime):
        """Sent, or claimed by a run that may still be sending."""
        return cls.sent_at.is_null(False) | (cls.claimed_at > now - CLAIM_LEASE)

    @classmethod
    def claim(cls, key: Key, now: dt.datetime) -> bool:
        """Return True only when this call made the claim: the reminder is ours to send.

        `as_rowcount()` matters on SQLite: a plain insert's result there is the connection's
        last rowid, which an ignored INSERT leaves at the previous insert's id.
        """
        kind, subject_type, subject_id, recipient_id, round_ = key
        inserted = (
            cls.insert(
                kind=kind,
                subject_type=subject_type,
                subject_id=subject_id,
                recipient=recipient_id,
                round=round_,
                claimed_at=now,
            )
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
        if inserted == 1:
            return True
        # One statement, so of two runs taking over the same abandoned claim only one matches.
        taken_over = (
            cls.update(claimed_at=now)
            .where(cls._key(*key), cls.sent_at.is_null(), cls.claimed_at <= now - CLAIM_LEASE)
            .execute()
        )
        return taken_over == 1

    @classmethod
    def release(cls, key: Key) -> None:
        """Give an unsent claim back so the next run tries again."""
        cls.delete().where(cls._key(*key), cls.sent_at.is_null()).execute()

    @classmethod
    def mark_sent(cls, key: Key, now: dt.datetime) -> None:
        cls.update(sent_at=now).where(cls._key(*key)).execute()


def ladder_start():
    """The day a removal's overdue reminders count from: its return date, or the day its
    whereabouts were last confirmed when that is later (Removal.ladder_from)."""
    return fn.COALESCE(Removal.ladder_from, Removal.due_on)


def confirm_location_cutoff(today: dt.date, confirm_after_days: int) -> dt.date:
    """Papers due on or before this day are REMINDER_CONFIRM_AFTER_DAYS or more overdue."""
    if confirm_after_days < 1:
        raise SettingError(
            f"REMINDER_CONFIRM_AFTER_DAYS must be 1 or more (it is {confirm_after_days})"
        )
    return today - dt.timedelta(days=confirm_after_days)


def confirm_location_tasks(teams: list[int] | None, today: dt.date, confirm_after_days: int):
    """Open "confirm location or report missing" tasks: removals out that long past due.

    A task exists while the papers are out that late, whether or not its email has gone yet
    (or could go: a manager without an email address still sees it on the board). `teams`
    None means every team. One query, with record, holder and team joined.
    """
    return confirm_location_tasks_due_by(teams, confirm_location_cutoff(today, confirm_after_days))


def confirm_location_tasks_due_by(teams: list[int] | None, cutoff: dt.date):
    """confirm_location_tasks for the papers due on or before `cutoff`."""
    query = Removal.with_people(with_team=True).where(
        Removal.state == "out", Removal.closed_at.is_null(), ladder_start() <= cutoff
    )
    if teams is not None:
        query = query.where(Removal.team.in_(teams))
    return query.order_by(Removal.due_on, Removal.id)
