"""The register's figures against numbers worked out by hand (no database, no Flask)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.register_figures import (
    IcoShare,
    as_datetime,
    cases_per_month,
    chart_geometry,
    format_hours,
    ico_within_72_hours,
    median_hours,
    parse_column,
    register_figures,
    stage_medians,
)

T0 = dt.datetime(2026, 1, 10, 9, 0)


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def test_cases_per_month_keeps_empty_months_between_busy_ones():
    discovered = [
        dt.datetime(2026, 1, 3, 10),
        dt.datetime(2026, 1, 28, 10),
        dt.datetime(2026, 3, 15, 10),
    ]
    assert cases_per_month(discovered) == [
        (dt.date(2026, 1, 1), 2),
        (dt.date(2026, 2, 1), 0),
        (dt.date(2026, 3, 1), 1),
    ]


@pytest.mark.parametrize(
    ("utc", "uk_month"),
    [
        # British Summer Time: the last hour (UTC) of the month is already next month in London.
        (dt.datetime(2026, 3, 31, 23, 30), dt.date(2026, 4, 1)),
        (dt.datetime(2026, 6, 30, 23, 0), dt.date(2026, 7, 1)),
        (dt.datetime(2026, 6, 30, 22, 59), dt.date(2026, 6, 1)),
        # Greenwich Mean Time: UTC and London agree (BST ended on 25 October 2026).
        (dt.datetime(2026, 1, 31, 23, 30), dt.date(2026, 1, 1)),
        (dt.datetime(2026, 10, 31, 23, 30), dt.date(2026, 10, 1)),
        (dt.datetime(2025, 12, 31, 23, 59), dt.date(2025, 12, 1)),
    ],
)
def test_cases_per_month_uses_the_uk_calendar_not_utc(utc, uk_month):
    assert cases_per_month([utc]) == [(uk_month, 1)]


def test_cases_per_month_across_a_year_end_and_a_given_range():
    months = cases_per_month(
        [dt.datetime(2025, 12, 5, 12)], first=dt.date(2025, 11, 20), last=dt.date(2026, 1, 2)
    )
    assert months == [
        (dt.date(2025, 11, 1), 0),
        (dt.date(2025, 12, 1), 1),
        (dt.date(2026, 1, 1), 0),
    ]
    assert cases_per_month([]) == []


def test_exactly_72_hours_is_in_time_and_a_second_later_is_late():
    pairs = [
        (T0, hours(72)),
        (T0, hours(72) + dt.timedelta(seconds=1)),
        (T0, hours(5)),
        (T0, None),  # not referred: not part of the share
    ]
    share = ico_within_72_hours(pairs)
    assert share == IcoShare(referred=3, within=2)
    assert share.late == 1
    assert share.percent == pytest.approx(200 / 3)


def test_no_referrals_has_no_share_rather_than_zero_percent():
    assert ico_within_72_hours([(T0, None)]).percent is None


def test_median_hours_odd_even_and_empty():
    assert median_hours([(T0, hours(10)), (T0, hours(30)), (T0, hours(20))]) == 20
    assert median_hours([(T0, hours(24)), (T0, hours(48)), (T0, None)]) == 36
    assert median_hours([(T0, None)]) is None


def test_stage_medians_are_the_time_in_each_stage_in_lifecycle_order():
    columns = {
        "discovered_at": [T0, T0, T0],
        "reported_at": [hours(1), hours(2), hours(3)],
        "notified_at": [hours(10), hours(20), hours(30)],
        "assessed_at": [hours(24), hours(48), None],
        "informed_at": [None, None, None],
        "decided_at": [None, None, None],
        "closed_at": [None, None, None],
    }
    medians = [(m.stage, m.hours, m.cases) for m in stage_medians(columns)]
    assert medians == [
        ("discovered", 2, 3),
        ("reported", 18, 3),  # 9, 18, 27
        ("notified", 21, 2),  # 14, 28: the third is still being assessed
        ("risk_assessed", None, 0),
        ("service_user_informed", None, 0),
        ("decided", None, 0),
        ("whole", None, 0),
    ]


def test_a_quick_last_stage_is_not_read_as_a_quick_case():
    """Closed 1.2 hours after the decision: that is the decided stage, not the case."""
    columns = {
        "discovered_at": [T0],
        "reported_at": [T0],
        "notified_at": [hours(10)],
        "assessed_at": [hours(30)],
        "informed_at": [hours(100)],
        "decided_at": [hours(200)],
        "closed_at": [hours(201.2)],
    }
    figures = {m.stage: m for m in stage_medians(columns)}
    assert figures["decided"].hours == pytest.approx(1.2)
    assert figures["decided"].label == "Decided, until the case was closed"
    assert figures["whole"].hours == pytest.approx(201.2)
    assert [m.stage for m in stage_medians(columns)] == [
        "discovered",
        "reported",
        "notified",
        "risk_assessed",
        "service_user_informed",
        "decided",
        "whole",
    ]


def test_register_figures_reads_raw_rows_from_either_database():
    # SQLite hands timestamps back as ISO text, PostgreSQL as datetimes.
    rows = [
        (
            "2026-01-10 09:00:00",
            "2026-01-10 09:00:00",
            "2026-01-10 19:00:00",
            None,
            None,
            None,
            None,
            "2026-01-12 09:00:00",
        ),
        (
            dt.datetime(2026, 2, 1, 9),
            dt.datetime(2026, 2, 1, 9),
            dt.datetime(2026, 2, 2, 9),
            None,
            None,
            None,
            None,
            dt.datetime(2026, 2, 5, 10),
        ),
    ]
    figures = register_figures(rows)
    assert figures.total == 2
    assert figures.months == [(dt.date(2026, 1, 1), 1), (dt.date(2026, 2, 1), 1)]
    assert figures.ico == IcoShare(referred=2, within=1)
    assert figures.medians[1].hours == 17  # reported until told: (10 + 24) / 2


def test_timestamps_parse_from_text_with_and_without_microseconds():
    assert as_datetime("2026-01-10 09:00:00.250000") == dt.datetime(2026, 1, 10, 9, 0, 0, 250000)
    assert as_datetime(T0) is T0
    assert as_datetime(None) is None
    assert parse_column(["2026-01-10 09:00:00", None, T0]) == [T0, None, T0]


def test_no_rows_no_figures():
    figures = register_figures([])
    assert (figures.total, figures.months, figures.ico.referred) == (0, [], 0)
    assert all(m.hours is None and m.cases == 0 for m in figures.medians)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (1, "1 hour"),
        (20, "20 hours"),
        (1.5, "1.5 hours"),
        (101, "4.2 days (101 hours)"),
    ],
)
def test_format_hours(value, text):
    assert format_hours(value) == text


def test_chart_scales_bars_to_the_busiest_month_and_labels_each():
    months = [(dt.date(2026, 1, 1), 4), (dt.date(2026, 2, 1), 0), (dt.date(2026, 3, 1), 2)]
    chart = chart_geometry(months, plot_height=100, top=20)
    assert chart.peak == 4
    full, empty, half = chart.bars
    assert (full.height, empty.height, half.height) == (100, 0, 50)
    assert full.y == 20 and half.y == 70 and empty.y == chart.baseline == 120
    assert [b.count for b in chart.bars] == [4, 0, 2]
    # Numbers sit just above their bars, and bars do not overlap.
    assert full.label_y < full.y and half.label_y < half.y
    assert full.x + full.width < empty.x < half.x
    # A few months spread over the page's width; many months get a slot each.
    assert chart.width == chart_geometry(months * 2).width == 720
    assert full.width == 48
    assert chart_geometry(months * 12).width > 720


def test_chart_of_no_cases_has_no_bars():
    chart = chart_geometry([])
    assert chart.bars == [] and chart.peak == 0
