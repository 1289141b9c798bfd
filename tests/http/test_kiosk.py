"""The team-base kiosk over HTTP: a shared PC, a barcode scanner, staff number and PIN.

Everything here is a plain form post, as a browser without JavaScript sends it: the kiosk
works without scripts (its idle timer is a courtesy; the server enforces the 60 seconds).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import segno

from machines import clock
from models.audit import AuditEvent
from models.people import User
from models.records import Record, Removal
from tests.conftest import PIN

SAFEGUARDS = {
    "lockable_bag": "yes",
    "laptop_protected": "yes",
    "no_usb_stick": "yes",
    "notebook_secure": "yes",
}


@pytest.fixture
def site(people):
    lina = people.add("lina", "line_manager", staff_number="10001")
    pat = people.add("pat", "practitioner", manager=lina, staff_number="10002")
    sam = people.add("sam", "practitioner", manager=lina, staff_number="10003")
    mo = people.add("mo", "line_manager", team="Adults East", staff_number="20001")
    alex = people.add("alex", "practitioner", team="Adults East", manager=mo, staff_number="20002")
    nopin = people.add("nopin", "practitioner", manager=lina, staff_number="10009", pin=None)
    kiosk = people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    today = clock.uk_today()

    def record(owner, description, state=None):
        rec = Record.create(
            case_id="1234567", description=description, team=owner.team_id, created_by=owner
        )
        if state:
            Removal.create(
                record=rec,
                team=owner.team_id,
                state=state,
                for_user=owner,
                requested_by=owner,
                requester_manager=owner.line_manager_id,
                purpose="court",
                papers="Court bundle",
                due_on=today + dt.timedelta(days=3),
                requested_at=clock.now(),
            )
        return rec

    return {
        "lina": lina,
        "pat": pat,
        "sam": sam,
        "alex": alex,
        "nopin": nopin,
        "kiosk": kiosk,
        "approved": record(pat, "Court bundle, volume 2", "approved_for_removal"),
        "out": record(pat, "Conference minutes", "out"),
        "in_office": record(pat, "Old assessment"),
        "east": record(alex, "East team bundle", "approved_for_removal"),
    }


@pytest.fixture
def kiosk(web, site):
    web.sign_in("kiosk-north")
    web.get("/kiosk/")
    return web


def identify(kiosk, staff_number="10002", pin=PIN):
    kiosk.get("/kiosk/")
    return kiosk.post("/kiosk/identify", {"staff_number": staff_number, "pin": pin})


def scan(kiosk, code):
    """What a USB scanner does: types the code into the focused field and presses Enter."""
    return kiosk.post("/kiosk/scan", {"label_code": code})


def removal_of(record) -> Removal:
    return Removal.select().where(Removal.record == record).order_by(Removal.id.desc()).get()


def error_summary(html: str) -> str:
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert match, "no GOV.UK error summary"
    return match.group(0)


# -- The kiosk account reaches the kiosk and nothing else -------------------------------------


def test_kiosk_account_lands_on_the_kiosk(web, site):
    response = web.sign_in("kiosk-north")
    home = web.client.get(response.headers["Location"])
    assert home.status_code in (302, 303) and home.headers["Location"].endswith("/kiosk/")
    html = web.get("/kiosk/").get_data(as_text=True)
    assert "Take out or return papers" in html and 'name="staff_number"' in html
    assert 'class="govuk-service-navigation__list"' not in html  # no service navigation


@pytest.mark.parametrize(
    "url",
    [
        "/records",
        "/records/new",
        "/records/labels",
        "/approvals",
        "/board",
        "/send",
        "/send/new",
        "/breaches",
        "/breaches/new",
        "/register",
        "/account/pin",
    ],
)
def test_kiosk_account_cannot_open_any_other_page(kiosk, site, url):
    response = kiosk.client.get(url)
    assert response.status_code in (302, 303, 403), (url, response.status_code)
    if response.status_code != 403:
        assert response.headers["Location"].endswith("/kiosk/")
    assert "Court bundle" not in response.get_data(as_text=True)


def test_kiosk_account_cannot_open_a_record_or_post_elsewhere(kiosk, site):
    record = site["approved"]
    assert kiosk.client.get(f"/records/{record.id}").status_code == 403
    removal = removal_of(record)
    response = kiosk.post(
        f"/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 403
    assert kiosk.post("/records/new", {"case_id": "1", "description": "x"}).status_code == 403
    assert (
        kiosk.post(
            "/account/pin", {"password": "x", "pin": "1357", "pin_confirm": "1357"}
        ).status_code
        == 403
    )
    assert removal_of(record).state == "approved_for_removal"
    assert kiosk.client.get("/board", headers={"HX-Request": "true"}).status_code == 403


def test_staff_cannot_use_the_kiosk_screens(web, site):
    web.sign_in("pat")
    web.get("/kiosk/", status=403)
    web.get("/")
    assert web.post("/kiosk/identify", {"staff_number": "10002", "pin": PIN}).status_code == 403


# -- Identifying with staff number and PIN ---------------------------------------------------


def test_staff_number_and_pin_identify_the_person(kiosk, site):
    response = identify(kiosk)
    assert response.status_code == 303
    html = kiosk.get("/kiosk/").get_data(as_text=True)
    assert "Hello Pat Tester" in html and 'name="label_code"' in html
    assert "sign me out" in html


def test_missing_staff_number_and_pin_are_gov_uk_errors(kiosk, site):
    response = identify(kiosk, staff_number="", pin="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = error_summary(html)
    assert 'href="#staff_number">Enter your staff number' in summary
    assert 'href="#pin">Enter your PIN' in summary
    assert '<p id="staff_number-error" class="govuk-error-message">' in html
    assert "<title>Error: " in html


def test_wrong_pin_is_refused_with_a_gov_uk_error(kiosk, site):
    response = identify(kiosk, pin="9753")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Enter a correct staff number and PIN" in error_summary(html)
    assert '<p id="staff_number-error" class="govuk-error-message">' in html
    assert "<title>Error: " in html
    assert 'value="10002"' in html  # the staff number stays; the PIN never comes back
    assert "9753" not in html
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)
    assert User.get_by_id(site["pat"].id).failed_pins == 1


def test_unknown_staff_number_and_no_pin_set_get_the_same_answer(kiosk, site):
    wrong = identify(kiosk, pin="9753").get_data(as_text=True)
    unknown = identify(kiosk, staff_number="55555", pin=PIN)
    no_pin = identify(kiosk, staff_number="10009", pin=PIN)
    assert unknown.status_code == no_pin.status_code == 401
    for response in (unknown, no_pin):
        assert "Enter a correct staff number and PIN" in response.get_data(as_text=True)
    assert "Enter a correct staff number and PIN" in wrong


def test_another_teams_person_cannot_use_this_kiosk(kiosk, site):
    response = identify(kiosk, staff_number="20002")
    assert response.status_code == 401
    assert "Hello Alex" not in kiosk.get("/kiosk/").get_data(as_text=True)


def test_repeated_wrong_pins_lock_the_pin(kiosk, site):
    for _ in range(5):
        assert identify(kiosk, pin="9753").status_code == 401
    pat = User.get_by_id(site["pat"].id)
    assert pat.pin_locked_until is not None and pat.pin_locked_until > clock.now()
    locks = list(AuditEvent.select().where(AuditEvent.event == "pin_locked"))
    assert [(e.entity_id, e.kiosk_id) for e in locks] == [(pat.id, site["kiosk"].id)]
    # Locked: even the right PIN is refused, with the one refusal every failure gets (a
    # passer-by learns nothing about which staff numbers exist or are locked); it says a
    # PIN locks, so Pat knows why.
    response = identify(kiosk)
    assert response.status_code == 401
    assert "After 5 wrong PINs a PIN is locked for 15 minutes" in error_summary(
        response.get_data(as_text=True)
    )
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)
    # Another person's PIN still works meanwhile.
    assert identify(kiosk, staff_number="10003").status_code == 303
    kiosk.post("/kiosk/sign-out")
    # After the lockout the right PIN works again.
    clock.travel(dt.timedelta(minutes=16))
    kiosk.client.get("/kiosk/")  # keep the kiosk's own session (idle 30 min) alive
    assert identify(kiosk).status_code == 303


# -- Scanning a label ------------------------------------------------------------------------


def test_scanning_a_label_shows_the_record_and_the_take_out_form(kiosk, site):
    identify(kiosk)
    record = site["approved"]
    response = scan(kiosk, record.label_code)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Court bundle, volume 2" in html and record.label_code in html
    assert "Approved to take out" in html
    removal = removal_of(record)
    assert f'action="/kiosk/removals/{removal.id}/take_out"' in html
    assert "return_papers" not in html
    for name in SAFEGUARDS:
        assert f'name="{name}"' in html


def test_a_typed_code_in_lower_case_with_spaces_is_found(kiosk, site):
    identify(kiosk)
    code = site["approved"].label_code
    assert "Court bundle, volume 2" in scan(kiosk, f"  {code.lower()} ").get_data(as_text=True)


def test_only_the_actions_this_person_may_take(kiosk, site):
    # Sam is not the holder: no take out, just what the papers are doing; papers in hand he
    # may bring back for Pat (test_kiosk_team.py).
    identify(kiosk, staff_number="10003")
    html = scan(kiosk, site["approved"].label_code).get_data(as_text=True)
    assert "/take_out" not in html and "/return_papers" not in html
    assert "There is nothing you can do with these papers here" in html
    html = scan(kiosk, site["out"].label_code).get_data(as_text=True)
    assert "/take_out" not in html and "Return papers for Pat Tester" in html
    # Even posted directly, the guard refuses: only the holder carries the papers out.
    removal = removal_of(site["approved"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 403
    assert removal_of(site["approved"]).state == "approved_for_removal"
    kiosk.post("/kiosk/sign-out")

    # The line manager may take papers back in for the team, but not carry them out.
    identify(kiosk, staff_number="10001")
    html = scan(kiosk, site["out"].label_code).get_data(as_text=True)
    assert "/return_papers" in html and "/take_out" not in html
    html = scan(kiosk, site["approved"].label_code).get_data(as_text=True)
    assert "/take_out" not in html


def test_papers_in_the_office_offer_only_asking_for_them(kiosk, site):
    identify(kiosk)
    html = scan(kiosk, site["in_office"].label_code).get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="([^"]+)"', html)
    assert forms == [f"/kiosk/records/{site['in_office'].id}/request", "/kiosk/sign-out"]


def test_another_teams_label_or_an_unknown_code_is_not_found(kiosk, site):
    identify(kiosk)
    for code in (site["east"].label_code, "SK-NOTACODE", ""):
        response = scan(kiosk, code)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "East team bundle" not in html
        summary = error_summary(html)
        assert (
            "No record of this team has that label code" in summary or "Scan the label" in summary
        )
    removal = removal_of(site["east"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 404


def test_scanning_without_identifying_first_goes_back_to_identify(kiosk, site):
    response = scan(kiosk, site["approved"].label_code)
    assert response.status_code == 303 and "/kiosk/" in response.headers["Location"]
    assert "Court bundle" not in response.get_data(as_text=True)


# -- Taking out and returning ------------------------------------------------------------------


def test_take_out_without_the_safeguards_is_refused(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["approved"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out",
        {"lockable_bag": "yes", "version": removal.version},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = error_summary(html)
    assert "USB memory stick" in summary and "notebook" in summary
    assert "lockable bag" not in summary  # that one was ticked
    assert 'class="govuk-error-message"' in html
    # The box that was ticked stays ticked; the others wait for the person.
    assert re.search(
        r'id="lockable_bag" name="lockable_bag" type="checkbox" value="yes" checked', html
    )
    assert not re.search(r'id="no_usb_stick"[^>]*checked', html)
    assert removal_of(site["approved"]).state == "approved_for_removal"
    assert "Hello Pat Tester" in kiosk.get("/kiosk/").get_data(as_text=True)  # still here


def test_take_out_with_the_safeguards_signs_the_person_out(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["approved"])
    html = scan(kiosk, site["approved"].label_code).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": version}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/kiosk/?done=take_out")
    after = removal_of(site["approved"])
    assert after.state == "out" and after.taken_out_at is not None
    page = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Papers taken out" in page and "You have been signed out of the kiosk" in page
    assert 'name="staff_number"' in page and "Hello Pat" not in page
    # Signed out: the next scan asks who you are again.
    assert scan(kiosk, site["out"].label_code).status_code == 303


def test_return_papers_signs_the_person_out(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["out"])
    assert "/return_papers" in scan(kiosk, site["out"].label_code).get_data(as_text=True)
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/return_papers", {"version": removal.version}
    )
    assert response.status_code == 200  # nothing undoes it: the kiosk asks first
    assert "Are the papers back in the office?" in response.get_data(as_text=True)
    assert removal_of(site["out"]).state == "out"
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/return_papers",
        {"version": removal.version, "confirmed": "yes"},
    )
    assert response.status_code == 303
    assert removal_of(site["out"]).state == "returned"
    page = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Papers returned" in page and 'name="staff_number"' in page


@pytest.mark.postgres
def test_a_stale_form_is_refused(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["out"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/return_papers", {"version": removal.version + 5}
    )
    assert response.status_code == 409
    assert "Scan the label again" in response.get_data(as_text=True)
    assert removal_of(site["out"]).state == "out"


def test_only_kiosk_events_can_be_sent(kiosk, site):
    identify(kiosk, staff_number="10001")
    removal = removal_of(site["out"])
    response = kiosk.post(f"/kiosk/removals/{removal.id}/report_lost", {"version": removal.version})
    assert response.status_code == 404
    assert removal_of(site["out"]).state == "out"


def test_the_audit_event_records_the_person_and_the_kiosk(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["approved"])
    kiosk.post(f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version})
    event = (
        AuditEvent.select()
        .where(
            AuditEvent.entity_type == "removal",
            AuditEvent.entity_id == removal.id,
            AuditEvent.event == "take_out",
        )
        .get()
    )
    assert event.actor_id == site["pat"].id
    assert event.kiosk_id == site["kiosk"].id
    identify(kiosk)
    out = removal_of(site["out"])
    kiosk.post(
        f"/kiosk/removals/{out.id}/return_papers", {"version": out.version, "confirmed": "yes"}
    )
    event = (
        AuditEvent.select()
        .where(AuditEvent.entity_id == out.id, AuditEvent.event == "return_papers")
        .get()
    )
    assert (event.actor_id, event.kiosk_id) == (site["pat"].id, site["kiosk"].id)


# -- Idle timeout ------------------------------------------------------------------------------


def test_signed_out_after_60_seconds_idle(kiosk, site):
    identify(kiosk)
    clock.travel(dt.timedelta(seconds=45))
    assert "Hello Pat" in kiosk.get("/kiosk/").get_data(as_text=True)  # input resets the timer
    clock.travel(dt.timedelta(seconds=45))
    assert scan(kiosk, site["approved"].label_code).status_code == 200  # 45 s since last
    clock.travel(dt.timedelta(seconds=61))
    response = scan(kiosk, site["approved"].label_code)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/kiosk/?timed_out=1")
    page = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "after 60 seconds without input" in page and 'name="staff_number"' in page
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)


def test_idle_person_cannot_complete_an_action(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["approved"])
    scan(kiosk, site["approved"].label_code)
    clock.travel(dt.timedelta(seconds=61))
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 303 and "timed_out=1" in response.headers["Location"]
    assert removal_of(site["approved"]).state == "approved_for_removal"


def test_the_idle_timer_url_forgets_the_person(kiosk, site):
    identify(kiosk)
    page = kiosk.get("/kiosk/").get_data(as_text=True)
    assert 'data-idle-url="/kiosk/timeout" data-idle-seconds="60"' in page
    response = kiosk.client.get("/kiosk/timeout")
    assert response.status_code == 303
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)


def test_finished_button_signs_the_person_out(kiosk, site):
    identify(kiosk)
    assert kiosk.post("/kiosk/sign-out").status_code == 303
    assert 'name="staff_number"' in kiosk.get("/kiosk/").get_data(as_text=True)


# -- The identified person lives on the server, not in the kiosk's cookie ---------------------


def _captured(app, kiosk):
    """Another browser holding a copy of the kiosk's cookie as it is now."""
    thief = app.test_client()
    thief.set_cookie("safekeep_session", kiosk.client.get_cookie("safekeep_session").value)
    return thief


def test_a_cookie_captured_while_pat_was_identified_no_longer_identifies_pat(app, kiosk, site):
    identify(kiosk)
    assert "Hello Pat" in kiosk.get("/kiosk/").get_data(as_text=True)
    copy = _captured(app, kiosk)
    assert kiosk.post("/kiosk/sign-out").status_code == 303  # "I'm finished – sign me out"

    page = copy.get("/kiosk/").get_data(as_text=True)
    assert "Hello Pat" not in page and 'name="staff_number"' in page
    scanned = copy.post(
        "/kiosk/scan",
        data={"csrf_token": kiosk.csrf, "label_code": site["approved"].label_code},
    )
    assert scanned.status_code == 303 and "timed_out=1" in scanned.headers["Location"]


def test_the_kiosks_cookie_does_not_carry_the_person(app, kiosk, site):
    identify(kiosk)
    kiosk.get("/kiosk/")
    cookie = kiosk.client.get_cookie("safekeep_session").value
    contents = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert not {k for k in contents if "kiosk" in k or "person" in k}, contents
    assert str(site["pat"].id) not in {str(v) for v in contents.values()}


def test_the_next_person_identifying_replaces_the_last(app, kiosk, site):
    identify(kiosk)
    copy = _captured(app, kiosk)
    assert identify(kiosk, staff_number="10003").status_code == 303
    assert "Hello Sam" in copy.get("/kiosk/").get_data(as_text=True)
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)


def test_after_the_idle_minute_a_captured_cookie_is_worthless_too(app, kiosk, site):
    identify(kiosk)
    copy = _captured(app, kiosk)
    clock.travel(dt.timedelta(seconds=61))
    assert "Hello Pat" not in copy.get("/kiosk/").get_data(as_text=True)
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)


def test_a_completed_action_forgets_the_person_for_every_copy(app, kiosk, site):
    identify(kiosk)
    copy = _captured(app, kiosk)
    out = removal_of(site["out"])
    returned = kiosk.post(
        f"/kiosk/removals/{out.id}/return_papers", {"version": out.version, "confirmed": "yes"}
    )
    assert returned.status_code == 303  # a return asks first: confirmed, it is done
    assert "Hello Pat" not in copy.get("/kiosk/").get_data(as_text=True)


# -- Input at the kiosk keeps the person (issue 15) -----------------------------------------------


def still_here(kiosk):
    return kiosk.client.post("/kiosk/still-here", headers={"X-CSRFToken": kiosk.csrf})


def test_input_at_the_kiosk_keeps_the_person_identified(kiosk, site):
    identify(kiosk)
    scan(kiosk, site["approved"].label_code)  # the take-out form is open
    for _ in range(6):  # ticking a safeguard every 15 s sends "still here"; 90 s in all
        clock.travel(dt.timedelta(seconds=15))
        assert still_here(kiosk).status_code == 204
    removal = removal_of(site["approved"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 303 and "done=take_out" in response.headers["Location"]
    assert removal_of(site["approved"]).state == "out"


def test_still_here_after_the_minute_says_the_person_is_gone(kiosk, site):
    identify(kiosk)
    clock.travel(dt.timedelta(seconds=61))
    assert still_here(kiosk).status_code == 410
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)


def test_still_here_needs_the_csrf_token_and_a_kiosk(kiosk, site, new_web):
    identify(kiosk)
    assert kiosk.client.post("/kiosk/still-here").status_code == 400
    staff = new_web()
    staff.sign_in("pat")
    staff.get("/")
    assert staff.post("/kiosk/still-here").status_code == 403


def test_the_kiosk_screen_has_the_are_you_still_there_warning(kiosk, site):
    identify(kiosk)
    html = kiosk.get("/kiosk/").get_data(as_text=True)
    assert 'id="app-kiosk-warning"' in html and 'role="alertdialog"' in html
    assert "Are you still there?" in html and "I&#39;m still here" in html
    assert 'data-warn-seconds="15"' in html and 'data-still-here-url="/kiosk/still-here"' in html


# -- Without JavaScript --------------------------------------------------------------------


def test_every_kiosk_form_is_a_plain_post(kiosk, site):
    pages = [kiosk.get("/kiosk/").get_data(as_text=True)]
    identify(kiosk)
    pages.append(kiosk.get("/kiosk/").get_data(as_text=True))
    pages.append(scan(kiosk, site["approved"].label_code).get_data(as_text=True))
    for html in pages:
        main = html.split("<main", 1)[1]
        assert not re.search(r"\shx-(get|post|trigger|target|swap)=", main)
        forms = re.findall(r"<form[^>]*>", main)
        assert forms
        for form in forms:
            assert 'method="post"' in form and 'action="/kiosk/' in form
        assert main.count('name="csrf_token"') == len(forms)


# -- The label sheet ---------------------------------------------------------------------------


def test_label_sheet_has_a_qr_code_per_record_carrying_only_the_label_code(web, site):
    web.sign_in("pat")
    html = web.get("/records/labels").get_data(as_text=True)
    records = list(
        Record.select().where(Record.team == site["pat"].team_id).order_by(Record.id.desc())
    )  # newest first: the labels people print are for the records just added
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == len(records) == 3
    for record, svg in zip(records, svgs, strict=True):
        # The QR is exactly the QR of the label code alone (same settings as the page).
        qr = segno.make(record.label_code, error="m", micro=False)
        assert svg == qr.svg_inline(scale=3, border=1, omitsize=True)
        # A full QR code, 21 modules and a border at scale 3, not a Micro QR's 15: the
        # browser's decoders ("Scan label" with a camera) read no Micro QR.
        assert svg.startswith('<svg viewBox="0 0 69 69"')
        with_case = segno.make(f"{record.label_code} {record.case_id}", error="m")
        assert svg != with_case.svg_inline(scale=3, border=1, omitsize=True)
        assert record.case_id not in svg and record.description not in svg
        assert record.label_code in html
    assert "East team bundle" not in html


def test_the_label_sheet_is_linked_from_records_for_team_staff(web, site):
    web.sign_in("pat")
    assert 'href="/records/labels">Print record labels</a>' in web.get("/records").get_data(
        as_text=True
    )


def test_label_sheet_is_for_team_staff_only(web, new_web, site):
    web.sign_in("kiosk-north")
    assert web.client.get("/records/labels").status_code == 403
    other = new_web()
    other.sign_in("alex")
    html = other.get("/records/labels").get_data(as_text=True)
    assert "East team bundle" in html and "Court bundle" not in html


# -- The kiosk account's own idle limit (KIOSK_IDLE_HOURS) -------------------------------------


def test_an_unused_kiosk_stays_signed_in_for_hours_but_not_for_ever(kiosk, site, new_web):
    staff = new_web()
    staff.sign_in("lina")
    # Half an hour without use signs a member of staff out, not the kiosk.
    clock.travel(dt.timedelta(minutes=31))
    assert staff.client.get("/").status_code == 302
    assert 'name="staff_number"' in kiosk.get("/kiosk/").get_data(as_text=True)
    # A quiet day at the team base: still the kiosk screen after 11 hours, not the sign-in page.
    clock.travel(dt.timedelta(hours=11))
    assert 'name="staff_number"' in kiosk.get("/kiosk/").get_data(as_text=True)
    assert identify(kiosk).status_code == 303
    # The person identified at the kiosk is still forgotten after 60 seconds.
    clock.travel(dt.timedelta(seconds=61))
    page = kiosk.get("/kiosk/").get_data(as_text=True)
    assert "Hello Pat" not in page and 'name="staff_number"' in page
    # Past KIOSK_IDLE_HOURS (12 by default) the kiosk needs its password again.
    clock.travel(dt.timedelta(hours=12, minutes=1))
    response = kiosk.client.get("/kiosk/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    # Ended on the server: going back in time does not revive it.
    clock.travel(dt.timedelta(hours=-12))
    assert kiosk.client.get("/kiosk/").status_code == 302


def test_the_kiosk_idle_limit_comes_from_the_setting(backend, tmp_path, request):
    from tests.conftest import People, close_database, make_app

    app = make_app(backend, tmp_path, request, KIOSK_IDLE_HOURS="2")
    try:
        assert app.config["KIOSK_IDLE_HOURS"] == 2
        People().add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
        from tests.http.conftest import Web

        web = Web(app.test_client())
        web.sign_in("kiosk-north")
        clock.travel(dt.timedelta(minutes=119))
        assert web.client.get("/kiosk/").status_code == 200
        clock.travel(dt.timedelta(minutes=121))
        assert web.client.get("/kiosk/").status_code == 302
    finally:
        close_database()


@pytest.mark.parametrize("value", ["0", "-3", "25", "twelve", "1.5", ""])
def test_a_bad_kiosk_idle_setting_stops_the_app_starting(tmp_path, value):
    from app import create_app

    with pytest.raises(ValueError, match="KIOSK_IDLE_HOURS must be a whole number from 1 to 24"):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "KIOSK_IDLE_HOURS": value,
                "SQLITE_PATH": str(tmp_path / "never.db"),
            }
        )


def test_the_kiosk_idle_setting_is_read_from_the_environment(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("KIOSK_IDLE_HOURS", "8")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "AUDIT_HMAC_KEY": "x",
            "SQLITE_PATH": str(tmp_path / "env.db"),
        }
    )
    assert app.config["KIOSK_IDLE_HOURS"] == 8
    monkeypatch.delenv("KIOSK_IDLE_HOURS")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "AUDIT_HMAC_KEY": "x",
            "SQLITE_PATH": str(tmp_path / "env.db"),
        }
    )
    assert app.config["KIOSK_IDLE_HOURS"] == 12


# -- Error pages on the kiosk keep the kiosk layout --------------------------------------------


def assert_kiosk_error_page(html: str) -> None:
    assert "Safekeep kiosk" in html  # the kiosk's header
    assert 'action="/sign-out"' not in html and ">Sign out<" not in html
    assert 'class="govuk-service-navigation' not in html
    assert '<a class="govuk-link" href="/kiosk/">Go back to the kiosk screen</a>' in html
    assert "Go to your home page" not in html
    assert 'class="govuk-main-wrapper app-kiosk"' in html


def test_a_403_at_the_kiosk_offers_the_kiosk_not_sign_out(kiosk, site):
    response = kiosk.get("/board", status=403)
    html = response.get_data(as_text=True)
    assert_kiosk_error_page(html)
    assert "You do not have access to this page" in html
    assert "This cannot be done at the kiosk" in html
    assert "ask your line manager" not in html
    assert "sign me out" not in html  # nobody identified: nothing to sign out of


def test_a_404_at_the_kiosk_offers_the_kiosk_not_sign_out(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["east"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert_kiosk_error_page(html)
    assert "Page not found" in html
    # Pat is still identified: the page keeps their sign-out button and the 60 s idle timer.
    assert "sign me out" in html and 'data-idle-url="/kiosk/timeout"' in html


def test_a_409_page_for_the_kiosk_account_uses_the_kiosk_layout(app, kiosk, site):
    from flask_login import login_user

    from views import render_error

    with app.test_request_context("/kiosk/"):
        account = User.get_by_id(site["kiosk"].id)
        account.session_token = "test"
        login_user(account)
        response = render_error(409, "Someone else has taken these papers out.")
        html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert_kiosk_error_page(html)
    assert "Someone else has changed this" in html


def test_staff_error_pages_keep_the_staff_header(web, site):
    web.sign_in("pat")
    html = web.get("/kiosk/", status=403).get_data(as_text=True)
    assert 'action="/sign-out"' in html and "Go to your home page" in html
    assert "Go back to the kiosk screen" not in html and "Safekeep kiosk" not in html
    assert "ask your line manager" in html


# -- Too many failures at one kiosk pause it, whoever they were against -----------------------


def test_one_pin_tried_against_many_staff_numbers_pauses_the_kiosk(kiosk, site, new_web):
    # Ten tries of one common PIN, each against a different staff number: no person's own
    # PIN lock (5 tries) ever sees more than one.
    numbers = ["10001", "10003", "10009", "20002"] + [f"3000{n}" for n in range(6)]
    for number in numbers:
        assert identify(kiosk, staff_number=number, pin="1234").status_code == 401
    assert all(u.failed_pins <= 1 and u.pin_locked_until is None for u in User.select())
    # Now even the right PIN is refused here, with a GOV.UK message that says why.
    response = identify(kiosk)
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and response.headers["Retry-After"] == "300"
    assert (
        "Too many wrong staff numbers or PINs were entered at this kiosk. Try again in 5 "
        "minutes, or use your own laptop"
    ) in error_summary(html)
    assert 'href="#staff_number"' in error_summary(html)
    assert '<p id="staff_number-error" class="govuk-error-message">' in html
    assert "<title>Error: " in html and "1234" not in html
    assert "Hello Pat" not in kiosk.get("/kiosk/").get_data(as_text=True)
    assert User.get_by_id(site["pat"].id).failed_pins == 0  # refused before any PIN check
    # The pause is in the database: another session of the kiosk (another worker) sees it.
    other = new_web()
    other.sign_in("kiosk-north")
    assert identify(other).status_code == 429
    # Another kiosk is not paused.
    from tests.conftest import People

    People().add("kiosk-north-2", "kiosk", staff_number="K0002", pin=None)
    second = new_web()
    second.sign_in("kiosk-north-2")
    assert identify(second).status_code == 303
    # The pause is in the audit trail, with the kiosk.
    event = AuditEvent.get(AuditEvent.event == "kiosk_paused")
    assert (event.actor_id, event.kiosk_id, event.entity_id) == (site["kiosk"].id,) * 3
    # A few minutes later the kiosk works again.
    clock.travel(dt.timedelta(minutes=4))
    message = error_summary(identify(kiosk).get_data(as_text=True))
    assert "Try again in 1 minute," in message
    clock.travel(dt.timedelta(minutes=1, seconds=1))
    assert identify(kiosk).status_code == 303


def test_failures_spread_over_more_than_15_minutes_do_not_pause_the_kiosk(kiosk, site):
    for n in range(9):
        assert identify(kiosk, staff_number=f"3000{n}").status_code == 401
    clock.travel(dt.timedelta(minutes=16))
    kiosk.client.get("/kiosk/")
    assert identify(kiosk, staff_number="30009").status_code == 401
    assert identify(kiosk).status_code == 303
    assert AuditEvent.select().where(AuditEvent.event == "kiosk_paused").count() == 0


def test_tries_at_a_locked_persons_pin_count_at_the_kiosk_too(kiosk, site):
    for _ in range(5):
        assert identify(kiosk, pin="9753").status_code == 401
    for _ in range(5):  # Pat's PIN is locked: these are refused and still counted
        assert "a PIN is locked for 15 minutes" in identify(kiosk).get_data(as_text=True)
    assert identify(kiosk, staff_number="10003").status_code == 429


# -- The kiosk's record page ---------------------------------------------------------------------


def test_the_409_error_links_to_the_status_on_the_page(kiosk, site):
    identify(kiosk)
    removal = removal_of(site["out"])
    response = kiosk.post(
        f"/kiosk/removals/{removal.id}/return_papers", {"version": removal.version + 5}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    hrefs = re.findall(r'href="#([^"]+)"', error_summary(html))
    assert hrefs == ["status"]
    for anchor in hrefs:
        assert f'id="{anchor}"' in html, f"#{anchor} is not on the page"
    status = html.split('id="status"', 1)[1]
    assert status.index("Out of the office") < status.index("</dl>")


def test_approved_to_take_out_tag_does_not_wrap(kiosk, site):
    identify(kiosk)
    html = scan(kiosk, site["approved"].label_code).get_data(as_text=True)
    assert re.search(
        r'<strong class="govuk-tag govuk-tag--blue app-tag--wide">'
        r"Approved to take out</strong>",
        html,
    )
    html = scan(kiosk, site["out"].label_code).get_data(as_text=True)
    assert "app-tag--wide" not in html  # short tags keep GOV.UK's width


def test_a_kiosk_asking_for_a_missing_page_is_told_it_is_not_found(kiosk):
    """Not "You do not have access": the page does not exist for anyone."""
    response = kiosk.client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "You do not have access" not in html
    assert kiosk.client.get("/records").status_code == 403  # a real page, not the kiosk's
