"""The register's lessons learned (issue 26 item 3): per quarter, the breaches by cause and
category with the actions they led to, and the actions still open.

Grouped by the database (two statements, one row per month, category and kind of action),
whatever the number of cases; quarters follow the UK calendar, as the register's months do.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from peewee import SQL, fn

from models.breaches import Breach
from models.follow_through import BreachAction
from services.register_figures import month_keys, uk_month

# Bars are drawn in steps of this many per cent of the longest (static/src/app.scss).
BAR_STEP = 5


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year} Q{self.number}"

    @property
    def months(self) -> str:
        first = dt.date(self.year, 3 * self.number - 2, 1)
        last = dt.date(self.year, 3 * self.number, 1)
        return f"{first:%B} to {last:%B %Y}"


@dataclass
class Lesson:
    """One quarter's cases of one category, and the actions they led to by kind."""

    quarter: Quarter
    category: str
    cases: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    bar: int = 0  # the cases' bar, in per cent of the busiest row (a multiple of BAR_STEP)

    @property
    def action_total(self) -> int:
        return sum(self.actions.values())


def bar_width(count: int, peak: int) -> int:
    """The bar's width in per cent, rounded up to a step, so no count above 0 shows none."""
    if peak <= 0 or count <= 0:
        return 0
    steps = -(-count * 100 // (peak * BAR_STEP))  # ceiling
    return min(100, steps * BAR_STEP)


def lessons_by_quarter(cases) -> list[Lesson]:
    """For the cases `cases` (a Breach select, filtered), newest quarter first, categories
    in their order in each quarter."""
    cases = cases.order_by()
    month, an_hour_later = month_keys(Breach.discovered_at)
    lessons: dict[tuple[Quarter, str], Lesson] = {}

    def lesson(key: str, later: str, category: str) -> Lesson:
        quarter = Quarter.of(uk_month(key, later))
        return lessons.setdefault((quarter, category), Lesson(quarter, category))

    by_case = cases.select(month, an_hour_later, Breach.category, fn.COUNT(SQL("*")))
    for key, later, category, count in by_case.group_by(SQL("1"), SQL("2"), SQL("3")).tuples():
        lesson(key, later, category).cases += count
    led_to = (
        cases.select(
            month, an_hour_later, Breach.category, BreachAction.category, fn.COUNT(SQL("*"))
        )
        .join(BreachAction, on=(BreachAction.breach == Breach.id))
        .where(BreachAction.state != "draft")
    )
    grouped = led_to.group_by(SQL("1"), SQL("2"), SQL("3"), SQL("4")).tuples()
    for key, later, category, action_category, count in grouped:
        lesson(key, later, category).actions[action_category] += count
    rows = sorted(
        lessons.values(),
        key=lambda row: (-row.quarter.year, -row.quarter.number, row.category),
    )
    peak = max((row.cases for row in rows), default=0)
    for row in rows:
        row.bar = bar_width(row.cases, peak)
    return rows


@dataclass(frozen=True)
class OpenActions:
    rows: list  # BreachAction with .breach and .owner, soonest due first
    total: int
    overdue: int


def open_actions(today: dt.date, limit: int = 50) -> OpenActions:
    """The actions not yet done or accepted as not needed, soonest due first (the first
    `limit` of them listed), with how many there are and how many are overdue."""
    return OpenActions(
        rows=list(BreachAction.open_everywhere().limit(limit)),
        total=BreachAction.select().where(BreachAction.state == "open").count(),
        overdue=BreachAction.overdue_count(today),
    )
