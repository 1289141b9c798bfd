"""Typing a date and time the way a person does: the day, month, year and time boxes of the
field whose legend is `legend`."""

from __future__ import annotations

import datetime as dt

from machines import clock


def uk_minute(delta: dt.timedelta = dt.timedelta(0)) -> dt.datetime:
    """The app's now + delta (UTC), to the minute."""
    return (clock.now() + delta).replace(second=0, microsecond=0)


def fill_time(scope, legend: str, at: dt.datetime) -> None:
    """Type `at` (UTC) in UK time into the date-and-time field named by `legend`."""
    group = scope.get_by_role("group", name=legend, exact=True).first
    local = clock.to_uk(at)
    group.get_by_label("Day").fill(str(local.day))
    group.get_by_label("Month").fill(str(local.month))
    group.get_by_label("Year").fill(str(local.year))
    group.get_by_label("Time").fill(f"{local:%H:%M}")
