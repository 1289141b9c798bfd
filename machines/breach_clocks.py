"""A breach case's deadlines: the ICO's 72 hours from awareness, and the police-immediately
flag and reminder for a loss or theft (DOMAIN.md section 3). Pure: the caller gives `now`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from machines.breach_report import CLOSED_STATES, POLICE_CATEGORIES
from machines.breach_rules import is_skippable_near_miss
from machines.common import (
    UK,
    text,
    uk_date,
)

ICO_HOURS = 72


def ico_deadline(discovered_at: dt.datetime) -> dt.datetime:
    """72 hours after awareness, weekends and bank holidays included (naive UTC)."""
    return discovered_at + dt.timedelta(hours=ICO_HOURS)


def clock_status(discovered_at: dt.datetime, now: dt.datetime) -> tuple[float, bool]:
    """Return (hours left to tell the ICO, overdue?); hours are negative once overdue.

    The deadline itself is still in time, as in the register's "within 72 hours".
    """
    left = ico_deadline(discovered_at) - now
    return left.total_seconds() / 3600, left < dt.timedelta(0)


def police_flag(
    category: str | None,
    police_reference: str | None,
    discovered_at: dt.datetime,
    now: dt.datetime,
    state: str = "reported",
) -> bool:
    """A loss or theft with no crime reference yet, once its day of discovery has passed.

    The police are to be told immediately and their crime reference often comes days later:
    the flag stays up until the reference is recorded. Why there is none yet lets the case be
    notified meanwhile, but does not take the flag down. A closed case is flagged no more.
    """
    if category not in POLICE_CATEGORIES or state in CLOSED_STATES:
        return False
    if text(police_reference):
        return False
    return uk_date(now) > uk_date(discovered_at)


def working_day_after(at: dt.datetime) -> dt.datetime:
    """The same time (UK) on the next working day (Monday to Friday), as naive UTC.

    Bank holidays are not known here: they count as working days.
    """
    local = at.replace(tzinfo=dt.UTC).astimezone(UK)
    day = local.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    later = dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=UK)
    return later.astimezone(dt.UTC).replace(tzinfo=None)


def police_reminder_due(model: Any, now: dt.datetime) -> bool:
    """A loss or theft still without a crime reference one working day after its discovery."""
    return (
        model.category in POLICE_CATEGORIES
        and model.state not in CLOSED_STATES
        and not text(model.police_reference)
        and now >= working_day_after(model.discovered_at)
    )


@dataclass(frozen=True)
class CaseClock:
    """The deadlines a case shows: the ICO's 72 hours and the police-immediately flag."""

    deadline: dt.datetime | None  # None: a near miss that kept the data in has no ICO clock
    hours_left: float
    overdue: bool
    near_miss: bool
    stopped: bool  # the ICO was told, the case is closed, or it was assessed not reportable
    police_flag: bool


def case_clock(model: Any, now: dt.datetime) -> CaseClock:
    """Where a case stands against its deadlines now (for lists, the board and the case)."""
    hours_left, overdue = clock_status(model.discovered_at, now)
    # A near miss that kept the data in is not a personal data breach: no ICO deadline.
    near_miss = is_skippable_near_miss(model)
    return CaseClock(
        deadline=None if near_miss else ico_deadline(model.discovered_at),
        hours_left=hours_left,
        overdue=overdue and not near_miss,
        near_miss=near_miss,
        stopped=bool(model.ico_referred or model.state == "closed" or model.reportable is False),
        police_flag=police_flag(
            model.category, model.police_reference, model.discovered_at, now, model.state
        ),
    )
