"""Where breach reporting meets other features: an unanswered near-miss question, the words
for a loss or a theft, and the line manager told of lost or stolen papers."""

from __future__ import annotations

import pytest

from models.breaches import Breach
from models.people import User
from tests.http.journeys import Cast, Page, to_the_minute
from tests.http.journeys.breaches import breach_staff, latest, report, send
from tests.http.journeys.custody import papers_out, report_lost
from tests.http.journeys.mail import BASE_URL
from tests.http.test_reminders import run_ok
from tests.invariants import assert_mail_links_open, links_in, offered_events

LEFT_CONTROL = "Select whether any data left the council's control"


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def test_a_near_miss_without_the_left_control_answer_is_refused_and_nothing_is_saved(cast):
    response = report(cast["pat"], category="near_miss")
    page = Page.of(response)
    assert page.status == 422
    assert LEFT_CONTROL in page.errors
    assert page.field_errors.get("data_left_control") == LEFT_CONTROL
    assert Breach.select().count() == 0
    kept_in = report(cast["pat"], category="near_miss", data_left_control="no")
    assert kept_in.status_code == 303 and latest().data_left_control is False


def test_correcting_a_near_miss_must_still_answer_whether_data_left_control(cast):
    report(cast["pat"], category="near_miss", data_left_control="no")
    breach = latest()
    response = send(
        cast["pat"],
        breach,
        "details",
        category="near_miss",
        what_happened=breach.what_happened,
        happened_at=to_the_minute(breach.happened_at),
        discovered_at=to_the_minute(breach.discovered_at),
        data_categories=["basic_identifiers"],
        people_affected="1",
        records_affected="1",
        children_or_vulnerable="no",
        special_category="no",
    )
    assert response.status_code == 422
    assert LEFT_CONTROL in Page.of(response).errors
    after = Breach.get_by_id(breach.id)
    assert after.version == breach.version and after.data_left_control is False


# -- the line manager told of lost or stolen papers ------------------------------------------


def test_the_holders_line_manager_is_emailed_once_when_papers_are_stolen(
    mail_app, inbox, cast, staff
):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    assert report_lost(pat, removal, category="theft").status_code == 303
    breach = latest()
    run_ok(mail_app)
    run_ok(mail_app)  # cron twice: still one email
    to_lina = [about for to, about in inbox.received() if to == "lina@council.example"]
    assert to_lina == [f"Safekeep: papers reported stolen ({breach.reference})"]
    (msg,) = [m for m in inbox.to("lina@council.example")]
    body = str(msg)
    assert f"/breaches/{breach.id}" in body
    for personal in ("Court bundle", "On the bus", "1234567", "Pat Tester"):
        assert personal not in body
    case = Breach.get_by_id(breach.id)
    assert case.line_manager_told and case.line_manager_told_by_id is None
    # On the case's notification list and timeline, as the other emails are.
    page = Page.of(cast["lina"].get(f"/breaches/{breach.id}"))
    assert "Lina Tester (by email from Safekeep)" in page.text
    assert "Told by email from Safekeep" in page.text
    verified = mail_app.test_cli_runner().invoke(args=["audit-verify", "--no-checkpoint"])
    assert verified.exit_code == 0, verified.output


def test_a_theft_reported_directly_emails_the_reporters_line_manager(mail_app, inbox, cast):
    report(cast["sam"], category="theft")
    breach = latest()
    run_ok(mail_app)
    subjects = [about for to, about in inbox.received() if to == "lina@council.example"]
    assert f"Safekeep: papers reported stolen ({breach.reference})" in subjects
    assert Breach.get_by_id(breach.id).line_manager_told


def test_no_line_manager_email_when_the_reporter_told_them_in_person(mail_app, inbox, cast):
    report(cast["sam"], category="loss", line_manager_told="yes")
    run_ok(mail_app)
    assert not any("papers reported" in about for _, about in inbox.received())


def test_a_case_says_who_must_be_told_when_there_is_no_line_manager_to_email(cast):
    report(cast["lina"], category="theft")  # Lina has no line manager in Safekeep
    text = Page.of(cast["lina"].get(f"/breaches/{latest().id}")).text
    assert "Lina Tester has no line manager in Safekeep to email" in text
    report(cast["sam"], category="loss")
    text = Page.of(cast["sam"].get(f"/breaches/{latest().id}")).text
    assert "Safekeep emails Lina Tester, Sam Tester's line manager" in text


def test_the_holders_line_manager_opens_the_case_from_the_email_when_another_reported_it(
    mail_app, inbox, cast, staff, people
):
    # Leo, another line manager of the team, reports Pat's papers stolen: the case is his
    # and his manager's to handle, and the procedure passes its details to Pat's manager.
    people.add("leo", "line_manager", manager=staff["ad"])
    removal = papers_out(cast["pat"], staff)
    assert report_lost(cast["leo"], removal, category="theft").status_code == 303
    breach = latest()
    run_ok(mail_app)
    (msg,) = inbox.to("lina@council.example")
    assert links_in(msg, BASE_URL) == [f"/breaches/{breach.id}"]
    response = cast["lina"].get(f"/breaches/{breach.id}")
    assert breach.reference in Page.of(response).text
    # Told of it, not handling it: the case's steps stay with Leo, his manager and the chain.
    assert offered_events(response.get_data(as_text=True), "breaches", breach.id) == set()
    assert send(cast["lina"], breach, "notify").status_code == 403
    assert_mail_links_open(inbox.messages, BASE_URL, lambda person: cast[person.username])


def test_a_line_manager_given_after_the_report_opens_the_case_from_the_email(
    mail_app, inbox, cast, staff
):
    report(cast["sam"], category="loss")
    breach = latest()
    # Sam's line management passes to Mo before the e-mail goes: Mo is the one told.
    User.update(line_manager=staff["mo"].id).where(User.id == staff["sam"].id).execute()
    run_ok(mail_app)
    (msg,) = inbox.to("mo@council.example")
    assert links_in(msg, BASE_URL) == [f"/breaches/{breach.id}"]
    assert breach.reference in Page.of(cast["mo"].get(f"/breaches/{breach.id}")).text
    # Mo sees it in the cases list as well, and Alex (whom Mo also manages) does not.
    assert breach.reference in Page.of(cast["mo"].get("/breaches")).text
    cast["alex"].get(f"/breaches/{breach.id}", status=404)
