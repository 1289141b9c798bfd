"""Everyone the procedure names is told: a case reported through the pages is emailed to each
holder of the breach roles on its notification list by `flask send-reminders` (cron), once,
and each email sent is on the case's notification list by itself. A loss or theft without a
crime reference reminds the reporter and their line manager after one working day."""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from machines.breach_clocks import working_day_after
from models.audit import AuditEvent
from models.breaches import Breach, Notification
from tests.http.journeys import Cast, Page, ago, typed
from tests.http.journeys.breaches import breach_staff, fresh, latest, notify_data, report, send
from tests.http.journeys.mail import BASE_URL
from tests.http.test_reminders import run_ok

EVERY_BREACH_ROLE = ["bim", "cg", "dir", "dpo", "gov", "irm"]  # not the AD: not on the list


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def addressees(inbox, subject: str | None = None) -> list[str]:
    """Who was emailed (the part before the @), sorted; only about `subject` when given."""
    return sorted(to.split("@")[0] for to, about in inbox.received() if subject in (None, about))


def test_a_reported_breach_is_emailed_to_each_role_on_the_list_once(mail_app, inbox, cast, staff):
    assert (
        report(cast["pat"], what_happened="Assessment emailed to the wrong school").status_code
        == 303
    )
    breach = latest()
    assert inbox.received() == []  # the report did not wait for the mail server

    output = run_ok(mail_app)
    assert "6 breach reported" in output
    assert addressees(inbox) == EVERY_BREACH_ROLE
    assert {subject for _, subject in inbox.received()} == {
        f"Safekeep: breach reported ({breach.reference})"
    }
    for _, message in inbox.messages:
        body = message.get_content()
        assert f"Breach reference: {breach.reference}" in body
        assert f"{BASE_URL}/breaches/{breach.id}" in body
        for secret in ("wrong school", "Pat Tester", "Tester"):
            assert secret not in str(message)

    # On the notification list by themselves, by name, each with its audit event.
    told = {n.recipient: n for n in Notification.select().where(Notification.breach == breach)}
    assert sorted(told) == [
        "business_improvement",
        "caldicott_guardian",
        "director",
        "dpo",
        "governance",
        "records_manager",
    ]
    assert told["director"].who == "Dir Tester" and told["director"].emailed
    assert told["director"].recorded_by_id is None
    emailed = AuditEvent.select().where(
        AuditEvent.entity_type == "breach",
        AuditEvent.entity_id == breach.id,
        AuditEvent.event == "emailed",
    )
    assert emailed.count() == 6
    page = Page.of(cast["pat"].get(f"/breaches/{breach.id}"))
    assert "Dir Tester (by email from Safekeep)" in page.text
    assert "Told by email from Safekeep" in page.text  # the timeline

    # Once: a second run sends nothing.
    inbox.clear()
    assert "0 breach reported" in run_ok(mail_app)
    assert inbox.received() == []

    # Notifying now asks only for what people do: the media office (not a loss: no insurers).
    pat = cast["pat"]
    html = pat.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert 'name="director_who"' not in html
    response = send(
        pat, breach, "notify", media_advised="no", media_reason="No press interest expected"
    )
    assert response.status_code == 303
    assert fresh(breach).state == "notified"


def test_a_near_miss_is_emailed_to_the_governance_team_and_the_records_manager_only(
    mail_app, inbox, cast
):
    assert report(cast["pat"], category="near_miss", data_left_control="no").status_code == 303
    breach = latest()
    run_ok(mail_app)
    assert addressees(inbox) == ["gov", "irm"]
    assert {subject for _, subject in inbox.received()} == {
        f"Safekeep: near miss reported ({breach.reference})"
    }
    # The whole chain is not demanded: the two emailed are all the list needs.
    response = send(cast["pat"], breach, "notify", media_advised="no", media_reason="Nothing left")
    assert response.status_code == 303


def test_a_loss_still_asks_for_the_insurers_and_skips_who_was_told_in_person(mail_app, inbox, cast):
    assert (
        report(
            cast["pat"],
            category="loss",
            no_police_reference_reason="Lost property: no crime reference",
            line_manager_told="yes",
        ).status_code
        == 303
    )
    breach = latest()
    # The Director was told in person before the email went: recorded by hand, not emailed.
    data = notify_data(breach)
    partial = {k: v for k, v in data.items() if k.startswith("director_") or k.startswith("media")}
    response = send(cast["pat"], breach, "notify", **partial)
    assert response.status_code == 422  # the rest of the list is not told yet
    run_ok(mail_app)
    assert "dir" in addressees(inbox)
    html = cast["pat"].get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert 'name="insurance_who"' in html and 'name="dpo_who"' not in html
    insurers = {
        k: v for k, v in data.items() if k.startswith("insurance_") or k.startswith("media")
    }
    assert send(cast["pat"], breach, "notify", **insurers).status_code == 303


def test_reporting_does_not_wait_for_an_unreachable_mail_server(app, cast):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9, SMTP_TIMEOUT=5)
    assert report(cast["pat"]).status_code == 303
    assert Breach.select().count() == 1


def test_a_theft_without_a_crime_reference_reminds_the_reporter_and_manager_after_a_working_day(
    mail_app, inbox, cast, staff
):
    assert (
        report(
            cast["pat"],
            category="theft",
            discovered_hours_ago=0,
            no_police_reference_reason="The police will call back",
            line_manager_told="yes",
        ).status_code
        == 303
    )
    breach = latest()
    run_ok(mail_app)  # the report's own emails
    inbox.clear()
    due = working_day_after(breach.discovered_at)
    clock.travel(due - clock.now() - dt.timedelta(minutes=1))
    assert "0 no crime reference" in run_ok(mail_app)
    clock.travel(dt.timedelta(minutes=2))
    assert "2 no crime reference" in run_ok(mail_app)
    subject = f"Safekeep: no crime reference yet ({breach.reference})"
    assert addressees(inbox, subject) == ["lina", "pat"]
    # From a Friday the next working day is past the ICO clock's warning (48 hours in), which
    # goes to the breach chain in the same run: it is the only other email.
    assert {s for _, s in inbox.received()} <= {
        subject,
        f"Safekeep: ICO deadline within 24 hours ({breach.reference})",
    }
    for _, message in inbox.messages:
        if message["Subject"] == subject:
            assert f"{BASE_URL}/breaches/{breach.id}#police" in message.get_content()
    inbox.clear()
    run_ok(mail_app)
    assert inbox.received() == []  # once


def test_no_reminder_once_the_crime_reference_is_recorded(mail_app, inbox, cast):
    report(
        cast["pat"],
        category="loss",
        no_police_reference_reason="Waiting for the police",
        line_manager_told="yes",
    )
    breach = latest()
    response = cast["pat"].post(
        f"/breaches/{breach.id}/police",
        typed(
            {
                "version": fresh(breach).version,
                "police_reference": "CR/12/26",
                "police_told_at": ago(minutes=30),
            }
        ),
    )
    assert response.status_code == 303
    clock.travel(dt.timedelta(days=4))
    assert "0 no crime reference" in run_ok(mail_app)
