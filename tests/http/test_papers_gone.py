"""Papers destroyed or reported lost are gone: no page says they are in the office, and no
one can take them out again, at a desk or at the kiosk."""

from __future__ import annotations

import re

import pytest

from models.records import Record, Removal
from tests.conftest import PIN
from tests.http.journeys import Page
from tests.http.journeys.custody import (
    SAFEGUARDS,
    future,
    removal_of,
    report_lost,
    request_removal,
    send,
)
from views.records import GONE_MESSAGE


@pytest.fixture
def team(people):
    lina = people.add("lina", "line_manager", staff_number="10001")
    pat = people.add("pat", "practitioner", manager=lina, staff_number="10002")
    sam = people.add("sam", "practitioner", manager=lina, staff_number="10003")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    record = Record.create(
        case_id="1234567", description="Court bundle, volume 2", team=pat.team, created_by=pat
    )
    return {"lina": lina, "pat": pat, "sam": sam, "record": record}


def gone(web, team, how: str) -> Record:
    """Pat takes the record's papers out, then they are destroyed or reported lost."""
    record = team["record"]
    web.sign_in("pat")
    request_removal(web, record, purpose="court", due_kind="destroy")
    send(web, removal_of(record), "take_out", **SAFEGUARDS)
    removal = removal_of(record)
    if how == "destroyed":
        response = send(web, removal, "destroy", method="shredded", witness=team["sam"].id)
    else:
        response = report_lost(web, removal)
    assert response.status_code == 303
    assert removal_of(record).state == how
    return record


def tags(html: str) -> list[str]:
    """The words of the page's GOV.UK tags (the coloured status labels)."""
    return [t.strip() for t in re.findall(r'<strong class="govuk-tag[^"]*">([^<]*)<', html)]


@pytest.mark.parametrize("how", ["destroyed", "lost"])
def test_the_record_page_says_the_papers_are_gone_and_offers_no_take_out(web, team, how):
    record = gone(web, team, how)
    html = web.get(f"/records/{record.id}").get_data(as_text=True)
    assert "In the office" not in tags(html)
    assert {"destroyed": "Papers destroyed", "lost": "Papers reported lost"}[how] in tags(html)
    assert f'href="/records/{record.id}/remove"' not in html
    assert "Take papers out of the office" not in Page.of(web.get(f"/records/{record.id}")).text


@pytest.mark.parametrize("how", ["destroyed", "lost"])
def test_asking_for_gone_papers_at_a_desk_is_refused_and_starts_nothing(web, team, how):
    record = gone(web, team, how)
    assert web.get(f"/records/{record.id}/remove", status=409).status_code == 409
    response = web.post(
        f"/records/{record.id}/remove",
        {"purpose": "court", "papers": "Court bundle", "due_kind": "return", **future()},
    )
    assert response.status_code == 409
    assert GONE_MESSAGE in response.get_data(as_text=True)
    assert Removal.select().where(Removal.record == record).count() == 1


@pytest.mark.parametrize("how", ["destroyed", "lost"])
def test_the_kiosk_offers_no_take_out_of_gone_papers_and_refuses_one(web, new_web, team, how):
    record = gone(web, team, how)
    kiosk = new_web()
    kiosk.sign_in("kiosk-north")
    kiosk.get("/kiosk/")
    kiosk.post("/kiosk/identify", {"staff_number": "10002", "pin": PIN})
    scanned = kiosk.post("/kiosk/scan", {"label_code": record.label_code})
    assert scanned.status_code == 200
    assert f"/kiosk/records/{record.id}/request" not in Page.of(scanned).form_actions
    response = kiosk.post(
        f"/kiosk/records/{record.id}/request",
        {"purpose": "court", "papers": "Court bundle", "due_kind": "return",
         "due_on-day": "1", "due_on-month": "1", "due_on-year": "2099"},
    )  # fmt: skip
    assert response.status_code == 409
    assert Removal.select().where(Removal.record == record).count() == 1


@pytest.mark.parametrize("how", ["destroyed", "lost"])
def test_where_every_record_is_lists_gone_papers_as_gone(web, new_web, team, how):
    record = gone(web, team, how)
    lina = new_web()
    lina.sign_in("lina")
    html = lina.get("/records/where").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if record.description in r)
    assert tags(row) == [{"destroyed": "Destroyed", "lost": "Reported lost"}[how]]
