"""Sixteen people open breach cases at the same moment, each in their own browser, against a
live server answering each request in its own thread: plain reports, papers reported lost and
dispatches reported misdirected, mixed. Every report is kept, numbered once and audited.

(Numbered with COUNT+1, 20 of 32 simultaneous loss reports on PostgreSQL failed with a
duplicate reference and a 500, and their papers stayed "Out of the office".)
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from machines import clock
from models.audit import AuditEvent, verify_chain
from models.breaches import Breach
from models.dispatches import Dispatch
from models.records import Record, Removal
from models.tallies import Tally
from tests import invariants
from tests.http.journeys import ago, date_fields, typed
from tests.http.journeys.live import Browser, live_server

# Runs on PostgreSQL too: numbering under concurrency (counter rows).
pytestmark = pytest.mark.postgres

PEOPLE = 16


def _papers_out(person) -> Removal:
    now = clock.now()
    record = Record.create_labelled(
        case_id="1234567", description="Court bundle", team=person.team_id, created_by=person
    )
    return Removal.create(
        record=record,
        team=person.team_id,
        state="out",
        for_user=person,
        requested_by=person,
        requester_manager=person.line_manager_id,
        purpose="court",
        papers="Court bundle",
        due_on=clock.uk_today() + dt.timedelta(days=3),
        requested_at=now - dt.timedelta(hours=3),
        taken_out_at=now - dt.timedelta(hours=3),
    )


def _sent(person) -> Dispatch:
    now = clock.now()
    return Dispatch.create(
        team=person.team_id,
        state="sent",
        case_id="7654321",
        description="Assessment and chronology",
        method="secure_email",
        recipient_organisation="Cafcass",
        recipient_role="Children's guardian",
        address="guardian@cafcass.example.org",
        drafted_by=person,
        drafted_at=now - dt.timedelta(hours=2),
        sent_by=person,
        sent_at=now - dt.timedelta(hours=1),
    )


def _plain_report() -> tuple[str, dict]:
    return "/breaches/new", typed(
        {
            "category": "unauthorised_disclosure",
            "what_happened": "Assessment emailed to a colleague outside the team by mistake",
            "happened_at": ago(hours=2),
            "discovered_at": ago(hours=1),
            "data_categories": ["basic_identifiers"],
            "people_affected": "1",
            "records_affected": "1",
        }
    )


def _lost(removal: Removal) -> tuple[str, dict]:
    seen = clock.to_uk(clock.now() - dt.timedelta(hours=2))
    return f"/removals/{removal.id}/report_lost", {
        "version": removal.version,
        "last_seen_where": "On the bus after court",
        **date_fields("last_seen_on", seen.date()),
        "last_seen_on-time": seen.strftime("%H:%M"),
        "category": "loss",
        "children_or_vulnerable": "yes",
        "special_category": "not_known",
        "confirmed": "yes",  # reporting papers lost cannot be undone: the page asks first
    }


def _misdirected(dispatch: Dispatch) -> tuple[str, dict]:
    return f"/dispatches/{dispatch.id}/report_misdirected", {
        "version": dispatch.version,
        "what_happened": "The guardian's office says it went to another guardian",
        "children_or_vulnerable": "yes",
        "special_category": "no",
        "confirmed": "yes",
    }


def test_sixteen_breach_cases_opened_at_once_are_all_kept_numbered_and_audited(app, people):
    lina = people.add("lina", "line_manager")
    staff = [people.add(f"p{n:02d}", "practitioner", manager=lina) for n in range(PEOPLE)]
    posts = []
    for n, person in enumerate(staff):
        if n % 3 == 0:
            posts.append(_plain_report())
        elif n % 3 == 1:
            posts.append(_lost(_papers_out(person)))
        else:
            posts.append(_misdirected(_sent(person)))

    with live_server(app) as base_url:
        browsers = []
        for person in staff:
            browser = Browser(base_url)
            browser.sign_in(person.username)
            browsers.append(browser)
        start = threading.Barrier(PEOPLE)
        statuses: list[int | None] = [None] * PEOPLE

        def report(n: int) -> None:
            path, data = posts[n]
            start.wait()
            statuses[n] = browsers[n].post(path, data)

        threads = [threading.Thread(target=report, args=(n,)) for n in range(PEOPLE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert statuses == [303] * PEOPLE, statuses
    cases = list(Breach.select())
    assert len(cases) == PEOPLE
    assert len({case.reference for case in cases}) == PEOPLE
    # Counted once each in the team's tally (models/tallies.py), however many came at once.
    assert Tally.of("breach") == PEOPLE
    year = clock.now().year
    assert sorted(case.reference for case in cases) == [
        f"BR-{year}-{n:04d}" for n in range(1, PEOPLE + 1)
    ]
    # Each lost removal and misdirected dispatch reached its final state with its case.
    assert Removal.select().where(Removal.state == "lost").count() == PEOPLE // 3
    # Each of those moves counted in the removals' tally (models/removal_tallies.py) too.
    invariants.assert_removal_tally_agrees()
    # And each case once in its stage's tally (models/breach_stages.py): none lost.
    invariants.assert_breach_stage_tally_agrees()
    assert Dispatch.select().where(Dispatch.state == "misdirected").count() == 5
    assert Breach.select().where(Breach.removal.is_null(False)).count() == PEOPLE // 3
    assert Breach.select().where(Breach.dispatch.is_null(False)).count() == 5
    for case in cases:
        opened = AuditEvent.select().where(
            AuditEvent.entity_type == "breach",
            AuditEvent.entity_id == case.id,
            AuditEvent.event == "report",
        )
        assert opened.count() == 1, case.reference
    chain = verify_chain()
    assert not chain.problems, chain.problems


def test_a_year_numbered_before_the_counter_carries_on_after_its_highest_reference(new_web, people):
    """A database upgraded from COUNT+1 numbering: the counter starts after what is there."""
    pat = people.add("pat", "practitioner")
    year = clock.now().year
    for number in (1, 2, 7):  # a gap: a case was deleted by hand, say
        Breach.create(
            reference=f"BR-{year}-{number:04d}",
            team=pat.team_id,
            reported_by=pat,
            reported_at=clock.now(),
            what_happened="Earlier case",
            happened_at=clock.now(),
            discovered_at=clock.now(),
            category="other",
        )
    web = new_web()
    web.sign_in("pat")
    path, data = _plain_report()
    web.get(path)
    assert web.post(path, data).status_code == 303
    newest = Breach.select().order_by(Breach.id.desc()).get()
    assert newest.reference == f"BR-{year}-0008"


def test_a_label_code_already_taken_is_drawn_again_not_a_500(new_web, people, monkeypatch):
    pat = people.add("pat", "practitioner")
    taken = Record.create_labelled(
        case_id="1234567", description="Court bundle", team=pat.team_id, created_by=pat
    )
    draws = iter([taken.label_code, "SK-FRESH234"])
    monkeypatch.setattr("models.records.new_label_code", lambda: next(draws))
    web = new_web()
    web.sign_in("pat")
    web.get("/records/new")
    response = web.post("/records/new", {"case_id": "7654321", "description": "Assessment"})
    assert response.status_code == 303
    added = Record.get(Record.case_id == "7654321")
    assert added.label_code == "SK-FRESH234"
    assert Record.select().count() == 2
