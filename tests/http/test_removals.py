"""Record custody over HTTP: each transition, refusals, roles, bad input and races."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading

import pytest

from machines import clock
from models.audit import AuditEvent
from models.records import Record, Removal
from tests.http.html import parse
from tests.http.journeys import ago, time_fields
from tests.http.journeys.custody import (
    SAFEGUARDS,
    future,
    removal_of,
    request_removal,
    send,
)


@pytest.fixture
def team(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    alex = people.add("alex", "practitioner", team="Adults East", manager=mo)
    record = Record.create(
        case_id="1234567", description="Court bundle, volume 2", team=pat.team, created_by=pat
    )
    return {"lina": lina, "pat": pat, "sam": sam, "mo": mo, "alex": alex, "record": record}


def test_add_and_find_a_record_by_case_id_without_putting_it_in_the_url(web, team):
    web.sign_in("pat")
    web.get("/records/new")
    response = web.post("/records/new", {"case_id": "7654321", "description": "LAC review notes"})
    assert response.status_code == 303
    record = Record.get(Record.case_id == "7654321")
    assert record.label_code.startswith("SK-")
    found = web.post("/records", {"term": "7654321"}).get_data(as_text=True)
    assert "LAC review notes" in found
    assert "7654321" not in response.headers["Location"]
    by_label = web.post("/records", {"term": record.label_code.lower()}).get_data(as_text=True)
    assert "LAC review notes" in by_label


@pytest.mark.postgres
def test_a_search_matching_more_records_than_it_lists_says_so(web, team):
    from views.records import FOUND_SHOWN

    pat = team["pat"]
    for n in range(FOUND_SHOWN + 1):
        Record.create(
            case_id="5550001", description=f"Volume {n:03d}", team=pat.team_id, created_by=pat
        )
    web.sign_in("pat")
    html = web.post("/records", {"term": "5550001"}).get_data(as_text=True)
    assert f"More than {FOUND_SHOWN} records found" in html
    assert html.count("Volume ") == FOUND_SHOWN
    assert 'href="/records/where">Where every record is</a> lists them all' in html
    Record.delete().where(Record.description == "Volume 000").execute()
    html = web.post("/records", {"term": "5550001"}).get_data(as_text=True)
    assert f"{FOUND_SHOWN} records found" in html and "More than" not in html


def test_a_long_used_records_page_says_it_shows_the_latest_removals_and_events(web, team):
    from models.base import write_transaction
    from views.records import HISTORY_SHOWN, TIMELINE_SHOWN

    pat, record, now = team["pat"], team["record"], clock.now()
    web.sign_in("pat")
    page = web.get(f"/records/{record.id}").get_data(as_text=True)
    assert "most recent" not in page
    with write_transaction():
        for n in range(HISTORY_SHOWN + 1):
            removal = Removal.create(
                record=record,
                team=pat.team_id,
                state="returned",
                for_user=pat,
                requested_by=pat,
                purpose="court",
                papers=f"Bundle {n}",
                due_on=clock.uk_today(),
                closed_at=now,
            )
            for event in ("approve", "take_out", "return_papers"):
                AuditEvent.about(removal, event, by=pat.id, at=now)
    page = web.get(f"/records/{record.id}").get_data(as_text=True)
    assert f"Showing the {HISTORY_SHOWN} most recent removals." in page
    assert f"Showing the {TIMELINE_SHOWN} most recent events." in page
    assert page.count('class="app-timeline__item"') == TIMELINE_SHOWN


def test_adding_a_record_with_a_bad_case_id_saves_nothing(web, team):
    web.sign_in("pat")
    web.get("/records/new")
    before = Record.select().count()
    response = web.post("/records/new", {"case_id": "Jane Smith", "description": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "like 1234567 or MOS-1234567" in html and "Describe the papers" in html
    assert Record.select().count() == before


def test_another_teams_practitioner_cannot_see_the_record(web, team):
    web.sign_in("alex")
    web.get(f"/records/{team['record'].id}", status=404)
    html = web.post("/records", {"term": "1234567"}).get_data(as_text=True)
    assert "Court bundle" not in html


def test_court_removal_needs_no_approval(web, team):
    web.sign_in("pat")
    assert request_removal(web, team["record"], purpose="court").status_code == 303
    assert removal_of(team["record"]).state == "approved_for_removal"


def test_request_with_bad_input_shows_errors_and_saves_nothing(web, team):
    web.sign_in("pat")
    past = clock.uk_today() - dt.timedelta(days=1)
    response = request_removal(
        web,
        team["record"],
        purpose_other="",
        papers="",
        **{"due_on-day": past.day, "due_on-month": past.month, "due_on-year": past.year},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter why the papers need to leave the office" in html
    assert "Enter which papers you are taking" in html
    assert "today or in the future" in html
    assert Removal.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.entity_type == "removal").count() == 0


def running_record(page: str) -> str:
    """The text of the running record box on a record page or panel."""
    return html.unescape(re.search(r'id="running-record"[^>]*>([^<]*)</textarea>', page).group(1))


def test_full_journey_other_purpose_approved_taken_out_returned(web, new_web, team):
    web.sign_in("pat")
    request_removal(web, team["record"])
    removal = removal_of(team["record"])
    assert removal.state == "requested"
    page = web.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert ">Approve<" not in page  # nobody approves their own request

    manager = new_web()
    manager.sign_in("lina")
    approvals = manager.get("/approvals").get_data(as_text=True)
    record_link = f'href="/records/{team["record"].id}">Court bundle'
    assert record_link in approvals  # a working link, not escaped markup
    response = send(manager, removal, "approve", htmx=True)
    panel = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="status"' in panel and "<html" not in panel
    assert "Approved to take out" in panel
    assert "Running record text" in panel and "Agreed by Lina Tester" in panel
    # Approved is not taken: the running record says what was agreed, not who took them.
    agreed = running_record(panel)
    assert agreed.startswith("Removal of paper record from the office agreed")
    assert "Taken by" not in agreed and "Pat Tester may take the papers out." in agreed
    # The history and timeline below the panel are refreshed out of band in the same response.
    assert 'id="history" hx-swap-oob="true"' in panel and "Removal approved" in panel

    response = send(web, removal, "take_out", **SAFEGUARDS)
    assert response.status_code == 303
    assert Removal.get_by_id(removal.id).state == "out"
    taken = running_record(web.get(f"/records/{team['record'].id}").get_data(as_text=True))
    assert f"Taken by Pat Tester on {clock.uk_today():%d/%m/%Y}." in taken
    send(web, removal, "return_papers")
    assert Removal.get_by_id(removal.id).state == "returned"
    events = [e.event for e in AuditEvent.select().where(AuditEvent.entity_type == "removal")]
    assert events == ["request", "approve", "take_out", "return_papers"]
    timeline = web.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert "Papers returned to the office" in timeline and "In the office" in timeline


def test_take_out_without_every_safeguard_is_refused_and_names_the_missing_one(web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    response = send(
        web,
        removal,
        "take_out",
        htmx=True,
        **{k: v for k, v in SAFEGUARDS.items() if k != "no_usb_stick"},
    )
    assert response.status_code == 422
    assert "USB memory stick" in response.get_data(as_text=True)
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"


def test_a_practitioner_cannot_approve_403_and_sees_no_button(web, new_web, team):
    web.sign_in("pat")
    request_removal(web, team["record"])
    removal = removal_of(team["record"])
    colleague = new_web()
    colleague.sign_in("sam")
    page = colleague.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert "/approve" not in page
    assert send(colleague, removal, "approve").status_code == 403
    assert Removal.get_by_id(removal.id).state == "requested"


def test_a_refused_transition_is_409_and_changes_nothing(web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    response = send(web, removal, "return_papers", htmx=True)
    assert response.status_code == 409
    assert "You cannot return papers now" in response.get_data(as_text=True)
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"


@pytest.mark.postgres
def test_a_stale_page_gets_409_not_last_write_wins(web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    old_version = removal.version
    send(web, removal, "take_out", **SAFEGUARDS)
    response = send(web, removal, "take_out", version=old_version, **SAFEGUARDS)
    assert response.status_code == 409
    assert "Someone else changed this removal" in response.get_data(as_text=True)


@pytest.mark.parametrize("version", ["", "junk", None])
def test_a_form_without_its_version_is_409_never_a_blind_overwrite(web, team, version):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    data = {**SAFEGUARDS} if version is None else {**SAFEGUARDS, "version": version}
    response = web.post(f"/removals/{removal.id}/take_out", data)
    assert response.status_code == 409
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"


def test_decline_needs_a_reason(web, new_web, team):
    web.sign_in("pat")
    request_removal(web, team["record"])
    removal = removal_of(team["record"])
    manager = new_web()
    manager.sign_in("lina")
    manager.get(f"/records/{team['record'].id}")
    assert send(manager, removal, "decline", reason="").status_code == 422
    assert send(manager, removal, "decline", reason="Use the office copy").status_code == 303
    assert Removal.get_by_id(removal.id).state == "declined"


def test_destruction_is_witnessed_by_another_member_of_the_team(web, new_web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court", due_kind="destroy")
    removal = removal_of(team["record"])
    send(web, removal, "take_out", **SAFEGUARDS)
    page = web.get(f"/records/{team['record'].id}").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="witness".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', select)
    # The team's other members: never the holder (who records it here), nor another team's.
    assert options == [(str(team["lina"].id), "Lina Tester"), (str(team["sam"].id), "Sam Tester")]

    for witness, message in [
        ("", "Select who saw the papers destroyed"),
        (team["pat"].id, "The witness must be someone other than the person who had them"),
        (team["alex"].id, "Select a member of the team as the witness"),
    ]:
        response = send(web, removal, "destroy", htmx=True, method="shredded", witness=witness)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert Removal.get_by_id(removal.id).state == "out"

    assert (
        send(web, removal, "destroy", method="shredded", witness=team["sam"].id).status_code == 303
    )
    stored = Removal.get_by_id(removal.id)
    assert (stored.state, stored.destruction_method, stored.witnessed_by_id) == (
        "destroyed",
        "shredded",
        team["sam"].id,
    )
    page = web.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert "witnessed by Sam Tester" in page
    assert "Witness: Sam Tester" in page  # the timeline


def test_a_manager_recording_a_destruction_is_not_the_witness(web, new_web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court", due_kind="destroy")
    removal = removal_of(team["record"])
    send(web, removal, "take_out", **SAFEGUARDS)
    manager = new_web()
    manager.sign_in("lina")
    manager.get(f"/records/{team['record'].id}")
    response = send(
        manager, removal, "destroy", htmx=True, method="shredded", witness=team["lina"].id
    )
    assert response.status_code == 422
    assert "The witness must be someone other than you" in response.get_data(as_text=True)


def test_only_one_open_removal_per_record(web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    # Opening the page is no failed change: it says what is open and links to it.
    page = web.get(f"/records/{team['record'].id}/remove").get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">These papers already have an open removal</h1>' in page
    assert "Your change was not saved" not in page
    assert re.search(r'id="open-removal">Approved to take out, for ', page)
    assert f'id="see-open-removal" href="/records/{team["record"].id}"' in page
    data = {"purpose": "court", "papers": "Again", "due_kind": "return", **future()}
    refused = web.post(f"/records/{team['record'].id}/remove", data)
    assert refused.status_code == 409
    assert 'id="nothing-saved">Nothing was saved' in refused.get_data(as_text=True)
    assert Removal.select().count() == 1


def test_overdue_shows_days_overdue_on_the_record_and_home(web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    send(web, removal, "take_out", **SAFEGUARDS)
    clock.travel(dt.timedelta(days=9))
    web.sign_in("pat")
    page = web.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert "Overdue by" in page and "2 days" in page
    assert "2 days overdue" in web.get("/").get_data(as_text=True)


@pytest.mark.postgres
def test_two_concurrent_approvals_exactly_one_wins(app, new_web, web, team):
    web.sign_in("pat")
    request_removal(web, team["record"])
    removal = removal_of(team["record"])
    version = removal.version
    managers = []
    for _ in range(2):  # the same manager in two browser tabs, or two managers of the team
        m = new_web()
        m.sign_in("lina")
        m.get(f"/records/{team['record'].id}")
        managers.append(m)
    barrier = threading.Barrier(2)
    results = []

    def approve(manager):
        barrier.wait()
        results.append(send(manager, removal, "approve", version=version).status_code)

    threads = [threading.Thread(target=approve, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [303, 409]
    assert AuditEvent.select().where(AuditEvent.event == "approve").count() == 1


def test_one_worker_moves_many_removals_on_each_by_its_own_state(app, web, team):
    # A worker keeps one machine per lifecycle for every row it moves (models/transitions.py):
    # a refusal, an input error or an ending on one row must not show on the next.
    records = [team["record"]] + [
        Record.create(
            case_id=f"123456{n}",
            description=f"Bundle {n}",
            team=team["pat"].team,
            created_by=team["pat"],
        )
        for n in (8, 9)
    ]
    web.sign_in("pat")
    for record in records:
        request_removal(web, record, purpose="court")
    first, second, third = (removal_of(record) for record in records)
    no_bag = {k: v for k, v in SAFEGUARDS.items() if k != "lockable_bag"}
    assert send(web, first, "take_out", **no_bag).status_code == 422
    assert send(web, second, "return_papers").status_code == 409
    assert send(web, second, "take_out", **SAFEGUARDS).status_code == 303
    assert send(web, second, "return_papers").status_code == 303  # its lifecycle ends
    assert send(web, third, "take_out", **SAFEGUARDS).status_code == 303
    assert send(web, first, "take_out", **SAFEGUARDS).status_code == 303
    states = {r.id: r.state for r in Removal.select()}
    assert states == {first.id: "out", second.id: "returned", third.id: "out"}
    trail = {
        removal.id: [
            (e.event, e.source, e.target)
            for e in AuditEvent.select()
            .where(AuditEvent.entity_type == "removal", AuditEvent.entity_id == removal.id)
            .order_by(AuditEvent.id)
        ]
        for removal in (first, second, third)
    }
    taken = ("take_out", "approved_for_removal", "out")
    requested = ("request", "in_office", "approved_for_removal")
    assert trail == {
        first.id: [requested, taken],
        second.id: [requested, taken, ("return_papers", "out", "returned")],
        third.id: [requested, taken],
    }
    assert app.test_cli_runner().invoke(args=["audit-verify"]).exit_code == 0


def test_audit_verify_passes_then_names_the_edited_event(app, web, team):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    send(web, removal, "take_out", **SAFEGUARDS)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit-verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    target = AuditEvent.get(AuditEvent.event == "take_out")
    AuditEvent.update(summary='{"safeguards": "none"}').where(AuditEvent.id == target.id).execute()
    broken = runner.invoke(args=["audit-verify"])
    assert broken.exit_code == 1
    assert f"BROKEN at event {target.id} (take_out" in broken.output


def test_lost_papers_show_on_the_record_with_the_breach_case_not_as_in_the_office(
    web, new_web, team
):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court")
    removal = removal_of(team["record"])
    send(web, removal, "take_out", **SAFEGUARDS)
    # A minute ago: "yesterday at 17:30", as this once said, is more than a day before the
    # papers were taken out from half past five on, and was refused.
    response = send(
        web,
        removal,
        "report_lost",
        last_seen_where="On the train home",
        **time_fields("last_seen_on", ago(minutes=1)),
        category="loss",
        children_or_vulnerable="yes",
        special_category="no",
    )
    assert response.status_code == 303
    case = Removal.get_by_id(removal.id).breaches.get()
    page = web.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert "Papers reported lost" in page and "In the office</strong>" not in page
    assert f'href="/breaches/{case.id}">{case.reference}</a>' in page  # the reporter may open it

    colleague = new_web()  # same team, no need to know the case: its reference, no link
    colleague.sign_in("sam")
    page = colleague.get(f"/records/{team['record'].id}").get_data(as_text=True)
    assert case.reference in page and f'href="/breaches/{case.id}"' not in page


def test_after_an_htmx_change_each_next_steps_form_comes_from_the_record_page_when_opened(
    web, team
):
    web.sign_in("pat")
    request_removal(web, team["record"], purpose="court", due_kind="destroy")
    removal = removal_of(team["record"])
    record_page = f"/records/{team['record'].id}"
    swapped = parse(send(web, removal, "take_out", htmx=True, **SAFEGUARDS).get_data(as_text=True))
    whole = parse(web.get(record_page).get_data(as_text=True))

    def steps(page):
        return {
            d.select_one("summary").get_text(strip=True): d for d in page.select("#status details")
        }

    offered = steps(whole)
    assert set(offered) == {
        "Record that the papers were destroyed",
        "Report the papers lost or stolen",
        "Ask for more time",
    }
    # The swapped panel offers the same steps, closed and without their forms, each fetched
    # from the record page when opened.
    assert set(steps(swapped)) == set(offered)
    for summary, details in steps(swapped).items():
        assert "open" not in details.attrs and not details.select("form")
        placeholder = details.select_one("[hx-get]")
        assert placeholder["hx-get"] == record_page
        assert placeholder["hx-trigger"] == "toggle from:closest details once"
        fetched = parse(
            web.get(placeholder["hx-get"], headers={"HX-Request": "true"}).get_data(as_text=True)
        )
        [body] = fetched.select(placeholder["hx-select"].replace(" > ", " "))
        [form] = body.select("form")
        assert form["action"].startswith(f"/removals/{removal.id}/"), summary
        assert form.select("input[name='csrf_token']") and form.select("button")
    # With JavaScript off the page is all there is: every form written out.
    for details in offered.values():
        assert details.select("form")

    # A form sent with a mistake comes back written out and open, with the error.
    refused = send(web, removal, "ask_extension", htmx=True, reason="Court adjourned")
    assert refused.status_code == 422
    asked = steps(parse(refused.get_data(as_text=True)))["Ask for more time"]
    assert "open" in asked.attrs
    assert asked.select("form input[name='new_due_on-day']")
    assert asked.select(".govuk-error-message")
