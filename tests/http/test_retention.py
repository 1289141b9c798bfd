"""Retention: after RETENTION_YEARS the free text of finished work is erased, everything else
is untouched, the run is audited, a second run changes nothing, and the chain still verifies."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from machines import clock
from models.audit import AuditEvent, verify_chain
from models.breaches import Breach
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.people import User
from models.records import Removal
from models.remote_working import RemoteAgreement
from services.retention import CASE_ID_MARKER, KEPT_SUMMARY_KEYS, MARKER, apply_retention
from tests.http.conftest import Web
from tests.http.journeys import days_from_today

# Runs on PostgreSQL too: retention's date arithmetic and bulk updates in SQL.
pytestmark = pytest.mark.postgres

DEMO_PASSWORD = "safekeep-demo-2026"
SIX_YEARS = dt.timedelta(days=6 * 365 + 2)  # two leap days, at most, in any six years


def as_demo(app, username: str) -> Web:
    web = Web(app.test_client())
    web.sign_in(username, password=DEMO_PASSWORD)
    return web


def post(web: Web, url: str, **data):
    response = web.post(url, data)
    assert response.status_code == 303, (url, response.status_code)


@pytest.fixture
def office(app):
    """The demo council, then: a removal returned, one reported lost (its breach case stays
    open), and the dispatch checked, sent and delivered. The demo's near miss is closed."""
    assert app.test_cli_runner().invoke(args=["seed-demo", "--demo"]).exit_code == 0
    returned, lost = (
        Removal.select().where(Removal.state == "out").order_by(Removal.id)[:2]
    )  # pat's court bundle, sam's review report
    post(
        as_demo(app, "pat"),
        f"/removals/{returned.id}/return_papers",
        version=returned.version,
        confirmed="yes",  # past the confirmation page, as its button sends
    )
    today = clock.uk_today()  # at midnight: in the past, and not a day before the taking out
    post(
        as_demo(app, lost.for_user.username),
        f"/removals/{lost.id}/report_lost",
        version=lost.version,
        last_seen_where="On the 38 bus",
        **{
            "last_seen_on-day": today.day,
            "last_seen_on-month": today.month,
            "last_seen_on-year": today.year,
            "last_seen_on-time": "00:00",
            # The facts asked when papers are reported lost (the case opens with them).
            "category": "loss",
            "children_or_vulnerable": "not_known",
            "special_category": "not_known",
        },
        confirmed="yes",
    )
    dispatch = Dispatch.get()
    checker = as_demo(app, "sam")
    post(
        checker,
        f"/dispatches/{dispatch.id}/check",
        version=dispatch.version,
        address_source="case_record",
        address_confirmed="yes",
        addressee_confirmed="yes",
        right_to_information_confirmed="yes",
        lawful_basis="Court direction to share the assessment",
    )
    drafter = as_demo(app, dispatch.drafted_by.username)
    dispatch = Dispatch.get_by_id(dispatch.id)
    post(
        drafter,
        f"/dispatches/{dispatch.id}/mark_sent",
        version=dispatch.version,
        password_protected="yes",
        password_separate="yes",
        tracking_reference="",
    )
    dispatch = Dispatch.get_by_id(dispatch.id)
    post(
        drafter,
        f"/dispatches/{dispatch.id}/confirm_delivered",
        version=dispatch.version,
        delivery_evidence="recipient_acknowledged",
    )
    # The demo's closed cases: a near miss, and a referral closed with the ICO's outcome
    # and its follow-through (models/follow_through.py)
    closed = list(Breach.select().where(Breach.state == "closed").order_by(Breach.id))
    return {
        "returned": Removal.get_by_id(returned.id),
        "lost": Removal.get_by_id(lost.id),
        "dispatch": Dispatch.get_by_id(dispatch.id),
        "closed": closed[0],
        "all_closed": closed,
    }


def snapshot() -> dict:
    """Every row of the tables retention touches, as plain values."""
    return {
        model.__name__: {row["id"]: row for row in model.select().dicts()}
        for model in (Breach, Removal, Dispatch, RemoteAgreement, AuditEvent)
    }


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["apply-retention", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_nothing_is_erased_before_the_period_is_over_but_the_run_is_recorded(app, office):
    before = snapshot()
    clock.travel(SIX_YEARS - dt.timedelta(days=40))  # the demo closed its near miss weeks ago
    output = run(app)
    assert "0 breach cases, 0 removals, 0 dispatches and 0 remote working agreements" in output
    after = snapshot()
    new_events = set(after["AuditEvent"]) - set(before["AuditEvent"])
    assert len(new_events) == 1
    run_event = AuditEvent.get_by_id(new_events.pop())
    assert (run_event.entity_type, run_event.event) == ("retention", "apply_retention")
    assert run_event.details["breaches"] == 0 and run_event.details["audit_events"] == 0
    for table in ("Breach", "Removal", "Dispatch", "RemoteAgreement"):
        assert after[table] == before[table]


def test_after_the_period_the_free_text_of_finished_work_is_erased_and_nothing_else(app, office):
    before = snapshot()
    clock.travel(SIX_YEARS)
    output = run(app)
    closed = len(office["all_closed"])
    assert f"{closed} breach cases, 1 removals, 1 dispatches and 0 remote working" in output

    breach = Breach.get_by_id(office["closed"].id)
    assert breach.what_happened == MARKER and breach.lessons_learned == MARKER
    assert breach.case_id is None and breach.erased_at is not None
    # The register keeps what it must: reference, category, dates, decisions.
    kept = before["Breach"][breach.id]
    for field in ("reference", "category", "discovered_at", "closed_at", "likelihood", "state"):
        assert getattr(breach, field) == kept[field]
    removal = Removal.get_by_id(office["returned"].id)
    assert removal.papers == MARKER and removal.erased_at is not None
    assert removal.purpose == kept_removal(before, removal)["purpose"]
    dispatch = Dispatch.get_by_id(office["dispatch"].id)
    assert dispatch.address == MARKER and dispatch.description == MARKER
    assert dispatch.case_id == CASE_ID_MARKER and dispatch.recipient_role != MARKER

    # Open work, and a lost removal whose breach case is still open, are untouched.
    untouched = {office["lost"].id} | {
        r.id for r in Removal.select().where(Removal.closed_at.is_null())
    }
    for removal_id in untouched:
        assert snapshot()["Removal"][removal_id] == before["Removal"][removal_id]
    for breach_id, row in before["Breach"].items():
        if breach_id not in {case.id for case in office["all_closed"]}:
            assert Breach.select().where(Breach.id == breach_id).dicts().get() == row
    # A closed case's follow-through goes with it: the ICO's questions and the actions
    for case in office["all_closed"]:
        for item in IcoItem.select().where(IcoItem.breach == case.id):
            assert item.erased_at is not None and item.answer in (MARKER, None)
        for action in BreachAction.select().where(BreachAction.breach == case.id):
            assert action.erased_at is not None and action.description == MARKER


def test_more_time_and_whereabouts_typed_on_a_removal_are_erased_too(app, office):
    returned = office["returned"]
    Removal.update(
        extension_reason="Final hearing at Leeds moved to the 14th",
        location_where="In Pat's locked drawer at home",
    ).where(Removal.id == returned.id).execute()
    clock.travel(SIX_YEARS)
    run(app)
    erased = Removal.get_by_id(returned.id)
    assert (erased.extension_reason, erased.location_where) == (MARKER, MARKER)


def test_an_ended_remote_working_agreement_loses_its_text_after_the_period(app, office):
    pat, lina = as_demo(app, "pat"), as_demo(app, "lina")
    pat.get("/remote-working/new")
    post(
        pat,
        "/remote-working/new",
        where="My sister's flat in Margate",
        why="Writing the final report for the Jones hearing",
        **days_from_today("ends_on", 5),
    )
    asked = RemoteAgreement.select().order_by(RemoteAgreement.id.desc()).get()
    in_force = RemoteAgreement.get(RemoteAgreement.state == "agreed")  # the demo's, still on
    lina.get(f"/remote-working/{asked.id}")
    post(
        lina,
        f"/remote-working/{asked.id}/decline",
        version=asked.version,
        reason="The office copy must stay at the team base",
        confirmed="yes",
    )
    before = snapshot()
    clock.travel(SIX_YEARS)
    assert "and 1 remote working agreements" in run(app)

    erased = RemoteAgreement.get_by_id(asked.id)
    assert (erased.place, erased.why, erased.decision_note) == (MARKER, MARKER, MARKER)
    assert erased.erased_at is not None and erased.state == "declined"
    assert erased.ends_on == before["RemoteAgreement"][asked.id]["ends_on"]
    # Its audit events keep no typed words; an agreement still in force is untouched.
    for event in AuditEvent.select().where(
        AuditEvent.entity_type == "remote_agreement", AuditEvent.entity_id == asked.id
    ):
        assert set(event.details) <= KEPT_SUMMARY_KEYS | {"erased"}
        assert "Margate" not in event.summary and "office copy" not in event.summary
    assert snapshot()["RemoteAgreement"][in_force.id] == before["RemoteAgreement"][in_force.id]
    assert not verify_chain().problems


def kept_removal(before, removal):
    return before["Removal"][removal.id]


def test_the_audit_trail_keeps_only_what_the_policy_allows_and_still_verifies(app, office):
    papers = office["returned"].papers
    before = snapshot()["AuditEvent"]
    clock.travel(SIX_YEARS)
    run(app)
    erased = list(AuditEvent.select().where(AuditEvent.erased_by.is_null(False)))
    closed = [case.id for case in office["all_closed"]]
    subjects = {
        *(("breach", case) for case in closed),
        *(("ico_item", i.id) for i in IcoItem.select().where(IcoItem.breach.in_(closed))),
        *(
            ("breach_action", a.id)
            for a in BreachAction.select().where(BreachAction.breach.in_(closed))
        ),
        ("removal", office["returned"].id),
        ("dispatch", office["dispatch"].id),
    }
    assert {(e.entity_type, e.entity_id) for e in erased} == subjects
    for event in erased:
        details = event.details
        assert details["erased"] == "under the retention policy"
        assert set(details) - {"erased"} <= KEPT_SUMMARY_KEYS
    assert papers not in json.dumps([e.summary for e in AuditEvent.select()])
    for event_id, row in before.items():  # every other event exactly as it was
        if (row["entity_type"], row["entity_id"]) not in subjects:
            assert AuditEvent.select().where(AuditEvent.id == event_id).dicts().get() == row
    chain = verify_chain()
    assert not chain.problems, chain.problems
    assert app.test_cli_runner().invoke(args=["audit-verify"]).exit_code == 0
    run_event = AuditEvent.get_by_id(erased[0].erased_by)
    assert run_event.details["audit_events"] == len(erased)
    assert run_event.details["breaches"] == len(closed)


def test_a_second_run_erases_nothing_more_and_the_chain_still_verifies(app, office):
    clock.travel(SIX_YEARS)
    run(app)
    once = snapshot()
    output = run(app)
    assert "0 breach cases, 0 removals, 0 dispatches and 0 remote working agreements" in output
    twice = snapshot()
    for table in ("Breach", "Removal", "Dispatch"):
        assert twice[table] == once[table]
    assert len(twice["AuditEvent"]) == len(once["AuditEvent"]) + 1
    assert not verify_chain().problems


def test_the_lost_removal_goes_once_its_breach_case_is_closed_and_past_the_period(app, office):
    clock.travel(SIX_YEARS)
    run(app)
    lost = Removal.get_by_id(office["lost"].id)
    assert lost.erased_at is None
    case = lost.breaches.get()
    Breach.update(state="closed", closed_at=clock.now()).where(Breach.id == case.id).execute()
    clock.travel(SIX_YEARS)
    run(app)
    assert Removal.get_by_id(lost.id).erased_at is not None
    assert Breach.get_by_id(case.id).erased_at is not None
    assert not verify_chain().problems


@pytest.mark.parametrize(
    "tamper",
    ["edit_erased_event", "mark_untouched_event_erased", "unmark_erased_event", "edit_run"],
)
def test_changing_the_trail_after_retention_still_breaks_verification(app, office, tamper):
    clock.travel(SIX_YEARS)
    run(app)
    erased = AuditEvent.select().where(AuditEvent.erased_by.is_null(False)).first()
    untouched = AuditEvent.select().where(AuditEvent.erased_by.is_null()).first()
    run_event = AuditEvent.get_by_id(erased.erased_by)
    if tamper == "edit_erased_event":
        changed = {AuditEvent.actor: User.get(User.username == "dana").id}
        AuditEvent.update(changed).where(AuditEvent.id == erased.id).execute()
    elif tamper == "mark_untouched_event_erased":
        AuditEvent.update(erased_by=run_event.id, summary='{"note": "rewritten"}').where(
            AuditEvent.id == untouched.id
        ).execute()
    elif tamper == "unmark_erased_event":
        AuditEvent.update(erased_by=None).where(AuditEvent.id == erased.id).execute()
    else:
        details = {**run_event.details, "audit_events": 0}
        AuditEvent.update(summary=json.dumps(details)).where(
            AuditEvent.id == run_event.id
        ).execute()
    assert verify_chain().problems, tamper
    assert app.test_cli_runner().invoke(args=["audit-verify"]).exit_code == 1


def test_a_dry_run_counts_and_changes_nothing(app, office):
    clock.travel(SIX_YEARS)
    before = snapshot()
    output = run(app, "--dry-run")
    closed = len(office["all_closed"])
    assert f"Due (nothing changed): {closed} breach cases, 1 removals, 1 dispatches" in output
    assert snapshot() == before


def test_pages_of_erased_work_still_open_and_say_what_happened_to_the_text(app, office):
    clock.travel(SIX_YEARS)
    run(app)
    # The demo's sign-in sessions have long expired: sign in again, six years on.
    dana = as_demo(app, "dana")
    breach = office["closed"]
    for url in (f"/breaches/{breach.id}", f"/dispatches/{office['dispatch'].id}"):
        assert MARKER in dana.get(url).get_data(as_text=True), url
    for url in (
        f"/breaches/{breach.id}/report",
        f"/breaches/{breach.id}/ico-draft",
        f"/records/{office['returned'].record_id}",
    ):
        dana.get(url)  # 200, and a whole page
    register = as_demo(app, "gov").get("/breaches/register.csv").get_data(as_text=True)
    assert breach.reference in register  # every case stays in the register for good


def test_retention_years_must_be_a_whole_number_of_at_least_one(app):
    from app import create_app

    for bad in ("0", "six", "-1", "²"):
        with pytest.raises(ValueError, match="RETENTION_YEARS"):
            create_app({"SECRET_KEY": "x", "RETENTION_YEARS": bad})
    with pytest.raises(ValueError):
        apply_retention(clock.now(), 0)
