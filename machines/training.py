"""Data protection training in date where the risk is (issue 26, DOMAIN.md §7).

Taking papers out and preparing a dispatch need the person's training completed within the
council's period (TRAINING_VALID_MONTHS). When it has lapsed, their line manager may allow one
removal with a recorded reason: an exception the removal it allowed uses up.

No Flask, no queries: a person's standing is a plain value (`Training`), which the rows the
machines move expose (`Removal.holder_training`, `Dispatch.drafter_training`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from machines.common import Actor, uk_date

DEFAULT_VALID_MONTHS = 12
# Reminders go this many days before the training lapses; boards list who lapses within it.
LAPSING_SOON_DAYS = 30
EXCEPTION_REASON_MAX = 500
# A training date older than this is no training in date under any period a council sets.
OLDEST_TRAINING_YEARS = 20


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the month's last day when it is shorter (31 Jan + 1)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Training:
    """A person's data protection training as the rules read it.

    `exception_id` is an exception their line manager allowed that no removal has used yet.
    """

    trained_on: dt.date | None
    months: int = DEFAULT_VALID_MONTHS
    exception_id: int | None = None

    @property
    def lapses_on(self) -> dt.date | None:
        """The first day the training no longer counts (None when none is recorded)."""
        return None if self.trained_on is None else add_months(self.trained_on, self.months)

    def in_date(self, today: dt.date) -> bool:
        """Completed, and the period has not run out by `today` (a UK calendar day)."""
        lapses_on = self.lapses_on
        return lapses_on is not None and self.trained_on <= today < lapses_on

    def lapses_soon(self, today: dt.date, days: int = LAPSING_SOON_DAYS) -> bool:
        """In date today, but not `days` from now: the boards list them, reminders go."""
        return self.in_date(today) and self.lapses_on <= today + dt.timedelta(days=days)

    def allows_papers_out(self, today: dt.date) -> bool:
        """In date, or a removal allowed by an exception not yet used."""
        return self.in_date(today) or self.exception_id is not None

    def why_not(self, today: dt.date) -> str | None:
        """Why this person may not take papers out (None when they may), in their words."""
        return None if self.in_date(today) else self.described(today)

    def described(self, today: dt.date, whose: str = "Your") -> str:
        """The standing in a sentence: `whose` is "Your" or "Alex Byrne's"."""
        training = f"{whose} data protection training"
        if self.trained_on is None:
            return f"{training} is not recorded."
        if self.trained_on > today:
            return f"{training} is recorded for a date still to come."
        if not self.in_date(today):
            return f"{training} lapsed on {long_date(self.lapses_on)}."
        return f"{training} is in date until {long_date(self.lapses_on - dt.timedelta(days=1))}."


def long_date(day: dt.date) -> str:
    """ "3 March 2026": the GOV.UK way of writing a date."""
    return f"{day.day} {day:%B %Y}"


def _today(now: Any) -> dt.date | None:
    return uk_date(now) if isinstance(now, dt.datetime) else None


# -- the guards (common.py's shape: plain functions of (model, actor=None, now=None)) -------


def holder_trained(model: Any, actor: Actor | None = None, now: Any = None) -> bool:
    """Papers go out with someone whose training is in date, or whom an exception allows."""
    today = _today(now)
    return today is not None and model.holder_training.allows_papers_out(today)


def drafter_trained(model: Any, actor: Actor | None = None, now: Any = None) -> bool:
    """A dispatch is prepared and sent by someone whose training is in date (no exception)."""
    today = _today(now)
    return today is not None and model.drafter_training.in_date(today)


# -- an exception: who may allow one, and what it must say ----------------------------------


def may_allow_exception(person: Actor, training: Training, actor: Actor | None, now: Any) -> bool:
    """Only the person's own line manager, only once it has lapsed, one unused at a time."""
    today = _today(now)
    return (
        actor is not None
        and person.line_manager_id is not None
        and actor.id == person.line_manager_id
        and actor.id != person.id
        and today is not None
        and not training.in_date(today)
        and training.exception_id is None
    )


def exception_reason_error(reason: Any) -> str | None:
    """The GOV.UK error for the manager's reason, or None (length checked before anything)."""
    value = "" if reason is None else str(reason).strip()
    if len(value) > EXCEPTION_REASON_MAX:
        return f"Reason must be {EXCEPTION_REASON_MAX:,} characters or fewer"
    if not value:
        return "Enter why this removal should go ahead before the training is done"
    return None


def training_date_error(trained_on: Any, today: dt.date) -> str | None:
    """The GOV.UK error for a recorded training date, or None."""
    if not isinstance(trained_on, dt.date):
        return "Enter the date the training was completed"
    if trained_on > today:
        return "The date the training was completed must be today or in the past"
    if trained_on < add_months(today, -12 * OLDEST_TRAINING_YEARS):
        years = OLDEST_TRAINING_YEARS
        return f"The date the training was completed must be within the last {years} years"
    return None
