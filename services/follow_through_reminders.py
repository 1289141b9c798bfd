"""What is due after a breach decision and a referral, for `flask send-reminders`: each open
item the ICO is owed (to everyone who handles the ICO) and each open action (to its owner),
a week before its due date, on the day, and once overdue.

A reminder's round is its due date and stage, so a new due date (the ICO gave more time, the
action was moved) starts the ladder again, and each stage goes once per person however many
servers run the command (services/reminders.py claims each before sending it).
"""

from __future__ import annotations

import datetime as dt

from machines.permissions import Can, roles_that
from models.breaches import Breach
from models.follow_through import BreachAction, IcoItem
from models.people import User, UserRole
from models.reminders import Reminder
from services.message_kinds import ACTION_DUE, ICO_ITEM_DUE

SUBJECT_TYPES = {ICO_ITEM_DUE: "ico_item", ACTION_DUE: "action"}
WARN_DAYS = 7
SOON, TODAY, OVERDUE = 0, 1, 2


def stage(due_on: dt.date, today: dt.date) -> int | None:
    """Which reminder a due date calls for today: none yet, due soon, due today, overdue."""
    if today > due_on:
        return OVERDUE
    if today == due_on:
        return TODAY
    if today >= due_on - dt.timedelta(days=WARN_DAYS):
        return SOON
    return None


def reminder_round(due_on: dt.date, today: dt.date) -> int | None:
    """The claim's round: the due date and the stage, so a moved date starts afresh."""
    current = stage(due_on, today)
    return None if current is None else due_on.toordinal() * 10 + current


def due_rows(kind: str, now: dt.datetime, today: dt.date) -> list[dict]:
    """One row per (open item or action, active recipient) whose current reminder is not
    claimed: subject_id, reference, due_on, round, stage, recipient_id, email."""
    model = IcoItem if kind == ICO_ITEM_DUE else BreachAction
    Recipient = User.alias("recipient")
    if kind == ICO_ITEM_DUE:
        handlers = UserRole.select(UserRole.user).where(
            UserRole.role.in_(sorted(roles_that(Can.FOLLOW_UP_WITH_ICO)))
        )
        recipient_is = Recipient.id.in_(handlers)
    else:
        recipient_is = Recipient.id == BreachAction.owner
    query = (
        model.select(
            model.id.alias("subject_id"),
            model.due_on,
            Breach.reference,
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(Breach, on=(model.breach == Breach.id))
        .switch(model)
        .join(Recipient, on=recipient_is)
        .where(
            model.state == "open",
            model.due_on <= today + dt.timedelta(days=WARN_DAYS),
            Breach.closed_at.is_null(),
            Recipient.active == True,  # noqa: E712
        )
        .order_by(model.id, Recipient.id)
        .dicts()
    )
    rows = [
        {**row, "round": reminder_round(row["due_on"], today), "stage": stage(row["due_on"], today)}
        for row in query
    ]
    return _unclaimed(kind, rows, now)


def _unclaimed(kind: str, rows: list[dict], now: dt.datetime) -> list[dict]:
    """Leave out the reminders sent, or claimed by a run that may still be sending."""
    if not rows:
        return []
    subject_type = SUBJECT_TYPES[kind]
    claimed = {
        (r.subject_id, r.recipient_id, r.round)
        for r in Reminder.select(Reminder.subject_id, Reminder.recipient, Reminder.round).where(
            Reminder.kind == kind,
            Reminder.subject_type == subject_type,
            Reminder.subject_id.in_(sorted({row["subject_id"] for row in rows})),
            Reminder._live(now),
        )
    }
    return [
        row for row in rows if (row["subject_id"], row["recipient_id"], row["round"]) not in claimed
    ]
