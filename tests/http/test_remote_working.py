"""Remote working agreements over HTTP: asked, agreed or declined, withdrawn, listed on the
board, and expired by time (the scheduled command, and the pages before it has run)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from machines import clock
from models.audit import AuditEvent
from models.remote_working import RemoteAgreement
from tests.http.journeys import Cast, Page, days_from_today


@pytest.fixture
def staff(people):
    dana = people.add("dana", "director", team="Directorate")
    lina = people.add("lina", "line_manager", manager=dana)
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    return {"dana": dana, "lina": lina, "pat": pat, "sam": sam, "mo": mo}


@pytest.fixture
def cast(new_web):
    return Cast(new_web)


def ask(web, days=5, **data):
    web.get("/remote-working/new")
    return web.post(
        "/remote-working/new",
        {
            "where": "Home",
            "why": "Writing the court report away from the open-plan office",
            **days_from_today("ends_on", days),
            **data,
        },
    )


def latest() -> RemoteAgreement:
    return RemoteAgreement.select().order_by(RemoteAgreement.id.desc()).get()


def send(web, agreement, event, **data):
    web.get(f"/remote-working/{agreement.id}")
    data.setdefault("version", RemoteAgreement.get_by_id(agreement.id).version)
    data.setdefault("confirmed", "yes")
    return web.post(f"/remote-working/{agreement.id}/{event}", data)


def events_of(agreement) -> list[tuple[str, int | None]]:
    return [
        (e.event, e.actor_id)
        for e in AuditEvent.select()
        .where(AuditEvent.entity_type == "remote_agreement", AuditEvent.entity_id == agreement.id)
        .order_by(AuditEvent.id)
    ]


def test_asked_agreed_listed_on_the_board_and_expired_by_time(app, cast, staff):
    page = Page.of(cast["pat"].get("/remote-working/new"))
    assert "Lina Tester, your line manager, will be asked to agree it." in page.text
    response = ask(cast["pat"], days=2)
    assert response.status_code == 303
    agreement = latest()
    assert (agreement.state, agreement.place, agreement.approval_route) == (
        "asked",
        "Home",
        "own_manager",
    )
    assert (
        "1 request to work remotely is waiting for your decision"
        in Page.of(cast["lina"].get("/")).text
    )
    assert "Writing the court report" in Page.of(cast["lina"].get("/approvals")).text
    board = Page.of(cast["lina"].get("/board"))
    assert "Waiting for agreement" in board.text
    assert send(cast["lina"], agreement, "agree").status_code == 303
    ends = clock.uk_today() + dt.timedelta(days=2)
    board = cast["lina"].get("/board").get_data(as_text=True)
    listed = re.search(r'id="remote-working".*?</table>', board, re.S).group(0)
    assert "Pat Tester" in listed and f"Agreed until {ends.day} {ends:%B %Y}" in listed

    clock.travel(dt.timedelta(days=3))  # the last day has passed; the command has not run
    lina = cast.again("lina")
    page = Page.of(lina.get(f"/remote-working/{agreement.id}"))
    assert "Status: Expired" in page.text and "the end date has passed" in page.text
    assert "Withdraw the agreement" not in page.buttons
    assert "Pat Tester" not in (
        re.search(
            r'id="remote-heading".*?<h2', lina.get("/board").get_data(as_text=True), re.S
        ).group(0)
    )
    result = app.test_cli_runner().invoke(args=["expire-agreements"])
    assert result.exit_code == 0 and "expired: 1" in result.output
    assert RemoteAgreement.get_by_id(agreement.id).state == "expired"
    assert events_of(agreement) == [
        ("ask", staff["pat"].id),
        ("agree", staff["lina"].id),
        ("expire", None),  # the schedule, no person
    ]
    timeline = Page.of(lina.get(f"/remote-working/{agreement.id}")).text
    assert "Expired: the end date passed" in timeline
    again = app.test_cli_runner().invoke(args=["expire-agreements"])
    assert "expired: 0" in again.output


def test_asking_with_bad_input_shows_every_error_and_saves_nothing(cast, staff):
    response = ask(cast["pat"], where="", why="", **{"ends_on-day": "31", "ends_on-month": "2"})
    page = Page.of(response)
    assert response.status_code == 422
    assert page.errors == [
        "Enter where you will work from",
        "Enter why you need to work there",
        "The date the agreement ends must be a real date",
    ]
    assert RemoteAgreement.select().count() == 0


def test_a_decline_asks_first_says_why_and_closes_it(cast, staff):
    ask(cast["pat"])
    agreement = latest()
    first = send(cast["lina"], agreement, "decline", reason="Team cover needed", confirmed="")
    assert first.status_code == 200
    assert Page.of(first).title.startswith("Decline this request to work remotely?")
    assert latest().state == "asked"
    assert send(cast["lina"], agreement, "decline", reason="Team cover needed").status_code == 303
    page = Page.of(cast["pat"].get(f"/remote-working/{agreement.id}"))
    assert "Declined by Lina Tester" in page.text and "Team cover needed" in page.text


def test_the_person_withdraws_their_agreement(cast, staff):
    ask(cast["pat"])
    agreement = latest()
    send(cast["lina"], agreement, "agree")
    assert send(cast["pat"], agreement, "withdraw", reason="Back in the office").status_code == 303
    assert latest().state == "withdrawn"


def test_need_to_know_and_nobody_agrees_their_own(cast, staff):
    ask(cast["pat"])
    agreement = latest()
    cast["sam"].get(f"/remote-working/{agreement.id}", status=404)
    cast["mo"].get(f"/remote-working/{agreement.id}", status=404)
    page = Page.of(cast["pat"].get(f"/remote-working/{agreement.id}"))
    assert "Agree" not in page.buttons
    cast["pat"].get(f"/remote-working/{agreement.id}")
    response = cast["pat"].post(
        f"/remote-working/{agreement.id}/agree", {"version": agreement.version}
    )
    assert response.status_code == 403
    expire = cast["pat"].post(f"/remote-working/{agreement.id}/expire", {"version": 1})
    assert expire.status_code == 404  # the schedule's event: no page sends it


def test_a_line_managers_own_ask_is_agreed_by_her_director(cast, staff):
    ask(cast["lina"])
    agreement = latest()
    assert "Lina Tester" in Page.of(cast["dana"].get("/approvals")).text
    assert send(cast["dana"], agreement, "agree").status_code == 303
    assert latest().state == "agreed"


@pytest.mark.postgres
def test_a_long_list_of_ones_own_agreements_pages(app, cast, staff):
    size = app.config["PAGE_SIZE"]
    for n in range(size + 1):
        assert ask(cast["pat"], where=f"Base {n:02d}").status_code == 303
    first = Page.of(cast["pat"].get("/remote-working")).text
    second = Page.of(cast["pat"].get("/remote-working?page=2")).text
    places = [f"Base {n:02d}" for n in range(size + 1)]
    assert sum(p in first for p in places) == size and "Next" in first
    assert [p for p in places if p in second] == ["Base 00"]  # newest first: the oldest last


def test_the_panel_posts_the_page_for_a_decline_and_htmx_for_an_agreement(cast, staff):
    ask(cast["pat"])
    agreement = latest()
    html = cast["lina"].get(f"/remote-working/{agreement.id}").get_data(as_text=True)
    forms = dict(re.findall(r'<form method="post" action="([^"]+)"([^>]*)>', html))
    # A decline asks first: the confirmation page replaces this one, so no htmx swap.
    assert "hx-post" not in forms[f"/remote-working/{agreement.id}/decline"]
    assert "hx-post" in forms[f"/remote-working/{agreement.id}/agree"]
    # The agreement by htmx: the timeline below the panel shows it too, swapped out of band.
    version = {"version": agreement.version}
    answer = cast["lina"].post(f"/remote-working/{agreement.id}/agree", version, htmx=True)
    answer = answer.get_data(as_text=True)
    timeline = re.search(r'<div id="timeline" hx-swap-oob="true">.*', answer, re.S)
    assert timeline and "<strong>Agreed</strong>" in timeline.group(0)
    assert len(answer) < 20_000  # an htmx answer, not a page
