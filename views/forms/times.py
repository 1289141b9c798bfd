"""A date and time as people type it: a GOV.UK date input (day, month, year) and a 24-hour
time box, read as UK local time and kept as naive UTC.

It replaces `<input type="datetime-local">`, which a browser shows in its own locale's order
(mm/dd/yyyy in an en-US browser) beside GOV.UK date inputs everywhere else.

Clock changes: at the spring change there is no 01:00-01:59 (the clocks go from 1am to 2am),
so such a time is refused. At the autumn change 01:00-01:59 happens twice; guessing which one
could move a 72-hour deadline by an hour, so the time is refused unless it says which, with
"BST" (the first, still summer time) or "GMT" (the second): the message says exactly that.
"""

from __future__ import annotations

import datetime as dt
import re

from machines import clock
from machines.clock import UK
from views.forms.fields import GovDate, clean_text

# Nothing Safekeep records (a breach, a notification, a referral) happened before the
# council's current social care case records: a year before 2000 is a typing slip (0001,
# 1970 from a zeroed clock), not a real event, and would skew the register's figures.
EARLIEST = dt.date(2000, 1, 1)

# "14:30", "9:05", "14.30"; then "BST" or "GMT" where the clocks going back make it needed.
_TIME = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})(?:\s*(BST|GMT))?", re.IGNORECASE)
_OFFSETS = {"BST": dt.timedelta(hours=1), "GMT": dt.timedelta(0)}


def _clock_words(moment: dt.datetime) -> str:
    hour = moment.strftime("%I").lstrip("0") or "12"
    return f"{hour}:{moment:%M}{moment:%p}".lower()


def uk_to_utc(local: dt.datetime, zone: str | None = None) -> dt.datetime:
    """Naive UTC for a UK wall-clock time; ValueError (in words) for a time that did not
    happen, or one that happened twice without `zone` ("BST" or "GMT") saying which."""
    first = local.replace(tzinfo=UK, fold=0)
    second = local.replace(tzinfo=UK, fold=1)
    day = f"{local.day} {local:%B %Y}"
    as_utc = first.astimezone(dt.UTC)
    if as_utc.astimezone(UK).replace(tzinfo=None) != local:
        raise ValueError(
            f"{_clock_words(local)} did not exist on {day}: the clocks went forward from 1am "
            "to 2am. Enter the time the clock showed"
        )
    ambiguous = first.utcoffset() != second.utcoffset()
    if zone:
        offset = _OFFSETS[zone.upper()]
        if offset not in (first.utcoffset(), second.utcoffset()):
            raise ValueError(f"On {day} UK time was {first.tzname()}, not {zone.upper()}")
        return (local - offset).replace(tzinfo=None)
    if ambiguous:
        raise ValueError(
            f"{_clock_words(local)} happened twice on {day}, as the clocks went back an hour. "
            f"Enter {local:%H:%M} BST for the first time or {local:%H:%M} GMT for the second"
        )
    return as_utc.replace(tzinfo=None)


class UkDateTime(GovDate):
    """A date (boxes `<name>-day`, `-month`, `-year`) and a time (`<name>-time`), in UK time;
    the value is naive UTC. `label` names it in messages, in lower case: "when it happened".
    Left empty it is None (the machine says when it is needed); half-filled it is refused."""

    PARTS = ("day", "month", "year", "time")

    def __init__(self, label: str = "", required: bool = False, **kwargs):
        super().__init__(label, required, **kwargs)

    def process(self, formdata, data=None, extra_filters=None) -> None:
        self.process_errors = []
        self.data = None
        self.parts = {p: "" for p in self.PARTS}
        self.error_parts: tuple[str, ...] = ()
        if formdata is None:
            return
        self.parts = {p: clean_text(formdata.get(f"{self.name}-{p}")) for p in self.PARTS}
        self.raw_data = list(self.parts.values())
        try:
            self.data = self._parse_moment()
        except ValueError as error:
            self.process_errors.append(error.args[0])

    def _refuse(self, message: str, *parts: str):
        self.error_parts = parts
        self._anchor = f"{self.name}-{parts[0]}"
        raise ValueError(message)

    def _parse_moment(self) -> dt.datetime | None:
        label = self.label.text
        name = label[0].upper() + label[1:]
        date_parts = ("day", "month", "year")
        typed_date = [self.parts[p] for p in date_parts]
        typed_time = self.parts["time"]
        if not any(typed_date) and not typed_time:
            if self.required:
                self._refuse(f"Enter the day, month and year {label}", *date_parts)
            return None
        if not any(typed_date):
            self._refuse(f"Enter the day, month and year {label}", *date_parts)
        missing = [p for p, v in zip(date_parts, typed_date, strict=True) if not v]
        if missing:
            self._refuse(f"{name} must include a {missing[0]}", *missing)
        day, month, year = (self._number(v) for v in typed_date)
        try:
            if None in (day, month, year):
                raise ValueError
            date = dt.date(year, month, day)
        except (ValueError, TypeError, OverflowError):
            self._refuse(f"{name} must be a real date", *date_parts)
        if date < EARLIEST:
            self._refuse(f"{name} must be on or after {EARLIEST.day} {EARLIEST:%B %Y}", "year")
        if not typed_time:
            self._refuse(f"Enter the time {label}, like 14:30", "time")
        found = _TIME.fullmatch(typed_time)
        if not found or int(found[1]) > 23 or int(found[2]) > 59:
            self._refuse("Enter a real time, like 14:30", "time")
        local = dt.datetime.combine(date, dt.time(int(found[1]), int(found[2])))
        try:
            return uk_to_utc(local, found[3])
        except ValueError as error:
            self._refuse(error.args[0], "time")

    @staticmethod
    def _number(text: str) -> int | None:
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


def example_date(days: int) -> str:
    """A hint's example date `days` from today (negative for a past event), as typed."""
    day = clock.uk_today() + dt.timedelta(days=days)
    return f"{day.day} {day.month} {day.year}"
