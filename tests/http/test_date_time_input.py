"""Dates and times typed into GOV.UK date inputs with a 24-hour time box: impossible,
missing and clock-change times are refused in words and nothing is saved."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from machines import clock
from models.breaches import Breach
from tests.http.journeys import Cast, Page, ago, time_fields, typed
from tests.http.journeys.breaches import breach_staff
from views.forms.times import uk_to_utc


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


DATE = {"day", "month", "year"}


def boxes(name: str, day: str, month: str, year: str, time: str) -> dict:
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year, f"{name}-time": time}


def report_happened(web, **happened):
    """Report a breach discovered an hour ago that happened at the boxes given."""
    web.get("/breaches/new")
    data = {
        "category": "unauthorised_disclosure",
        "what_happened": "Assessment emailed to a colleague outside the team by mistake",
        **time_fields("discovered_at", ago(hours=1)),
        "data_categories": ["basic_identifiers"],
        "people_affected": "1",
        "records_affected": "1",
        **happened,
    }
    return web.post("/breaches/new", data)


@pytest.mark.parametrize(
    ("typed_boxes", "message", "highlighted"),
    [
        (
            ("1", "1", "0001", "00:00"),
            "When it happened must be on or after 1 January 2000",
            {"year"},
        ),
        (
            ("1", "1", "1970", "00:00"),
            "When it happened must be on or after 1 January 2000",
            {"year"},
        ),
        (
            ("29", "3", "2026", "01:30"),
            "1:30am did not exist on 29 March 2026: the clocks went forward from 1am to 2am. "
            "Enter the time the clock showed",
            {"time"},
        ),
        (
            ("25", "10", "2026", "01:30"),
            "1:30am happened twice on 25 October 2026, as the clocks went back an hour. "
            "Enter 01:30 BST for the first time or 01:30 GMT for the second",
            {"time"},
        ),
        (("", "", "", "14:30"), "Enter the day, month and year when it happened", DATE),
        (("5", "", "2026", "14:30"), "When it happened must include a month", {"month"}),
        (("30", "2", "2026", "14:30"), "When it happened must be a real date", DATE),
        (("5", "3", "2026", ""), "Enter the time when it happened, like 14:30", {"time"}),
        (("5", "3", "2026", "25:00"), "Enter a real time, like 14:30", {"time"}),
        (("5", "3", "2026", "2pm"), "Enter a real time, like 14:30", {"time"}),
    ],
)
def test_an_impossible_or_unclear_time_is_refused_in_words_and_nothing_saved(
    cast, typed_boxes, message, highlighted
):
    response = report_happened(cast["pat"], **boxes("happened_at", *typed_boxes))
    page = Page.of(response)
    assert response.status_code == 422
    assert page.errors == [message]
    assert Breach.select().count() == 0
    html = response.get_data(as_text=True)
    flagged = set(re.findall(r'govuk-input--error" id="happened_at-(\w+)"', html))
    assert flagged == highlighted
    # What was typed is shown again, to be put right.
    for part, value in zip(("day", "month", "year", "time"), typed_boxes, strict=True):
        assert re.search(rf'id="happened_at-{part}"[^>]*value="{re.escape(value)}"', html)


@pytest.mark.parametrize(("zone", "utc_hour"), [("BST", 0), ("GMT", 1)])
def test_the_hour_the_clocks_go_back_is_taken_when_it_says_which(cast, zone, utc_hour):
    # 26 October 2025: 01:30 came twice (BST, then GMT).
    response = report_happened(
        cast["pat"], **boxes("happened_at", "26", "10", "2025", f"01:30 {zone}")
    )
    assert response.status_code == 303, Page.of(response).errors
    assert Breach.get().happened_at == dt.datetime(2025, 10, 26, utc_hour, 30)


def test_a_time_is_kept_in_uk_time_and_shown_back_in_the_boxes(cast):
    summer = clock.from_uk(dt.datetime(2026, 7, 1, 14, 30))
    response = report_happened(cast["pat"], **typed({"happened_at": summer}))
    assert response.status_code == 303, Page.of(response).errors
    breach = Breach.get()
    assert breach.happened_at == dt.datetime(2026, 7, 1, 13, 30)  # 14:30 BST
    html = cast["pat"].get(f"/breaches/{breach.id}").get_data(as_text=True)
    for part, value in (("day", "1"), ("month", "7"), ("year", "2026"), ("time", "14:30")):
        assert re.search(rf'id="happened_at-{part}"[^>]*value="{value}"', html), part


def test_the_form_uses_date_boxes_and_a_time_box_with_a_recent_past_example(cast):
    html = cast["pat"].get("/breaches/new").get_data(as_text=True)
    assert 'type="datetime-local"' not in html
    hint = re.search(r'id="happened_at-hint">[^<]*For example, (\d+) (\d+) (\d{4}) and 14:30', html)
    assert hint, "no example in the hint"
    example = dt.date(int(hint[3]), int(hint[2]), int(hint[1]))
    assert clock.uk_today() - dt.timedelta(days=7) <= example < clock.uk_today()


def test_uk_time_to_utc_at_both_clock_changes():
    assert uk_to_utc(dt.datetime(2026, 3, 29, 0, 59)) == dt.datetime(2026, 3, 29, 0, 59)
    assert uk_to_utc(dt.datetime(2026, 3, 29, 2, 0)) == dt.datetime(2026, 3, 29, 1, 0)
    with pytest.raises(ValueError, match="did not exist"):
        uk_to_utc(dt.datetime(2026, 3, 29, 1, 0))
    with pytest.raises(ValueError, match="happened twice"):
        uk_to_utc(dt.datetime(2026, 10, 25, 1, 0))
    assert uk_to_utc(dt.datetime(2026, 10, 25, 1, 0), "bst") == dt.datetime(2026, 10, 25, 0, 0)
    assert uk_to_utc(dt.datetime(2026, 10, 25, 1, 0), "GMT") == dt.datetime(2026, 10, 25, 1, 0)
    assert uk_to_utc(dt.datetime(2026, 10, 25, 2, 0)) == dt.datetime(2026, 10, 25, 2, 0)
    with pytest.raises(ValueError, match="UK time was GMT, not BST"):
        uk_to_utc(dt.datetime(2026, 12, 1, 9, 0), "BST")
