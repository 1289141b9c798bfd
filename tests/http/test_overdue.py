"""Overdue papers: more time asked and agreed, or given, and whereabouts confirmed with the
holder; each an audited event of the removal, not only "return, destroyed or lost"."""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from models.audit import AuditEvent
from models.records import Record, Removal
from tests.http.journeys import Cast, Page, days_from_today
from tests.http.journeys.custody import send

# Runs on PostgreSQL too: the overdue lists' date queries.
pytestmark = pytest.mark.postgres


@pytest.fixture
def staff(people):
    dana = people.add("dana", "director", team="Directorate")
    lina = people.add("lina", "line_manager", manager=dana)
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    return {"dana": dana, "lina": lina, "pat": pat, "sam": sam}


@pytest.fixture
def cast(new_web):
    return Cast(new_web)


def overdue(holder, days=2) -> Removal:
    record = Record.create(
        case_id="1234567", description="Court bundle, volume 2", team=holder.team, created_by=holder
    )
    return Removal.create(
        record=record,
        team=holder.team_id,
        state="out",
        for_user=holder,
        requested_by=holder,
        requester_manager=holder.line_manager_id,
        approval_route="own_manager",
        purpose="court",
        papers="Court bundle",
        due_on=clock.uk_today() - dt.timedelta(days=days),
        requested_at=clock.now() - dt.timedelta(days=10),
        taken_out_at=clock.now() - dt.timedelta(days=10),
    )


def on_page(web, removal, event, **data):
    web.get(f"/records/{removal.record_id}")
    return send(web, removal, event, **data)


def test_the_holder_asks_for_more_time_and_the_line_manager_agrees(cast, staff):
    removal = overdue(staff["pat"])
    page = Page.of(cast["pat"].get(f"/records/{removal.record_id}"))
    assert "Ask for more time" in page.buttons
    new_date = clock.uk_today() + dt.timedelta(days=5)
    asked = on_page(
        cast["pat"],
        removal,
        "ask_extension",
        **days_from_today("new_due_on", 5),
        reason="The final hearing moved to next week",
    )
    assert asked.status_code == 303
    page = Page.of(cast["pat"].get(f"/records/{removal.record_id}"))
    assert "More time asked for" in page.text and "The final hearing moved" in page.text
    assert "Ask for more time" not in page.buttons  # one ask at a time

    home = Page.of(cast["lina"].get("/"))
    assert "1 ask for more time with papers is waiting for your decision" in home.text
    approvals = Page.of(cast["lina"].get("/approvals"))
    assert "The final hearing moved to next week" in approvals.text
    lina_page = Page.of(cast["lina"].get(f"/records/{removal.record_id}"))
    agree = f"Agree more time (until {new_date.day} {new_date:%B %Y})"
    assert agree in lina_page.buttons and "Refuse more time" in lina_page.buttons
    assert on_page(cast["lina"], removal, "agree_extension").status_code == 303
    stored = Removal.get_by_id(removal.id)
    assert (stored.state, stored.due_on, stored.extension_due_on) == ("out", new_date, None)
    assert not stored.is_overdue
    page = Page.of(cast["pat"].get(f"/records/{removal.record_id}"))
    assert "Overdue by" not in page.text and "More time agreed" in page.text
    events = [
        e.event
        for e in AuditEvent.select().where(
            AuditEvent.entity_type == "removal", AuditEvent.entity_id == removal.id
        )
    ]
    assert events == ["ask_extension", "agree_extension"]


def test_nobody_agrees_their_own_ask_and_a_colleague_cannot_ask(cast, staff):
    removal = overdue(staff["pat"])
    on_page(
        cast["pat"], removal, "ask_extension", **days_from_today("new_due_on", 3), reason="Court"
    )
    assert on_page(cast["pat"], removal, "agree_extension").status_code == 403
    other = overdue(staff["pat"])
    assert (
        on_page(
            cast["sam"], other, "ask_extension", **days_from_today("new_due_on", 3), reason="x"
        ).status_code
        == 403
    )


def test_a_date_before_the_current_one_is_refused_with_every_error_at_once(cast, staff):
    removal = overdue(staff["pat"])
    response = on_page(
        cast["lina"], removal, "extend", **days_from_today("new_due_on", -5), reason=""
    )
    page = Page.of(response)
    assert response.status_code == 422
    due = removal.due_on
    assert page.errors == [
        f"The new date must be after {due.day} {due:%B %Y}",
        "Enter why the papers need more time",
    ]
    assert Removal.get_by_id(removal.id).due_on == due
    assert not AuditEvent.select().where(AuditEvent.event == "extend").exists()


def test_a_line_managers_own_overdue_papers_are_extended_by_her_director(cast, staff):
    removal = overdue(staff["lina"])
    assert (
        "Give more time: extend the return date"
        not in Page.of(cast["lina"].get(f"/records/{removal.record_id}")).text
    )
    response = on_page(
        cast["dana"],
        removal,
        "extend",
        **days_from_today("new_due_on", 4),
        reason="Case conference re-listed",
    )
    assert response.status_code == 303
    assert Removal.get_by_id(removal.id).due_on == clock.uk_today() + dt.timedelta(days=4)


def test_confirming_the_whereabouts_shows_on_the_record_and_the_board(cast, staff):
    removal = overdue(staff["pat"], days=4)
    response = on_page(
        cast["lina"],
        removal,
        "confirm_location",
        where="Locked in Pat's drawer at the North base",
        how="in_person",
        **days_from_today("confirmed_on", 0),
    )
    assert response.status_code == 303
    today = clock.uk_today()
    record_page = Page.of(cast["pat"].get(f"/records/{removal.record_id}"))
    assert (
        f"Whereabouts confirmed {today.day} {today:%B %Y}, in person, by Lina Tester: "
        "Locked in Pat's drawer" in record_page.text
    )
    assert "Whereabouts confirmed with the holder" in record_page.text  # the timeline
    board = Page.of(cast["lina"].get("/board"))
    assert "Whereabouts confirmed" in board.text and f"{today.day} {today:%B %Y}" in board.text
