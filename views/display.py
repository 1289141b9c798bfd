"""Template filters: times are stored in UTC and shown in UK local time."""

from __future__ import annotations

import datetime as dt

from models.clock import to_uk


def uk_datetime(value: dt.datetime | None) -> str:
    """Format a stored UTC time as UK local time, e.g. '3 March 2026 at 2:05pm'."""
    if value is None:
        return ""
    local = to_uk(value)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{local:%p}".replace("AM", "am").replace(
        "PM", "pm"
    )


def uk_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_uk(value).date()
    return f"{value.day} {value:%B %Y}"
