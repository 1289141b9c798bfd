"""The breach register's figures: counted by the database, defined by pure functions.

`figures_of(query)` asks the database for every figure of the filtered cases in two
statements (totals and medians; cases per month), whatever their number: nothing is loaded
row by row. The pure functions below (`register_figures` over raw rows) are the definition:
unit tests check them against hand-worked numbers, and tests/http/test_register.py checks
the database's figures against them on both databases.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from peewee import SQL, Case, fn

from machines.breach_clocks import ICO_HOURS
from machines.clock import to_uk

# Awareness (discovered_at) starts the ICO clock, weekends included (UK GDPR Art. 33).
ICO_WINDOW = dt.timedelta(hours=ICO_HOURS)

# The time a case spends in each stage, in the order a case moves: the stage, what it is
# waiting for in plain words, and the Breach columns stamped when it starts and ends. Each is
# a span of its own, so "decided, waiting to be closed: 1.2 hours" cannot be read as a case
# closed faster than it was decided.
STAGE_SPANS: tuple[tuple[str, str, str, str], ...] = (
    ("discovered", "Discovered, until reported in Safekeep", "discovered_at", "reported_at"),
    ("reported", "Reported, until everyone on the list was told", "reported_at", "notified_at"),
    ("notified", "Everyone told, until the risk was assessed", "notified_at", "assessed_at"),
    (
        "risk_assessed",
        "Risk assessed, until the service user was told (or not, with the reason)",
        "assessed_at",
        "informed_at",
    ),
    (
        "service_user_informed",
        "Service user told, until the Assistant Director's decision",
        "informed_at",
        "decided_at",
    ),
    ("decided", "Decided, until the case was closed", "decided_at", "closed_at"),
    ("whole", "The whole case: from discovery to closed", "discovered_at", "closed_at"),
)

# The columns each row carries, in this order (the view selects exactly these).
COLUMNS: tuple[str, ...] = (
    "discovered_at",
    "reported_at",
    "notified_at",
    "assessed_at",
    "informed_at",
    "decided_at",
    "closed_at",
    "ico_referred_at",
)


def as_datetime(value: object) -> dt.datetime | None:
    """Return a stored timestamp as a naive datetime (SQLite hands back ISO text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    raise TypeError(f"not a timestamp: {value!r}")


def parse_column(values: Iterable[object]) -> list[dt.datetime | None]:
    """as_datetime over a whole column (the register's hot loop: 70,000 values at 10,000 cases)."""
    parse = dt.datetime.fromisoformat
    return [parse(v) if type(v) is str else as_datetime(v) for v in values]


_HOUR = dt.timedelta(hours=1)

T = TypeVar("T")


def month_start(value: dt.datetime) -> dt.date:
    """The first day of the UK calendar month a stored (UTC) time falls in."""
    # London is UTC or UTC+1, so only the last hour (UTC) of a month can fall in the next
    # UK month: ask the time zone database just then (it is the slow part of this loop).
    if value.hour == 23 and (value + _HOUR).month != value.month:
        local = to_uk(value)
        return dt.date(local.year, local.month, 1)
    return dt.date(value.year, value.month, 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def cases_per_month(
    discovered: Iterable[dt.datetime],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> list[tuple[dt.date, int]]:
    """Count cases by the UK month they were discovered, every month in range (zeros too).

    The range runs from `first` (or the earliest case's month) to `last` (or the latest
    case's month); months with no cases are kept, so a chart shows the gaps.
    """
    return every_month(Counter(month_start(d) for d in discovered), first, last)


def every_month(
    counts: Mapping[dt.date, int], first: dt.date | None = None, last: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """Cases per month from counts by month's first day, with the empty months between."""
    if first is not None:
        first = first.replace(day=1)
    if last is not None:
        last = last.replace(day=1)
    start = first or (min(counts) if counts else None)
    end = last or (max(counts) if counts else None)
    if start is None or end is None or start > end:
        return []
    months = []
    month = start
    while month <= end:
        months.append((month, counts.get(month, 0)))
        month = _next_month(month)
    return months


@dataclass(frozen=True)
class IcoShare:
    """Cases referred to the ICO, and how many of those within 72 hours of awareness."""

    referred: int
    within: int

    @property
    def late(self) -> int:
        return self.referred - self.within

    @property
    def percent(self) -> float | None:
        """The share within 72 hours as a percentage, or None when nothing was referred."""
        return None if self.referred == 0 else 100 * self.within / self.referred


def ico_deadline(discovered_at: dt.datetime) -> dt.datetime:
    return discovered_at + ICO_WINDOW


def ico_within_72_hours(
    pairs: Iterable[tuple[dt.datetime, dt.datetime | None]],
) -> IcoShare:
    """Over (discovered, referred to the ICO) pairs: referrals, and those by discovery + 72 h.

    Cases never referred are not in the share (most are not reportable at all).
    """
    referred = within = 0
    for discovered, referred_at in pairs:
        if referred_at is None:
            continue
        referred += 1
        if referred_at - discovered <= ICO_WINDOW:
            within += 1
    return IcoShare(referred=referred, within=within)


def median_hours(pairs: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> float | None:
    """Median hours from start to end over pairs whose end is set; None when there are none."""
    hours = [(end - start).total_seconds() / 3600 for start, end in pairs if end is not None]
    return statistics.median(hours) if hours else None


@dataclass(frozen=True)
class StageMedian:
    stage: str
    label: str  # what the stage waits for, in plain words
    hours: float | None
    cases: int  # how many cases have left the stage (the median's sample)


def stage_medians(columns: Mapping[str, Sequence[dt.datetime | None]]) -> list[StageMedian]:
    """For each stage in lifecycle order, the median hours a case spent in it, over the cases
    that have both entered and left it. `columns` maps COLUMNS to their values (same order)."""
    size = len(columns.get("discovered_at") or [])
    result = []
    for stage, label, start, end in STAGE_SPANS:
        starts = columns.get(start) or [None] * size
        ends = columns.get(end) or [None] * size
        pairs = [(a, b) for a, b in zip(starts, ends, strict=True) if a is not None]
        result.append(
            StageMedian(
                stage=stage,
                label=label,
                hours=median_hours(pairs),
                cases=sum(1 for _, b in pairs if b is not None),
            )
        )
    return result


@dataclass(frozen=True)
class Figures:
    total: int
    months: list[tuple[dt.date, int]]
    ico: IcoShare
    medians: list[StageMedian]


def register_figures(
    rows: Sequence[Sequence[object]],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> Figures:
    """Every figure for the filtered set, from database rows of COLUMNS (column by column)."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    columns = {name: parse_column(column) for name, column in zip(COLUMNS, values, strict=True)}
    discovered = columns["discovered_at"]
    return Figures(
        total=len(discovered),
        months=cases_per_month(discovered, first, last),
        ico=ico_within_72_hours(zip(discovered, columns["ico_referred_at"], strict=True)),
        medians=stage_medians(columns),
    )


# -- The same figures, counted by the database ------------------------------------------------
#
# Two statements whatever the number of cases: totals with the stage medians, and cases per
# month. SQLite and PostgreSQL differ in date arithmetic and medians, so those few
# expressions are written for each; both give the figures the functions above define
# (tests/http/test_register_volume.py holds them to it on every backend).


def _postgres() -> bool:
    from models.base import is_postgres

    return is_postgres()


def db_of(query):
    """The database a query runs on."""
    return query.model._meta.database


def _hours(start, end):
    """Hours from `start` to `end`, exact to the millisecond (SQLite's precision)."""
    if _postgres():
        return fn.date_part("epoch", end - start) / 3600.0
    return fn.ROUND((fn.julianday(end) - fn.julianday(start)) * 86_400_000) / 3_600_000.0


def _within_ico_window(discovered, referred):
    if _postgres():
        return referred <= discovered + SQL(f"INTERVAL '{ICO_HOURS} hours'")
    return fn.julianday(referred) <= fn.julianday(discovered, f"+{ICO_HOURS} hours")


def month_keys(discovered):
    """The UTC month of a time and of an hour later: they differ only in a month's last hour."""
    if _postgres():
        return (
            fn.to_char(discovered, "YYYY-MM"),
            fn.to_char(discovered + SQL("INTERVAL '1 hour'"), "YYYY-MM"),
        )
    return fn.strftime("%Y-%m", discovered), fn.strftime("%Y-%m", discovered, "+1 hour")


def _median_sql(column: str) -> str:
    """The median of a column of the cases' hours (NULLs left out), as SQL over `hours`."""
    if _postgres():
        return f'percentile_cont(0.5) WITHIN GROUP (ORDER BY "{column}")'
    # SQLite has no median: the middle one (or two) of the sorted values, found by OFFSET
    # from the count of them (counted once for every stage, in "counts").
    count = f'(SELECT "{column}" FROM "counts")'
    return (
        f'(SELECT AVG("v") FROM (SELECT "{column}" AS "v" FROM "hours" '
        f'WHERE "{column}" IS NOT NULL ORDER BY "v" '
        f"LIMIT 2 - {count} % 2 OFFSET ({count} - 1) / 2))"
    )


def uk_month(month: str, an_hour_later: str) -> dt.date:
    year, number = (int(part) for part in month.split("-"))
    first = dt.date(year, number, 1)
    if month == an_hour_later:
        return first
    # The month's last hour (UTC): London is already in the next month on summer time.
    following = _next_month(first)
    return month_start(dt.datetime(following.year, following.month, 1) - dt.timedelta(minutes=30))


def figures_of(query, first: dt.date | None = None, last: dt.date | None = None) -> Figures:
    """Every figure for the cases `query` (a Breach select, filtered) finds, counted by the
    database in two statements, whatever their number."""
    model = query.model
    discovered, referred = model.discovered_at, model.ico_referred_at
    query = query.order_by()
    # Each case's hours in each stage (NULL unless it has entered and left it), worked out
    # once (materialised), then counted, and the middle of each found: one pass over the
    # cases, one sort per stage.
    hours, params = query.select(
        referred.alias("referred"),
        Case(None, ((_within_ico_window(discovered, referred), 1),), 0).alias("within"),
        *(
            _hours(getattr(model, start), getattr(model, end)).alias(stage)
            for stage, _, start, end in STAGE_SPANS
        ),
    ).sql()
    columns = [stage for stage, _, _, _ in STAGE_SPANS]
    counts = ", ".join(f'COUNT("{column}") AS "{column}"' for column in columns)
    counted = "" if _postgres() else f', "counts" AS MATERIALIZED (SELECT {counts} FROM "hours")'
    totals = (
        db_of(query)
        .execute_sql(
            f'WITH "hours" AS MATERIALIZED ({hours}){counted} '
            'SELECT COUNT(*), COUNT("referred"), '
            'COALESCE(SUM("within"), 0), '
            + ", ".join(f'COUNT("{column}")' for column in columns)
            + ", "
            + ", ".join(_median_sql(column) for column in columns)
            + ' FROM "hours"',
            params,
        )
        .fetchone()
    )
    total, referred_count, within = totals[:3]
    counts = totals[3 : 3 + len(columns)]
    medians = totals[3 + len(columns) :]
    month, an_hour_later = month_keys(discovered)
    by_month: Counter[dt.date] = Counter()
    # Grouped by position: PostgreSQL takes each bound format string for a new expression.
    grouped = query.select(month, an_hour_later, fn.COUNT(SQL("*"))).group_by(SQL("1"), SQL("2"))
    for key, later, count in grouped.tuples():
        by_month[uk_month(key, later)] += count
    return Figures(
        total=total,
        months=every_month(by_month, first, last),
        ico=IcoShare(referred=referred_count, within=int(within or 0)),
        medians=[
            StageMedian(stage, label, None if hours is None else float(hours), cases)
            for (stage, label, _, _), cases, hours in zip(STAGE_SPANS, counts, medians, strict=True)
        ],
    )


class FiguresCache:
    """The figures of the last few filters, each kept while the tables they count are unchanged.

    Worked out from every case in the filter, they cost a pass over all of them (linear in
    the register's size); kept against the table's change stamp (models/counters.py, set by
    the database in the transaction of every change), the next view of the same filter reads
    one row instead. The first view after any change works them out again.
    """

    def __init__(self, size: int = 32):
        self.size = size
        self._kept: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def figures(self, key: Hashable, stamp: Hashable | None, work_out: Callable[[], T]) -> T:
        """The figures for `key` at `stamp` (one table's stamp, or a tuple of several);
        `work_out()` when not kept (always, without a stamp)."""
        if stamp is None:
            return work_out()
        with self._lock:
            kept = self._kept.get((key, stamp))
            if kept is not None:
                self._kept.move_to_end((key, stamp))
                return kept
        figures = work_out()
        with self._lock:
            self._kept[(key, stamp)] = figures
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return figures


def format_hours(hours: float | None) -> str:
    """'36 hours', '1.5 hours', or '4.2 days (101 hours)' for long waits; '' when none."""
    if hours is None:
        return ""
    if hours >= 72:
        return f"{hours / 24:.1f} days ({hours:.0f} hours)"
    if hours == int(hours):
        return f"{int(hours)} hour{'' if hours == 1 else 's'}"
    return f"{hours:.1f} hours"


# -- The cases-per-month chart, drawn by the template as inline SVG ------------------------


@dataclass(frozen=True)
class Bar:
    month: dt.date
    count: int
    x: float
    y: float
    width: float
    height: float
    label_x: float  # centre of the bar, for its number and its month
    label_y: float  # baseline of the number above the bar


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float  # y of the x axis
    left: int
    bars: list[Bar]
    peak: int


def chart_geometry(
    months: Sequence[tuple[dt.date, int]],
    *,
    slot: int = 34,
    min_width: int = 720,
    max_bar: int = 48,
    plot_height: int = 160,
    top: int = 24,
    left: int = 8,
    bottom: int = 40,
) -> Chart:
    """Lay out one bar per month: heights scale to the busiest month, each bar keeps its number.

    The SVG is drawn at the page's width, so a few months get wider slots (up to `max_bar`
    wide bars) instead of being blown up to giant text; many months get `slot` each.
    """
    peak = max((count for _, count in months), default=0)
    n = max(1, len(months))
    slot = max(slot, (min_width - 2 * left) / n)
    bar_width = min(slot * 0.7, max_bar)
    baseline = top + plot_height
    bars = []
    for i, (month, count) in enumerate(months):
        height = 0.0 if peak == 0 else plot_height * count / peak
        x = left + i * slot + (slot - bar_width) / 2
        bars.append(
            Bar(
                month=month,
                count=count,
                x=round(x, 1),
                y=round(baseline - height, 1),
                width=round(bar_width, 1),
                height=round(height, 1),
                label_x=round(x + bar_width / 2, 1),
                label_y=round(baseline - height - 6, 1),
            )
        )
    return Chart(
        width=round(left * 2 + n * slot),
        height=top + plot_height + bottom,
        baseline=baseline,
        left=left,
        bars=bars,
        peak=peak,
    )
