"""Leavers and movers leave nothing orphaned (issue 12): the page shows what a person holds,
one successor takes it all over in one transaction, each object gets its own audit event at
its new version, and `audit-verify` still finds every lifecycle row accounted for. On SQLite
and PostgreSQL (the `backend` fixture)."""

from __future__ import annotations

import pytest

from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User, UserRole
from models.records import Record, Removal
from models.remote_working import RemoteAgreement
from services.audit_anchor import lifecycle_problems
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import events, person_form, signed_out, work_seen
from tests.http.journeys.breaches import report
from tests.http.journeys.custody import papers_out, removal_of, request_removal
from tests.http.journeys.sending import draft
from tests.http.test_remote_working import ask as ask_remote
from tests.http.test_remote_working import latest as latest_agreement
from tests.http.test_remote_working import send as send_remote

# Runs on PostgreSQL too: one transaction over many rows (hand-over).
pytestmark = pytest.mark.postgres


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    return {"ada": ada, "lina": lina, "pat": pat, "sam": sam, "mo": mo}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


@pytest.fixture
def pats_work(cast, staff):
    """Pat holds papers out, has asked for others (waiting for Lina), reported a breach and
    drafted a dispatch."""
    pat_web = cast["pat"]
    out = papers_out(pat_web, staff)
    record = Record.create(
        case_id="7654321",
        description="Home visit notes",
        team=staff["pat"].team,
        created_by=staff["pat"],
    )
    assert request_removal(pat_web, record).status_code == 303
    asked = removal_of(record)
    assert report(pat_web).status_code == 303
    case = Breach.select().order_by(Breach.id.desc()).get()
    assert draft(pat_web).status_code == 303
    dispatch = Dispatch.select().order_by(Dispatch.id.desc()).get()
    return {"out": out, "asked": asked, "case": case, "dispatch": dispatch}


def asks_for_papers(cast, person) -> Removal:
    """Home visit notes of the person's team, asked for on their own page."""
    record = Record.create(
        case_id="7654321", description="Home visit notes", team=person.team, created_by=person
    )
    assert request_removal(cast[person.username], record).status_code == 303
    return removal_of(record)


def test_disabling_a_holder_lists_their_work_and_hands_it_all_to_their_manager(
    cast, staff, pats_work
):
    pat, lina = staff["pat"], staff["lina"]
    web = cast["ada"]
    page = web.get(f"/admin/people/{pat.id}/disable")
    html = page.get_data(as_text=True)
    text = Page.of(page).text
    assert "Pat Tester holds the papers" in text
    assert "Court bundle, volume 2 (case 1234567): out of the office" in text
    assert "Home visit notes (case 7654321): awaiting approval" in text
    assert "Pat Tester reported the case" in text and pats_work["case"].reference in text
    assert "Pat Tester drafted the dispatch" in text and "Assessment and chronology" in text
    # The line manager is chosen by default.
    assert f'<option value="{lina.id}" selected>' in html
    versions = {k: type(v).get_by_id(v.id).version for k, v in pats_work.items()}
    fingerprint = work_seen(html)
    response = web.post(
        f"/admin/people/{pat.id}/disable",
        {
            "version": User.get_by_id(pat.id).version,
            "work_seen": fingerprint,
            "successor_id": lina.id,
        },
    )
    assert response.status_code == 303
    assert not User.get_by_id(pat.id).active
    out, asked = Removal.get_by_id(pats_work["out"].id), Removal.get_by_id(pats_work["asked"].id)
    case, dispatch = (
        Breach.get_by_id(pats_work["case"].id),
        Dispatch.get_by_id(pats_work["dispatch"].id),
    )
    assert out.for_user_id == lina.id and asked.for_user_id == lina.id
    assert case.reported_by_id == lina.id and dispatch.drafted_by_id == lina.id
    # Each object: its version moved on, and one audit event says so, with that version.
    for key, row in (("out", out), ("asked", asked), ("case", case), ("dispatch", dispatch)):
        assert row.version == versions[key] + 1, key
        entity = {"out": "removal", "asked": "removal", "case": "breach", "dispatch": "dispatch"}[
            key
        ]
        (handed,) = events(entity, row.id, "hand_over")
        assert handed.entity_version == row.version
        assert handed.source == handed.target == row.state
        assert handed.actor_id == staff["ada"].id
        assert handed.details["to"] == "Lina Tester" and handed.details["to_user"] == lina.id
    # Sam still reports to Lina; the audit trail accounts for every lifecycle row.
    assert lifecycle_problems() == (lifecycle_problems()[0], [])
    (disabled,) = events("user", pat.id, "disable_user")
    assert disabled.details["handed_over"] == 4
    # Lina sees what she now holds on her home page.
    home = Page.of(cast["lina"].get("/"))
    assert "Court bundle, volume 2" in home.text
    # Each timeline names the people the work passed between, not their account numbers.
    for url, duty in (
        (f"/records/{out.record_id}", "holds the papers"),
        (f"/dispatches/{dispatch.id}", "drafted the dispatch"),
    ):
        timeline = Page.of(cast["lina"].get(url)).text
        said = f"From: Pat Tester; Handed over: the person who {duty}; To: Lina Tester"
        assert said in timeline, url
        assert "From user" not in timeline and "To user" not in timeline, url


def test_disabling_a_line_manager_hands_over_their_people_and_the_requests_waiting(
    cast, staff, pats_work, people
):
    lina, mo, sam, pat = staff["lina"], staff["mo"], staff["sam"], staff["pat"]
    lee = people.add("lee", "line_manager")
    web = cast["ada"]
    page = web.get(f"/admin/people/{lina.id}/disable")
    text = Page.of(page).text
    assert "Lina Tester is to approve the request" in text and "Home visit notes" in text
    assert "Lina Tester is the line manager" in text
    assert "Pat Tester (" in text and "Sam Tester (" in text
    html = page.get_data(as_text=True)
    fingerprint = work_seen(html)
    # Lina has no manager: someone must be chosen.
    missing = Page.of(
        web.post(f"/admin/people/{lina.id}/disable", {"version": 1, "work_seen": fingerprint})
    )
    assert missing.status == 422 and missing.errors == ["Select who takes over this work"]
    # A practitioner cannot approve removals.
    wrong = Page.of(
        web.post(
            f"/admin/people/{lina.id}/disable",
            {"version": 1, "work_seen": fingerprint, "successor_id": sam.id},
        )
    )
    assert wrong.status == 422
    assert wrong.errors == [
        "Sam Tester cannot approve removals (they are not a line manager): choose someone else"
    ]
    # A line manager in another team could not open the papers, so could not decide on them
    # (machines.removal.approvers_for): the request would wait for no one.
    elsewhere = Page.of(
        web.post(
            f"/admin/people/{lina.id}/disable",
            {"version": 1, "work_seen": fingerprint, "successor_id": mo.id},
        )
    )
    assert elsewhere.status == 422
    assert elsewhere.errors == [
        "Mo Tester cannot see Children North's records, so cannot decide their requests: "
        "choose someone else"
    ]
    assert User.get_by_id(lina.id).active
    ok = web.post(
        f"/admin/people/{lina.id}/disable",
        {"version": 1, "work_seen": fingerprint, "successor_id": lee.id},
    )
    assert ok.status_code == 303
    assert User.get_by_id(pat.id).line_manager_id == lee.id
    assert User.get_by_id(sam.id).line_manager_id == lee.id
    assert Removal.get_by_id(pats_work["asked"].id).requester_manager_id == lee.id
    (moved,) = events("user", sam.id, "hand_over")
    assert moved.details["changed"] == {"line_manager": ["Lina Tester", "Lee Tester"]}
    # Lee can now approve Pat's request: he is the requester's manager.
    approvals = Page.of(cast["lee"].get("/approvals"))
    assert "Home visit notes" in approvals.text
    assert lifecycle_problems()[1] == []


def test_disabling_a_line_manager_hands_over_remote_working_and_papers_out_they_decide_on(
    cast, staff, people
):
    """What the custody work added: asks to work remotely waiting for her, agreements she may
    withdraw, and papers out whose more time and whereabouts she decides."""
    lina, pat, sam = staff["lina"], staff["pat"], staff["sam"]
    lee = people.add("lee", "line_manager")
    out = papers_out(cast["pat"], staff)
    assert ask_remote(cast["pat"]).status_code == 303
    pats_ask = latest_agreement()
    assert ask_remote(cast["sam"], where="Adults East base").status_code == 303
    sams = latest_agreement()
    assert send_remote(cast["lina"], sams, "agree").status_code == 303
    assert pats_ask.approval_route == sams.approval_route == "own_manager"
    rows = {"out": out, "pats_ask": pats_ask, "sams": sams}
    versions = {key: type(row).get_by_id(row.id).version for key, row in rows.items()}

    web = cast["ada"]
    page = web.get(f"/admin/people/{lina.id}/disable")
    text = Page.of(page).text
    assert "Lina Tester decides more time for papers out and confirms where they are" in text
    assert "Court bundle, volume 2 (case 1234567): out of the office" in text
    assert "Lina Tester decides on working remotely (agrees, declines or withdraws it)" in text
    assert "Pat Tester (" in text and "working remotely from Home: waiting for agreement" in text
    assert "working remotely from Adults East base: agreed" in text
    response = web.post(
        f"/admin/people/{lina.id}/disable",
        {"version": 1, "work_seen": work_seen(page.get_data(as_text=True)), "successor_id": lee.id},
    )
    assert response.status_code == 303
    for key, row in rows.items():
        now = type(row).get_by_id(row.id)
        assert now.requester_manager_id == lee.id, key
        assert now.version == versions[key] + 1, key
        entity = "removal" if key == "out" else "remote_agreement"
        (handed,) = events(entity, row.id, "hand_over")
        assert handed.entity_version == now.version and handed.actor_id == staff["ada"].id
        assert handed.source == handed.target == now.state
    assert lifecycle_problems()[1] == []
    # Lee is asked now, and can decide; Pat's ask no longer waits for someone who has left.
    assert "Writing the court report" in Page.of(cast["lee"].get("/approvals")).text
    assert send_remote(cast["lee"], pats_ask, "agree").status_code == 303
    assert RemoteAgreement.get_by_id(pats_ask.id).state == "agreed"
    assert RemoteAgreement.get_by_id(sams.id).for_user_id == sam.id  # still Sam's
    assert User.get_by_id(pat.id).line_manager_id == lee.id


def test_a_leavers_own_remote_working_agreement_is_withdrawn_not_handed_over(cast, staff):
    pat, lina = staff["pat"], staff["lina"]
    assert ask_remote(cast["pat"]).status_code == 303
    agreement = latest_agreement()
    assert send_remote(cast["lina"], agreement, "agree").status_code == 303
    version = RemoteAgreement.get_by_id(agreement.id).version
    web = cast["ada"]
    page = web.get(f"/admin/people/{pat.id}/disable")
    text = Page.of(page).text
    assert "Pat Tester works remotely: these agreements are withdrawn, not handed over" in text
    assert "working remotely from Home: agreed, until" in text
    # Nothing else to hand over: no one need be chosen.
    response = web.post(
        f"/admin/people/{pat.id}/disable",
        {"version": 1, "work_seen": work_seen(page.get_data(as_text=True)), "successor_id": ""},
    )
    assert response.status_code == 303
    assert not User.get_by_id(pat.id).active
    ended = RemoteAgreement.get_by_id(agreement.id)
    assert ended.state == "withdrawn" and ended.for_user_id == pat.id
    assert ended.withdrawn_by_id == staff["ada"].id and ended.closed_at is not None
    assert ended.version == version + 1
    (withdrawn,) = events("remote_agreement", agreement.id, "withdraw")
    assert (withdrawn.source, withdrawn.target) == ("agreed", "withdrawn")
    assert withdrawn.entity_version == ended.version
    assert lifecycle_problems()[1] == []  # the agreement's row and its events agree
    assert RemoteAgreement.select().where(RemoteAgreement.for_user == lina.id).count() == 0
    shown = Page.of(cast["lina"].get(f"/remote-working/{agreement.id}"))
    assert "Withdrawn" in shown.text


def test_work_that_changed_since_the_page_was_shown_is_refused_with_409(cast, staff, pats_work):
    pat, lina = staff["pat"], staff["lina"]
    web = cast["ada"]
    html = web.get(f"/admin/people/{pat.id}/disable").get_data(as_text=True)
    fingerprint = work_seen(html)
    # Meanwhile Pat drafts another dispatch.
    assert draft(cast["pat"]).status_code == 303
    response = web.post(
        f"/admin/people/{pat.id}/disable",
        {"version": 1, "work_seen": fingerprint, "successor_id": lina.id},
    )
    assert response.status_code == 409
    assert "changed while you were looking at it" in response.get_data(as_text=True)
    assert User.get_by_id(pat.id).active
    assert Dispatch.select().where(Dispatch.drafted_by == lina.id).count() == 0


def test_a_checker_cannot_take_over_the_dispatch_they_checked(cast, staff):
    pat, sam = staff["pat"], staff["sam"]
    assert draft(cast["pat"]).status_code == 303
    dispatch = Dispatch.select().get()
    sam_web = cast["sam"]
    from tests.http.journeys.sending import CHECKS, send

    assert send(sam_web, "check", **CHECKS).status_code == 303
    web = cast["ada"]
    html = web.get(f"/admin/people/{pat.id}/disable").get_data(as_text=True)
    fingerprint = work_seen(html)
    page = Page.of(
        web.post(
            f"/admin/people/{pat.id}/disable",
            {"version": 1, "work_seen": fingerprint, "successor_id": sam.id},
        )
    )
    assert page.status == 422
    assert page.errors == [
        "Sam Tester made the second check of this dispatch, so cannot also send it: "
        "choose someone else"
    ]
    assert Dispatch.get_by_id(dispatch.id).drafted_by_id == pat.id


def test_moving_someone_to_another_team_hands_over_first(cast, staff, pats_work):
    pat, lina, mo = staff["pat"], staff["lina"], staff["mo"]
    pat_web = cast["pat"]
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/edit")
    moved = person_form(pat, team_id=mo.team_id, line_manager_id=mo.id)
    first = web.post(f"/admin/people/{pat.id}/edit", moved)
    page = Page.of(first)
    assert first.status_code == 200  # the same form again, now with the hand-over
    assert "is moving to another team" in page.text and "Save and hand over" in page.buttons
    assert User.get_by_id(pat.id).team_id == lina.team_id  # nothing saved yet
    fingerprint = work_seen(first.get_data(as_text=True))
    done = web.post(
        f"/admin/people/{pat.id}/edit",
        {**moved, "work_seen": fingerprint, "successor_id": lina.id},
    )
    assert done.status_code == 303
    pat_now = User.get_by_id(pat.id)
    assert pat_now.team_id == mo.team_id and pat_now.line_manager_id == mo.id
    assert Removal.get_by_id(pats_work["out"].id).for_user_id == lina.id
    (edit,) = events("user", pat.id, "update_user")
    assert edit.details["handed_over"] == 4
    assert edit.details["changed"]["team"] == ["Children North", "Adults East"]
    assert not signed_out(pat_web)  # a move is not a role change
    assert lifecycle_problems()[1] == []


def test_a_person_with_nothing_to_hand_over_is_disabled_straight_away(cast, staff):
    sam = staff["sam"]
    web = cast["ada"]
    page = Page.of(web.get(f"/admin/people/{sam.id}/disable"))
    assert "nothing needs handing over" in page.text
    assert (
        web.post(f"/admin/people/{sam.id}/disable", {"version": 1, "work_seen": ""}).status_code
        == 303
    )
    assert not User.get_by_id(sam.id).active
    assert UserRole.select().where(UserRole.user == sam.id).count() == 1  # roles kept


def test_the_teams_last_line_manager_leaving_passes_the_teams_requests_on(cast, staff, people):
    """A request put to the team's line managers (the requester's own manager cannot see the
    papers) would wait for no one once the last of them has gone."""
    lina, mo = staff["lina"], staff["mo"]
    tia = people.add("tia", "practitioner", manager=mo)  # Mo is in another team
    hana = people.add("hana", "line_manager", "assistant_director", team="Directorate")
    asked = asks_for_papers(cast, tia)
    assert ask_remote(cast["tia"]).status_code == 303
    agreement = latest_agreement()
    assert asked.approval_route == agreement.approval_route == "team_managers"
    rows = {"removal": asked, "remote_agreement": agreement}
    versions = {key: type(row).get_by_id(row.id).version for key, row in rows.items()}

    web = cast["ada"]
    page = web.get(f"/admin/people/{lina.id}/disable")
    text = Page.of(page).text
    assert "Lina Tester is the team's last line manager to decide these requests" in text
    assert "Home visit notes (case 7654321): awaiting approval" in text
    assert "Tia Tester (" in text and "working remotely from Home: waiting for agreement" in text
    fingerprint = work_seen(page.get_data(as_text=True))
    refused = Page.of(
        web.post(
            f"/admin/people/{lina.id}/disable",
            {"version": 1, "work_seen": fingerprint, "successor_id": mo.id},
        )
    )
    assert (
        refused.status == 422
        and "Mo Tester cannot see Children North's records" in (refused.errors[0])
    )
    done = web.post(
        f"/admin/people/{lina.id}/disable",
        {"version": 1, "work_seen": fingerprint, "successor_id": hana.id},
    )
    assert done.status_code == 303
    for entity, row in rows.items():
        now = type(row).get_by_id(row.id)
        assert (now.requester_manager_id, now.approval_route) == (hana.id, "own_manager")
        assert now.version == versions[entity] + 1
        (handed,) = events(entity, row.id, "hand_over")
        assert handed.entity_version == now.version
    # Hana is asked now, and can decide them.
    approvals = Page.of(cast["hana"].get("/approvals")).text
    assert "Home visit notes" in approvals and "Writing the court report" in approvals
    assert send_remote(cast["hana"], agreement, "agree").status_code == 303
    assert lifecycle_problems()[1] == []


def test_the_last_senior_approver_leaving_passes_the_requests_put_to_seniors_on(
    cast, staff, people
):
    """A team with no line manager asks an Assistant Director or Director. When the last of
    them leaves, what waits for them is handed over, not left waiting for no one."""
    hana = people.add("hana", "assistant_director", team="Directorate")
    ned = people.add("ned", "practitioner", team="Adults West")  # no line manager in the team
    asked = asks_for_papers(cast, ned)
    assert ask_remote(cast["ned"]).status_code == 303
    agreement = latest_agreement()
    assert asked.approval_route == agreement.approval_route == "fallback"

    web = cast["ada"]
    page = web.get(f"/admin/people/{hana.id}/disable")
    text = Page.of(page).text
    assert "Hana Tester is the last Assistant Director or Director to decide these requests" in (
        text
    )
    assert "Home visit notes (case 7654321): awaiting approval" in text
    fingerprint = work_seen(page.get_data(as_text=True))
    refused = Page.of(
        web.post(
            f"/admin/people/{hana.id}/disable",
            {"version": 1, "work_seen": fingerprint, "successor_id": staff["lina"].id},
        )
    )
    assert refused.status == 422
    assert "Lina Tester cannot see Adults West's records" in refused.errors[0]
    ray = people.add("ray", "line_manager", "records_manager", team="Governance")
    done = web.post(
        f"/admin/people/{hana.id}/disable",
        {"version": 1, "work_seen": fingerprint, "successor_id": ray.id},
    )
    assert done.status_code == 303
    for entity, row in {"removal": asked, "remote_agreement": agreement}.items():
        now = type(row).get_by_id(row.id)
        assert (now.requester_manager_id, now.approval_route) == (ray.id, "own_manager")
        (handed,) = events(entity, row.id, "hand_over")
        assert handed.entity_version == now.version
    approvals = Page.of(cast["ray"].get("/approvals")).text
    assert "Home visit notes" in approvals and "Writing the court report" in approvals
    assert lifecycle_problems()[1] == []


def test_a_senior_approver_with_another_senior_still_there_has_nothing_to_pass_on(
    cast, staff, people
):
    hana = people.add("hana", "assistant_director", team="Directorate")
    people.add("dana", "director", team="Directorate")
    ned = people.add("ned", "practitioner", team="Adults West")
    asks_for_papers(cast, ned)
    text = Page.of(cast["ada"].get(f"/admin/people/{hana.id}/disable")).text
    assert "last Assistant Director or Director" not in text
    assert "Home visit notes" not in text


def test_taking_away_the_last_line_managers_role_hands_the_teams_requests_over_first(
    cast, staff, people
):
    """A change of roles that would leave requests with no one to decide them asks for a
    successor first, as a move does; roles that change nothing of that are saved at once."""
    lina, mo = staff["lina"], staff["mo"]
    tia = people.add("tia", "practitioner", manager=mo)  # managed from another team
    hana = people.add("hana", "line_manager", "assistant_director", team="Directorate")
    asked = asks_for_papers(cast, tia)
    assert asked.approval_route == "team_managers"

    web = cast["ada"]
    web.get(f"/admin/people/{lina.id}/edit")
    demoted = person_form(lina, roles=["practitioner"])
    first = web.post(f"/admin/people/{lina.id}/edit", demoted)
    page = Page.of(first)
    assert first.status_code == 200 and "Save and hand over" in page.buttons
    assert "With these roles Lina Tester would no longer decide the requests below" in page.text
    assert "Home visit notes (case 7654321): awaiting approval" in page.text
    assert sorted(User.get_by_id(lina.id).roles) == ["line_manager"]  # nothing saved yet
    done = web.post(
        f"/admin/people/{lina.id}/edit",
        {**demoted, "work_seen": work_seen(first.get_data(as_text=True)), "successor_id": hana.id},
    )
    assert done.status_code == 303
    assert sorted(User.get_by_id(lina.id).roles) == ["practitioner"]
    now = Removal.get_by_id(asked.id)
    assert (now.requester_manager_id, now.approval_route) == (hana.id, "own_manager")
    assert "Home visit notes" in Page.of(cast["hana"].get("/approvals")).text
    # With nothing left to strand, a change of roles is saved straight away.
    web.get(f"/admin/people/{mo.id}/edit")
    assert (
        web.post(f"/admin/people/{mo.id}/edit", person_form(mo, roles=["practitioner"])).status_code
        == 303
    )
    assert lifecycle_problems()[1] == []


def test_the_last_senior_approver_moving_team_keeps_the_requests_put_to_seniors(
    cast, staff, people
):
    """Seniors decide for every team: a move leaves them theirs, unless the move takes the
    role away too."""
    hana = people.add("hana", "assistant_director", team="Directorate")
    ned = people.add("ned", "practitioner", team="Adults West")  # no line manager in the team
    governance = people.add("gil", "practitioner", team="Governance").team
    asked = asks_for_papers(cast, ned)
    assert asked.approval_route == "fallback"

    web = cast["ada"]
    web.get(f"/admin/people/{hana.id}/edit")
    demoted_move = person_form(hana, team_id=governance.id, roles=["practitioner"])
    first = Page.of(web.post(f"/admin/people/{hana.id}/edit", demoted_move))
    assert "Save and hand over" in first.buttons
    assert "Home visit notes (case 7654321): awaiting approval" in first.text

    moved = web.post(f"/admin/people/{hana.id}/edit", person_form(hana, team_id=governance.id))
    assert moved.status_code == 303  # nothing to hand over: saved at once
    assert User.get_by_id(hana.id).team_id == governance.id
    still = Removal.get_by_id(asked.id)
    assert (still.approval_route, still.version) == ("fallback", asked.version)
    assert "Home visit notes" in Page.of(cast["hana"].get("/approvals")).text
