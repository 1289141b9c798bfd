"""The breach register's figures: pure functions over a few columns of the filtered cases.

No queries here. The register view fetches the columns below for every case in the filter
in one statement and hands the rows over, so the figures cost one query at any volume and
unit tests can check them against hand-worked numbers.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from machines.breach import ICO_HOURS
from models.clock import to_uk

# Awareness (discovered_at) starts the ICO clock, weekends included (UK GDPR Art. 33).
ICO_WINDOW = dt.timedelta(hours=ICO_HOURS)

# Each stage after `reported` and the Breach column stamped when a case reaches it.
STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("notified", "notified_at"),
    ("risk_assessed", "assessed_at"),
    ("service_user_informed", "informed_at"),
    ("decided", "decided_at"),
    ("closed", "closed_at"),
)

# The columns each row carries, in this order (the view selects exactly these).
COLUMNS: tuple[str, ...] = (
    "discovered_at",
    *(column for _, column in STAGE_COLUMNS),
    "ico_referred_at",
)


def as_datetime(value: object) -> dt.datetime | None:
    """Return a stored timestamp as a naive datetime (SQLite hands back ISO text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    raise TypeError(f"not a timestamp: {value!r}")


@dataclass(frozen=True)
class CaseTimes:
    """The timestamps of one case that the figures need."""

    discovered_at: dt.datetime
    notified_at: dt.datetime | None = None
    assessed_at: dt.datetime | None = None
    informed_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    ico_referred_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Sequence[object]) -> CaseTimes:
        """Build from a database row whose values follow COLUMNS."""
        return cls(*(as_datetime(v) for v in row))


def month_start(value: dt.datetime) -> dt.date:
    """The first day of the UK calendar month a stored (UTC) time falls in."""
    local = to_uk(value)
    return dt.date(local.year, local.month, 1)


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
    counts = Counter(month_start(d) for d in discovered)
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


def ico_within_72_hours(cases: Iterable[CaseTimes]) -> IcoShare:
    """Among cases referred to the ICO, count those referred by discovery + 72 hours."""
    referred = within = 0
    for case in cases:
        if case.ico_referred_at is None:
            continue
        referred += 1
        if case.ico_referred_at <= ico_deadline(case.discovered_at):
            within += 1
    return IcoShare(referred=referred, within=within)


def hours_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 3600


def median_hours(pairs: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> float | None:
    """Median hours from start to end over pairs whose end is set; None when there are none."""
    hours = [hours_between(start, end) for start, end in pairs if end is not None]
    return statistics.median(hours) if hours else None


@dataclass(frozen=True)
class StageMedian:
    stage: str
    hours: float | None
    cases: int  # how many cases reached the stage (the median's sample)


def stage_medians(cases: Sequence[CaseTimes]) -> list[StageMedian]:
    """For each stage, the median hours from discovery to reaching it, over cases that did."""
    result = []
    for stage, column in STAGE_COLUMNS:
        pairs = [(c.discovered_at, getattr(c, column)) for c in cases]
        reached = sum(1 for _, end in pairs if end is not None)
        result.append(StageMedian(stage=stage, hours=median_hours(pairs), cases=reached))
    return result


@dataclass(frozen=True)
class Figures:
    total: int
    months: list[tuple[dt.date, int]]
    ico: IcoShare
    medians: list[StageMedian]


def register_figures(
    rows: Iterable[Sequence[object]],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> Figures:
    """Every figure for the filtered set, from rows of COLUMNS."""
    cases = [CaseTimes.from_row(row) for row in rows]
    return Figures(
        total=len(cases),
        months=cases_per_month((c.discovered_at for c in cases), first, last),
        ico=ico_within_72_hours(cases),
        medians=stage_medians(cases),
    )


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
    plot_height: int = 160,
    top: int = 24,
    left: int = 8,
    bottom: int = 40,
) -> Chart:
    """Lay out one bar per month: heights scale to the busiest month, each bar keeps its number."""
    peak = max((count for _, count in months), default=0)
    bar_width = slot * 0.7
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
    width = left * 2 + max(1, len(months)) * slot
    return Chart(
        width=width,
        height=top + plot_height + bottom,
        baseline=baseline,
        left=left,
        bars=bars,
        peak=peak,
    )
