"""The one clock: naive UTC now, and UK local time for display.

Tests move time with `clock.travel(...)` instead of waiting (the ICO 72-hour clock, overdue
removals); everything that asks the time asks here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """Return the current time as a naive UTC datetime (how every time is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + _offset


def travel(delta: dt.timedelta) -> None:
    """Move the clock by delta (tests only); `travel_reset()` puts it back."""
    global _offset
    _offset += delta


def travel_reset() -> None:
    global _offset
    _offset = dt.timedelta(0)


def to_uk(value: dt.datetime) -> dt.datetime:
    """Convert a stored naive UTC datetime to UK local time."""
    return value.replace(tzinfo=dt.UTC).astimezone(UK)


def from_uk(value: dt.datetime) -> dt.datetime:
    """Convert a naive UK local datetime (as a person types it) to naive UTC for storage."""
    return value.replace(tzinfo=UK).astimezone(dt.UTC).replace(tzinfo=None)


def uk_today() -> dt.date:
    return to_uk(now()).date()
