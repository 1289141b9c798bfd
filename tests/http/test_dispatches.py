"""Secure sending over HTTP: four eyes, refusals, bad input, races, misdirection as a breach."""

from __future__ import annotations

import re
import threading

import pytest

from models.audit import AuditEvent
from models.breaches import Breach
from models.dispatches import Dispatch
from tests.http.journeys.sending import CHECKS, draft, latest, send


@pytest.fixture
def team(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    alex = people.add("alex", "practitioner", team="Adults East")
    return {"lina": lina, "pat": pat, "sam": sam, "alex": alex}


def test_draft_with_bad_input_saves_nothing(web, team):
    web.sign_in("pat")
    response = draft(web, address="not an email")
    assert response.status_code == 422
    assert "Enter an email address in the correct format" in response.get_data(as_text=True)
    assert Dispatch.select().count() == 0


def test_secure_email_drafted_checked_by_a_colleague_sent_and_delivered(web, new_web, team):
    web.sign_in("pat")
    assert draft(web).status_code == 303
    page = web.get(f"/dispatches/{latest().id}").get_data(as_text=True)
    assert "Confirm the checks" not in page  # the drafter cannot check their own dispatch
    assert send(web, "check", **CHECKS).status_code == 403

    colleague = new_web()
    colleague.sign_in("sam")
    waiting = colleague.get("/send").get_data(as_text=True)
    assert "Assessment and chronology" in waiting
    assert "1 draft from your team needs a second person" in waiting
    missing = send(
        colleague,
        "check",
        htmx=True,
        **{k: v for k, v in CHECKS.items() if k != "addressee_confirmed"},
    )
    assert missing.status_code == 422
    assert "Confirm the addressee is the right person" in missing.get_data(as_text=True)
    response = send(colleague, "check", htmx=True, **CHECKS)
    assert response.status_code == 200 and "Status: Checked" in response.get_data(as_text=True)
    # The timeline below the panel shows the check too, swapped out of band.
    timeline = re.search(
        r'<div id="timeline" hx-swap-oob="true">.*', response.get_data(as_text=True), re.S
    )
    assert timeline and "Address, addressee and right to the information checked" in (
        timeline.group(0)
    )

    refused = send(web, "mark_sent", password_protected="yes")
    assert refused.status_code == 422
    assert (
        send(web, "mark_sent", password_protected="yes", password_separate="yes").status_code == 303
    )
    assert (
        send(web, "confirm_delivered", delivery_evidence="recipient_acknowledged").status_code
        == 303
    )
    assert latest().state == "delivered"
    events = [e.event for e in AuditEvent.select().where(AuditEvent.entity_type == "dispatch")]
    assert events == ["draft", "check", "mark_sent", "confirm_delivered"]


def test_special_delivery_needs_a_tracking_reference(web, new_web, team):
    web.sign_in("pat")
    draft(web, method="special_delivery", address="Cafcass, 1 High Street")
    colleague = new_web()
    colleague.sign_in("sam")
    colleague.get("/send")
    send(colleague, "check", **CHECKS)
    response = send(web, "mark_sent", tracking_reference="")
    assert response.status_code == 422
    assert "Enter the special delivery tracking reference" in response.get_data(as_text=True)
    assert send(web, "mark_sent", tracking_reference="ab 123456789 gb").status_code == 303
    assert latest().tracking_reference == "AB123456789GB"


def test_another_team_cannot_see_the_dispatch(web, new_web, team):
    web.sign_in("pat")
    draft(web)
    other = new_web()
    other.sign_in("alex")
    other.get(f"/dispatches/{latest().id}", status=404)


def test_refused_transition_is_409(web, team):
    web.sign_in("pat")
    draft(web)
    response = send(web, "confirm_delivered", delivery_evidence="tracking_delivered")
    assert response.status_code == 409
    assert latest().state == "drafted"


def test_misdirected_dispatch_opens_a_linked_breach_case(web, new_web, team):
    web.sign_in("pat")
    draft(web)
    colleague = new_web()
    colleague.sign_in("sam")
    colleague.get("/send")
    send(colleague, "check", **CHECKS)
    send(web, "mark_sent", password_protected="yes", password_separate="yes")
    response = send(
        web,
        "report_misdirected",
        what_happened="Autocomplete chose another name",
        children_or_vulnerable="not_known",
        special_category="no",
    )
    assert response.status_code == 303
    dispatch = latest()
    breach = Breach.get(Breach.dispatch == dispatch)
    assert dispatch.state == "misdirected"
    assert breach.category == "wrong_recipient" and breach.case_id == "1234567"
    assert breach.reference in web.get(f"/dispatches/{dispatch.id}").get_data(as_text=True)


@pytest.mark.postgres
def test_concurrent_checks_exactly_one_wins(web, new_web, team):
    web.sign_in("pat")
    draft(web)
    version = latest().version
    checkers = []
    for name in ("sam", "lina"):
        c = new_web()
        c.sign_in(name)
        c.get("/send")
        checkers.append(c)
    barrier = threading.Barrier(2)
    results = []

    def check(c):
        barrier.wait()
        results.append(send(c, "check", version=version, **CHECKS).status_code)

    threads = [threading.Thread(target=check, args=(c,)) for c in checkers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [303, 409]
    assert AuditEvent.select().where(AuditEvent.event == "check").count() == 1


def test_the_case_record_lists_its_dispatches_and_starts_one_prefilled(web, new_web, team):
    from models.records import Record

    record = Record.create(
        case_id="1234567",
        description="Child protection papers",
        team=team["pat"].team_id,
        created_by=team["pat"],
    )
    web.sign_in("pat")
    page = web.get(f"/records/{record.id}").get_data(as_text=True)
    assert "Nothing has been sent from this case" in page
    start = f"/send/new?record={record.id}"
    assert start in page  # the record's own number in the URL, not the case-system ID
    form = web.get(start).get_data(as_text=True)
    assert 'value="1234567"' in form
    draft(web)
    page = web.get(f"/records/{record.id}").get_data(as_text=True)
    assert f'href="/dispatches/{latest().id}">Dispatch {latest().id}</a>' in page
    assert "Assessment and chronology" in page and "Drafted" in page

    other_team = new_web()
    other_team.sign_in("alex")
    assert 'value="1234567"' not in other_team.get(start).get_data(as_text=True)


@pytest.mark.parametrize("left_out", sorted(CHECKS))
def test_every_check_is_its_own_required_answer(web, new_web, team, left_out):
    web.sign_in("pat")
    draft(web)
    colleague = new_web()
    colleague.sign_in("sam")
    colleague.get("/send")
    response = send(colleague, "check", **{k: v for k, v in CHECKS.items() if k != left_out})
    assert response.status_code == 422
    assert "govuk-error-summary" in response.get_data(as_text=True)
    assert latest().state == "drafted" and latest().checked_by_id is None
    assert AuditEvent.select().where(AuditEvent.event == "check").count() == 0


def test_every_draft_waiting_for_a_check_can_be_reached(web, new_web, team, app):
    """More drafts than a page holds: the list counts them all and pages through them
    (it used to stop at 50 without saying so)."""
    web.sign_in("pat")
    asked = app.config["PAGE_SIZE"] + 1
    for _ in range(asked):
        assert draft(web).status_code == 303
    colleague = new_web()
    colleague.sign_in("sam")
    ids = {d.id for d in Dispatch.select()}

    def listed(url):
        # The waiting list only: the team's recent dispatches follow it on the page.
        page = colleague.get(url).get_data(as_text=True).split("recent dispatches")[0]
        assert f"{asked} drafts from your team need a second person" in page
        return {i for i in ids if f'href="/dispatches/{i}"' in page}

    first, second = listed("/send"), listed("/send?waiting=2")
    assert len(first) == app.config["PAGE_SIZE"] and len(second) == 1
    assert first | second == ids
