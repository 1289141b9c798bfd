"""Data protection training where the risk is (issue 26, item 1): every rule over HTTP.

Papers go out, and documents are sent, only by people whose training is in date; a lapsed
person is told why where the button would be, and their line manager may allow one removal
with a recorded reason. Test people are trained the day they are added (tests/conftest.py):
here they are given the dates each rule is about.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest

from machines import clock
from machines.training import add_months
from models.audit import AuditEvent
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User
from models.records import Record, Removal
from models.training import TrainingException
from tests.conftest import PIN
from tests.http.html import Element, parse

SAFEGUARDS = {
    "lockable_bag": "yes",
    "laptop_protected": "yes",
    "no_usb_stick": "yes",
    "notebook_secure": "yes",
}

pytestmark = pytest.mark.postgres


def lapsed_on(days_ago: int = 10) -> tuple[dt.date, dt.date]:
    """A training date whose 12 months ran out `days_ago` days ago, and the day it lapsed."""
    today = clock.uk_today()
    lapsed = today - dt.timedelta(days=days_ago)
    return add_months(lapsed, -12), lapsed


@pytest.fixture
def site(people, backend):
    lina = people.add("lina", "line_manager")
    other = people.add("olu", "line_manager")
    trained_on, _ = lapsed_on()
    pat = people.add(
        "pat", "practitioner", manager=lina, staff_number="20002", trained_on=trained_on
    )
    sam = people.add("sam", "practitioner", manager=lina)
    admin = people.add("admin", "admin", team="Directorate")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    record = Record.create(
        case_id="1234567", description="Court bundle, volume 2", team=pat.team_id, created_by=pat
    )
    removal = Removal.create(
        record=record,
        team=pat.team_id,
        state="approved_for_removal",
        for_user=pat,
        requested_by=pat,
        requester_manager=lina,
        purpose="court",
        papers="Court bundle",
        due_on=clock.uk_today() + dt.timedelta(days=3),
        requested_at=clock.now(),
    )
    return {
        "lina": lina,
        "olu": other,
        "pat": pat,
        "sam": sam,
        "admin": admin,
        "record": record,
        "removal": removal,
    }


def soup(response) -> Element:
    return parse(response.get_data(as_text=True))


def take_out(web, removal: Removal):
    fresh = Removal.get_by_id(removal.id)
    return web.post(f"/removals/{fresh.id}/take_out", {**SAFEGUARDS, "version": fresh.version})


def allow(web, person: User, reason: str = "Final hearing tomorrow morning"):
    web.get("/")
    return web.post(f"/training/{person.id}/allow-removal", {"reason": reason})


def exceptions() -> int:
    return TrainingException.select().count()


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.event == name))


# -- A lapsed person cannot take papers out, and is told why -----------------------------------


def test_lapsed_holder_is_told_why_and_has_no_take_out_button(web, site):
    _, lapsed = lapsed_on()
    web.sign_in("pat")
    page = soup(web.get(f"/records/{site['record'].id}"))
    assert page.select_one("form[action$='/take_out']") is None
    warning = page.select_one("#status #training-warning").get_text(" ", strip=True)
    assert f"Your data protection training lapsed on {lapsed.day} {lapsed:%B %Y}" in warning
    assert "Ask your line manager, Lina Tester," in warning


def test_lapsed_holder_taking_papers_out_is_refused_409(web, site):
    web.sign_in("pat")
    web.get(f"/records/{site['record'].id}")
    response = take_out(web, site["removal"])
    assert response.status_code == 409
    assert Removal.get_by_id(site["removal"].id).state == "approved_for_removal"
    assert not events("take_out")


def test_no_training_recorded_counts_as_not_trained(web, site):
    User.update(trained_on=None).where(User.id == site["pat"].id).execute()
    web.sign_in("pat")
    page = soup(web.get(f"/records/{site['record'].id}"))
    assert "Your data protection training is not recorded" in page.select_one(
        "#training-warning"
    ).get_text(" ", strip=True)
    assert take_out(web, site["removal"]).status_code == 409


def test_training_in_date_takes_papers_out(web, site):
    User.update(trained_on=clock.uk_today()).where(User.id == site["pat"].id).execute()
    web.sign_in("pat")
    page = soup(web.get(f"/records/{site['record'].id}"))
    assert page.select_one("form[action$='/take_out']") is not None
    assert page.select_one("#training-warning") is None
    assert take_out(web, site["removal"]).status_code == 303
    assert Removal.get_by_id(site["removal"].id).state == "out"
    assert exceptions() == 0  # nothing used: none was needed


def test_the_period_is_the_setting(people, app, web, site):
    """Trained 12 months and 10 days ago: lapsed under 12 months, in date under 13."""
    from models.training import set_training_period

    set_training_period(13)
    try:
        web.sign_in("pat")
        web.get(f"/records/{site['record'].id}")
        assert take_out(web, site["removal"]).status_code == 303
    finally:
        set_training_period(app.config["TRAINING_VALID_MONTHS"])


# -- The line manager allows one removal ----------------------------------------------------


def test_line_manager_sees_the_lapsed_report_and_allows_one_removal(web, site):
    web.sign_in("lina")
    home = soup(web.get("/"))
    item = home.select_one("#reports-training").get_text(" ", strip=True)
    assert "Pat Tester's data protection training lapsed on" in item
    link = home.select_one(f"a[href='/training/{site['pat'].id}/allow-removal']")
    assert link is not None
    web.get(link["href"])
    response = web.post(link["href"], {"reason": "Final hearing tomorrow morning"})
    assert response.status_code == 303
    assert "done=training_exception" in response.headers["Location"]
    [exception] = TrainingException.select()
    assert (exception.person_id, exception.allowed_by_id) == (site["pat"].id, site["lina"].id)
    assert exception.reason == "Final hearing tomorrow morning" and exception.used_at is None
    [event] = events("allow_training_exception")
    assert (event.actor_id, event.entity_id) == (site["lina"].id, site["pat"].id)
    again = soup(web.get("/"))
    assert "One removal allowed" in again.select_one("#reports-training").get_text()
    assert again.select_one(f"a[href='/training/{site['pat'].id}/allow-removal']") is None


def test_the_exception_lets_one_removal_out_and_is_used_up(web, new_web, site):
    manager = new_web()
    manager.sign_in("lina")
    assert allow(manager, site["pat"]).status_code == 303
    web.sign_in("pat")
    page = soup(web.get(f"/records/{site['record'].id}"))
    assert page.select_one("form[action$='/take_out']") is not None
    assert take_out(web, site["removal"]).status_code == 303
    assert Removal.get_by_id(site["removal"].id).state == "out"
    [exception] = TrainingException.select()
    assert exception.used_at is not None and exception.used_by_removal == site["removal"].id
    assert len(events("use_training_exception")) == 1
    # A second removal needs a second exception.
    second = Record.create(
        case_id="7654321",
        description="Visit notes",
        team=site["pat"].team_id,
        created_by=site["pat"],
    )
    removal = Removal.create(
        record=second,
        team=second.team_id,
        state="approved_for_removal",
        for_user=site["pat"],
        requested_by=site["pat"],
        purpose="court",
        papers="Visit notes",
        due_on=clock.uk_today() + dt.timedelta(days=2),
        requested_at=clock.now(),
    )
    web.get(f"/records/{second.id}")
    assert take_out(web, removal).status_code == 409
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Enter why this removal should go ahead before the training is done"),
        ("x" * 501, "Reason must be 500 characters or fewer"),
    ],
)
def test_a_missing_or_long_reason_is_refused_422_and_saves_nothing(web, site, reason, message):
    web.sign_in("lina")
    response = allow(web, site["pat"], reason)
    assert response.status_code == 422
    page = soup(response)
    assert message in page.select_one(".govuk-error-summary").get_text()
    assert page.select_one("#reason-error") is not None
    assert exceptions() == 0 and not events("allow_training_exception")


@pytest.mark.parametrize("who", ["olu", "sam", "admin"])
def test_only_the_persons_line_manager_may_allow_it(web, site, who):
    web.sign_in(who)
    home = soup(web.get("/"))
    assert home.select_one(f"a[href='/training/{site['pat'].id}/allow-removal']") is None
    web.get(f"/training/{site['pat'].id}/allow-removal", status=403)
    assert allow(web, site["pat"]).status_code == 403
    assert exceptions() == 0


def test_no_exception_for_training_in_date_or_a_second_one(web, site):
    web.sign_in("lina")
    web.get(f"/training/{site['sam'].id}/allow-removal", status=409)
    assert allow(web, site["sam"]).status_code == 409
    assert allow(web, site["pat"]).status_code == 303
    response = allow(web, site["pat"])
    assert response.status_code == 409
    assert "already has one removal allowed" in response.get_data(as_text=True)
    assert exceptions() == 1


# -- At the kiosk -----------------------------------------------------------------------------


def test_kiosk_tells_a_lapsed_person_why_and_refuses_409(web, site):
    web.sign_in("kiosk-north")
    web.get("/kiosk/")
    assert web.post("/kiosk/identify", {"staff_number": "20002", "pin": PIN}).status_code == 303
    web.get("/kiosk/")
    page = soup(web.post("/kiosk/scan", {"label_code": site["record"].label_code}))
    assert page.select_one("form[action$='/take_out']") is None
    assert "training lapsed on" in page.select_one("#training-warning").get_text()
    removal = Removal.get_by_id(site["removal"].id)
    response = web.post(
        f"/kiosk/removals/{removal.id}/take_out", {**SAFEGUARDS, "version": removal.version}
    )
    assert response.status_code == 409
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"


# -- Preparing and sending a dispatch ---------------------------------------------------------


def test_a_lapsed_person_cannot_prepare_a_dispatch(web, site):
    web.sign_in("pat")
    page = soup(web.get("/send"))
    assert page.select_one("a[href='/send/new']") is None
    assert "training lapsed on" in page.select_one("#training-warning").get_text()
    web.get("/send/new", status=409)
    response = web.post(
        "/send/new",
        {
            "case_id": "1234567",
            "description": "Assessment",
            "method": "special_delivery",
            "recipient_organisation": "Family Court",
            "recipient_role": "Clerk",
            "address": "1 Court Street",
        },
    )
    assert response.status_code == 409
    assert Dispatch.select().count() == 0


def test_a_checked_dispatch_is_not_sent_by_a_drafter_whose_training_lapsed(web, site):
    dispatch = Dispatch.create(
        team=site["pat"].team_id,
        state="checked",
        case_id="1234567",
        description="Assessment",
        method="special_delivery",
        recipient_organisation="Family Court",
        recipient_role="Clerk",
        address="1 Court Street",
        drafted_by=site["pat"],
        drafted_at=clock.now(),
    )
    web.sign_in("pat")
    page = soup(web.get(f"/dispatches/{dispatch.id}"))
    assert page.select_one("form[action$='/mark_sent']") is None
    assert "training lapsed on" in page.select_one("#training-warning").get_text()
    response = web.post(
        f"/dispatches/{dispatch.id}/mark_sent",
        {"tracking_reference": "AB123456789GB", "version": dispatch.version},
    )
    assert response.status_code == 409
    assert Dispatch.get_by_id(dispatch.id).state == "checked"


# -- Recording the date: an administrator, and the person's own view ---------------------------


def test_admin_records_a_training_date_with_its_audit_event(web, site):
    pat = site["pat"]
    web.sign_in("admin")
    person = soup(web.get(f"/admin/people/{pat.id}"))
    assert "lapsed on" in person.get_text()
    web.get(f"/admin/people/{pat.id}/training")
    today = clock.uk_today()
    response = web.post(
        f"/admin/people/{pat.id}/training",
        {
            "trained_on-day": str(today.day),
            "trained_on-month": str(today.month),
            "trained_on-year": str(today.year),
            "version": pat.version,
        },
    )
    assert response.status_code == 303
    assert User.get_by_id(pat.id).trained_on == today
    [event] = events("record_training")
    assert event.actor_id == site["admin"].id and event.entity_id == pat.id
    assert "in date until" in soup(web.get(f"/admin/people/{pat.id}")).get_text()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({}, "Enter the date the training was completed"),
        ({"day": "31", "month": "2", "year": "2026"}, "must be a real date"),
        ("tomorrow", "must be today or in the past"),
    ],
)
def test_a_bad_training_date_is_refused_422(web, site, typed, message):
    pat = site["pat"]
    if typed == "tomorrow":
        day = clock.uk_today() + dt.timedelta(days=1)
        typed = {"day": str(day.day), "month": str(day.month), "year": str(day.year)}
    web.sign_in("admin")
    web.get(f"/admin/people/{pat.id}/training")
    response = web.post(
        f"/admin/people/{pat.id}/training",
        {**{f"trained_on-{k}": v for k, v in typed.items()}, "version": pat.version},
    )
    assert response.status_code == 422
    assert message in soup(response).select_one(".govuk-error-summary").get_text()
    assert User.get_by_id(pat.id).trained_on == pat.trained_on
    assert not events("record_training")


def test_a_stale_training_date_is_refused_409(web, site):
    pat = site["pat"]
    User.update(version=User.version + 1).where(User.id == pat.id).execute()
    today = clock.uk_today()
    web.sign_in("admin")
    web.get(f"/admin/people/{pat.id}/training")
    response = web.post(
        f"/admin/people/{pat.id}/training",
        {
            "trained_on-day": str(today.day),
            "trained_on-month": str(today.month),
            "trained_on-year": str(today.year),
            "version": pat.version,
        },
    )
    assert response.status_code == 409
    assert User.get_by_id(pat.id).trained_on == pat.trained_on


def test_only_an_administrator_records_a_training_date(web, site):
    web.sign_in("lina")
    web.get(f"/admin/people/{site['pat'].id}/training", status=403)
    today = clock.uk_today()
    response = web.post(
        f"/admin/people/{site['pat'].id}/training",
        {
            "trained_on-day": str(today.day),
            "trained_on-month": str(today.month),
            "trained_on-year": str(today.year),
            "version": site["pat"].version,
        },
    )
    assert response.status_code == 403
    assert User.get_by_id(site["pat"].id).trained_on == site["pat"].trained_on


def test_a_person_sees_their_own_training_on_their_account(web, site):
    trained_on, lapsed = lapsed_on()
    web.sign_in("pat")
    text = soup(web.get("/account")).select_one("#training").get_text(" ", strip=True)
    assert f"{trained_on.day} {trained_on:%B %Y}" in text
    assert f"lapsed on {lapsed.day} {lapsed:%B %Y}" in text


# -- The learning system's CSV ------------------------------------------------------------------


def upload_training(web, text: str):
    web.get("/admin/import")
    return web.client.post(
        "/admin/import",
        data={
            "csrf_token": web.csrf,
            "kind": "training",
            "file": (io.BytesIO(text.encode("utf-8")), "training.csv"),
        },
        content_type="multipart/form-data",
    )


def confirm_import(web, response):
    page = soup(response)
    return web.post(
        "/admin/import/confirm",
        {
            "kind": page.select_one("input[name='kind']")["value"],
            "csv_text": page.select_one("input[name='csv_text']")["value"],
        },
    )


def test_the_learning_systems_file_records_training_dates(web, site):
    today = clock.uk_today()
    older = site["sam"].trained_on - dt.timedelta(days=40)
    text = (
        "staff_number,completed_on\r\n"
        f"20002,{today:%d/%m/%Y}\r\n"
        f"{site['sam'].staff_number},{older.isoformat()}\r\n"
    )
    web.sign_in("admin")
    preview = upload_training(web, text)
    assert preview.status_code == 200
    page = soup(preview)
    assert "a later date is already recorded" in page.select_one("#row-3").parent.get_text()
    assert page.select_one("form[action$='/import/confirm'] button").get_text(strip=True) == (
        "Import 1 training date"
    )
    done = confirm_import(web, preview)
    assert done.status_code == 200
    assert "1 training date recorded" in soup(done).select_one(".govuk-panel").get_text()
    assert User.get_by_id(site["pat"].id).trained_on == today
    assert User.get_by_id(site["sam"].id).trained_on == site["sam"].trained_on
    [event] = events("record_training")
    assert event.entity_id == site["pat"].id and event.details["by"] == "import"


def test_a_training_file_with_a_bad_row_names_each_and_saves_nothing(web, site):
    tomorrow = clock.uk_today() + dt.timedelta(days=1)
    text = (
        "staff_number,completed_on\r\n"
        f"20002,{clock.uk_today():%d/%m/%Y}\r\n"
        "99999,01/02/2026\r\n"
        "20002,01/02/2026\r\n"
        f"{site['sam'].staff_number},31/02/2026\r\n"
        f"{site['lina'].staff_number},{tomorrow:%d/%m/%Y}\r\n"
        f"{site['olu'].staff_number},{'1' * 11}\r\n"
    )
    web.sign_in("admin")
    response = upload_training(web, text)
    assert response.status_code == 422
    summary = soup(response).select_one(".govuk-error-summary").get_text(" ", strip=True)
    assert "Row 3: There is no one with staff number 99999" in summary
    assert "Row 4: Row 2 has the same staff number" in summary
    assert "Row 5: Enter the date the training was completed as 27/03/2026" in summary
    assert "Row 6: The date the training was completed must be today or in the past" in summary
    assert "Row 7: Enter the date the training was completed as 27/03/2026" in summary
    assert "Row 2" not in summary.replace("Row 2 has", "")
    assert soup(response).select_one("form[action$='/import/confirm']") is None
    # Posting the file past the preview is checked again: still nothing saved.
    again = web.post("/admin/import/confirm", {"kind": "training", "csv_text": text})
    assert again.status_code == 422
    assert User.get_by_id(site["pat"].id).trained_on == site["pat"].trained_on
    assert not events("record_training")


# -- Where the risk is watched: boards, the register, a breach case ----------------------------


def test_the_team_board_shows_the_share_in_date_and_who_lapses_soon(web, site, people):
    lapses_on = clock.uk_today() + dt.timedelta(days=10)
    people.add("lee", "practitioner", manager=site["lina"], trained_on=add_months(lapses_on, -12))
    web.sign_in("lina")
    shares = soup(web.get("/board")).select_one("#training-shares")
    # Lina, Olu, Sam and Lee in date; Pat lapsed; the kiosk is not staff.
    cells = [td.get_text(" ", strip=True) for td in shares.select("td")]
    assert cells[0] == "80% (4 of 5)"
    assert cells[1] == "1"
    assert cells[2] == f"Lee Tester, {lapses_on.day} {lapses_on:%B %Y}"


def test_the_register_shows_the_councils_share_in_date(web, site, people):
    people.add("dee", "dpo", team="Governance")
    web.sign_in("dee")
    text = soup(web.get("/register")).select_one("#council-training").get_text(" ", strip=True)
    # Lina, Olu, Sam, the administrator and Dee in date; Pat lapsed.
    assert text.startswith("83% of staff have training in date (5 of 6)")


def test_a_breach_case_and_its_ico_draft_say_whether_the_staff_were_trained(web, site, people):
    trained_on, lapsed = lapsed_on()
    people.add("dee", "dpo", team="Governance")
    removal = Removal.get_by_id(site["removal"].id)
    now = clock.now()
    breach = Breach.create(
        reference="BR-2026-0001",
        team=site["pat"].team_id,
        reported_by=site["sam"],
        reporter_manager=site["lina"],
        reported_at=now,
        what_happened="Bag left on the bus",
        happened_at=now - dt.timedelta(hours=3),
        discovered_at=now - dt.timedelta(hours=2),
        case_id="1234567",
        category="loss",
        removal=removal,
        record=removal.record_id,
    )
    # Sam trained again after reporting it: the case says so rather than "trained".
    User.update(trained_on=clock.uk_today() + dt.timedelta(days=1)).where(
        User.id == site["sam"].id
    ).execute()
    web.sign_in("dee")
    case = soup(web.get(f"/breaches/{breach.id}")).get_text(" ", strip=True)
    lapsed_words = (
        f"No: completed {trained_on.day} {trained_on:%B %Y}, lapsed on {lapsed.day} {lapsed:%B %Y}"
    )
    assert f"Data protection training of Pat Tester (held the papers) {lapsed_words}" in case
    tomorrow = clock.uk_today() + dt.timedelta(days=1)
    assert (
        "Data protection training of Sam Tester (reported it) "
        f"Completed {tomorrow.day} {tomorrow:%B %Y}, after the breach" in case
    )
    draft = soup(web.get(f"/breaches/{breach.id}/ico-draft"))
    answers = draft.select_one("#staff-training-answers").get_text(" ", strip=True)
    question = "Had the member of staff who held the papers received data protection training?"
    assert f"{question} {lapsed_words}" in answers
    assert "Tester" not in answers
