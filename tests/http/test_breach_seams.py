"""Where breach reporting meets other features: an unanswered near-miss question, the words
for a loss or a theft, and the line manager told of lost or stolen papers."""

from __future__ import annotations

import pytest

from models.breaches import Breach
from tests.http.journeys import Cast, Page, uk_local
from tests.http.journeys.breaches import breach_staff, latest, report, send

LEFT_CONTROL = "Select whether any data left the council's control"


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def test_a_near_miss_without_the_left_control_answer_is_refused_and_nothing_is_saved(cast):
    response = report(cast["pat"], category="near_miss")
    page = Page.of(response)
    assert page.status == 422
    assert LEFT_CONTROL in page.errors
    assert page.field_errors.get("data_left_control") == LEFT_CONTROL
    assert Breach.select().count() == 0
    kept_in = report(cast["pat"], category="near_miss", data_left_control="no")
    assert kept_in.status_code == 303 and latest().data_left_control is False


def test_correcting_a_near_miss_must_still_answer_whether_data_left_control(cast):
    report(cast["pat"], category="near_miss", data_left_control="no")
    breach = latest()
    response = send(
        cast["pat"],
        breach,
        "details",
        category="near_miss",
        what_happened=breach.what_happened,
        happened_at=uk_local(breach.happened_at),
        discovered_at=uk_local(breach.discovered_at),
        data_categories=["basic_identifiers"],
        people_affected="1",
        records_affected="1",
        children_or_vulnerable="no",
        special_category="no",
    )
    assert response.status_code == 422
    assert LEFT_CONTROL in Page.of(response).errors
    after = Breach.get_by_id(breach.id)
    assert after.version == breach.version and after.data_left_control is False
