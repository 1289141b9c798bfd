"""The kiosk serves the whole team: papers brought back for a colleague who is away, papers
asked for and taken out without a laptop, and every timeline line made there names it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from machines import clock
from models.audit import AuditEvent
from models.people import User
from models.records import Record, Removal
from tests.http.journeys import Page, days_from_today
from tests.http.journeys.custody import SAFEGUARDS, send
from tests.http.test_kiosk import identify, removal_of, scan

KIOSK_NAME = "Kiosk-North Tester"


@pytest.fixture
def site(people):
    lina = people.add("lina", "line_manager", staff_number="10001")
    pat = people.add("pat", "practitioner", manager=lina, staff_number="10002")
    sam = people.add("sam", "practitioner", manager=lina, staff_number="10003")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)

    def record(description):
        return Record.create(
            case_id="1234567", description=description, team=pat.team_id, created_by=pat
        )

    out = record("Conference minutes")
    Removal.create(
        record=out,
        team=pat.team_id,
        state="out",
        for_user=pat,
        requested_by=pat,
        requester_manager=lina,
        purpose="court",
        papers="Court bundle",
        due_on=clock.uk_today() + dt.timedelta(days=3),
        requested_at=clock.now(),
        taken_out_at=clock.now(),
    )
    return {"lina": lina, "pat": pat, "sam": sam, "out": out, "in_office": record("Old assessment")}


@pytest.fixture
def kiosk(web, site):
    web.sign_in("kiosk-north")
    web.get("/kiosk/")
    return web


def timeline_lines(web, record) -> list[str]:
    html = web.get(f"/records/{record.id}").get_data(as_text=True)
    timeline = re.search(r'<ol class="app-timeline".*?</ol>', html, re.S).group(0)
    items = re.findall(r"<p class=\"govuk-body govuk-!-margin-bottom-1\">(.*?)</p>", timeline, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def test_a_colleague_returns_papers_for_the_holder_at_the_kiosk(kiosk, site, new_web):
    identify(kiosk, staff_number="10003")  # Sam, for Pat who is away
    page = Page.of(scan(kiosk, site["out"].label_code))
    assert "Return papers for Pat Tester" in page.buttons
    removal = removal_of(site["out"])
    asked = kiosk.post(f"/kiosk/removals/{removal.id}/return_papers", {"version": removal.version})
    confirm = Page.of(asked)
    assert asked.status_code == 200 and "Return papers for Pat Tester" in confirm.buttons
    done = kiosk.post(
        f"/kiosk/removals/{removal.id}/return_papers",
        {"version": removal.version, "confirmed": "yes"},
    )
    assert done.status_code == 303
    stored = removal_of(site["out"])
    assert (stored.state, stored.returned_by_id) == ("returned", site["sam"].id)
    event = AuditEvent.get(AuditEvent.event == "return_papers")
    kiosk_account = User.by_username("kiosk-north")
    assert (event.actor_id, event.kiosk_id) == (site["sam"].id, kiosk_account.id)
    assert event.details["on_behalf_of"] == "Pat Tester"
    lina = new_web()
    lina.sign_in("lina")
    assert (
        "Papers returned to the office by Sam Tester on behalf of Pat Tester at " + KIOSK_NAME
        in timeline_lines(lina, site["out"])
    )


def test_on_a_laptop_a_colleague_cannot_return_someone_elses_papers(site, new_web):
    sam = new_web()
    sam.sign_in("sam")
    page = Page.of(sam.get(f"/records/{site['out'].id}"))
    assert "Return papers" not in page.buttons
    assert send(sam, removal_of(site["out"]), "return_papers").status_code == 403


def test_papers_are_asked_for_and_taken_out_for_court_at_the_kiosk(kiosk, site, new_web):
    identify(kiosk)  # Pat
    page = Page.of(scan(kiosk, site["in_office"].label_code))
    assert "Take these papers out" in page.text
    response = kiosk.post(
        f"/kiosk/records/{site['in_office'].id}/request",
        {
            "purpose": "court",
            "papers": "Court bundle",
            "due_kind": "return",
            **days_from_today("due_on", 2),
        },
    )
    page = Page.of(response)
    assert response.status_code == 200
    assert "Approved to take out" in page.text and "Take out" in page.buttons  # the safeguards
    removal = removal_of(site["in_office"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("done=take_out")
    assert removal_of(site["in_office"]).state == "out"
    events = AuditEvent.select().where(
        AuditEvent.entity_id == removal.id, AuditEvent.entity_type == "removal"
    )
    assert [(e.event, e.actor_id, e.kiosk_id is not None) for e in events] == [
        ("request", site["pat"].id, True),
        ("take_out", site["pat"].id, True),
    ]
    pat = new_web()
    pat.sign_in("pat")
    lines = timeline_lines(pat, site["in_office"])
    assert lines[:2] == [
        f"Papers taken out, safeguards confirmed by Pat Tester at {KIOSK_NAME}",
        f"Removal requested by Pat Tester at {KIOSK_NAME}",
    ]


def test_something_else_asked_for_at_the_kiosk_waits_for_approval(kiosk, site, new_web):
    identify(kiosk)
    response = kiosk.post(
        f"/kiosk/records/{site['in_office'].id}/request",
        {
            "purpose": "other",
            "purpose_other": "Writing up the assessment at home",
            "papers": "Assessment notes",
            "due_kind": "return",
            **days_from_today("due_on", 2),
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("done=request")
    page = Page.of(kiosk.get(response.headers["Location"]))
    assert "Your request is waiting for agreement" in page.text
    assert "Staff number" in page.text  # signed out of the kiosk
    removal = removal_of(site["in_office"])
    assert (removal.state, removal.approval_route) == ("requested", "own_manager")
    lina = new_web()
    lina.sign_in("lina")
    assert "Assessment notes" in Page.of(lina.get("/approvals")).text
    lina.get(f"/records/{site['in_office'].id}")
    assert send(lina, removal, "approve").status_code == 303
    identify(kiosk)
    assert "Take out" in Page.of(scan(kiosk, site["in_office"].label_code)).buttons


def test_a_kiosk_request_with_bad_input_shows_every_error_and_saves_nothing(kiosk, site):
    identify(kiosk)
    response = kiosk.post(
        f"/kiosk/records/{site['in_office'].id}/request",
        {"purpose": "other", "papers": "", "due_kind": "return", **days_from_today("due_on", -1)},
    )
    page = Page.of(response)
    assert response.status_code == 422
    assert page.errors == [
        "Enter why the papers need to leave the office",
        "Enter which papers you are taking",
        "The date must be today or in the future",
    ]
    assert Removal.select().where(Removal.record == site["in_office"]).count() == 0
    assert "Hello Pat Tester" in kiosk.get("/kiosk/").get_data(as_text=True)  # still here


def test_only_the_teams_staff_may_ask_at_the_kiosk(kiosk, site, people):
    people.add("alex", "practitioner", team="Adults East", staff_number="20002")
    record = site["in_office"]
    identify(kiosk, staff_number="20002")  # another team's person is refused at this kiosk
    response = kiosk.post(f"/kiosk/records/{record.id}/request", {"purpose": "court"})
    assert response.status_code == 303  # not identified: back to the start
    assert Removal.select().where(Removal.record == record).count() == 0
