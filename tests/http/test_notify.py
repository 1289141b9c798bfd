"""GOV.UK Notify as the channel: the real client against a loopback stand-in of Notify's API
(tests/notify_stand_in.py), its delivery receipts by callback and by poll, and what a failure
to reach the breach chain does: the case stops counting the person as told, the Information
and Records Manager's home page lists it, and the next person in the chain is e-mailed."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid

import pytest

from machines import clock
from models.audit import AuditEvent
from models.base import db
from models.breaches import Breach, Notification
from models.deliveries import Delivery
from models.reminders import Reminder
from services import notify as notify_service
from services import reminders
from services.mail import mailer_for
from services.message_kinds import KINDS, TEMPLATE_KINDS
from services.reminders import send_reminders
from tests.http.journeys import Cast, Page, time_fields
from tests.http.journeys.breaches import breach_staff, latest, report
from tests.http.journeys.mail import BASE_URL
from tests.invariants import assert_deliveries_agree, assert_no_typed_text_leaks, notify_places
from tests.notify_stand_in import API_KEY, NotifyStandIn, start

TEMPLATES = {kind: str(uuid.uuid5(uuid.NAMESPACE_URL, kind)) for kind in TEMPLATE_KINDS}
TOKEN = "a-callback-token-the-council-chose-in-notify-0123"
TYPED = "Assessment emailed to a colleague outside the team by mistake"


@pytest.fixture
def stand_in():
    notify = NotifyStandIn(templates=set(TEMPLATES.values()))
    server = start(notify)
    yield notify
    server.shutdown()


@pytest.fixture
def waits(monkeypatch):
    """The waits the client was told to make after a 429 or 5xx (none are slept)."""
    made: list[float] = []
    monkeypatch.setattr(notify_service, "pause", made.append)
    return made


@pytest.fixture
def notify_app(app, stand_in, waits):
    app.config.update(
        NOTIFY_API_KEY=API_KEY,
        NOTIFY_BASE_URL=stand_in.url,
        NOTIFY_CALLBACK_TOKEN=TOKEN,
        NOTIFY_RETRY_SECONDS=1.0,
        REMINDER_BASE_URL=BASE_URL,
        **{notify_service.template_setting(k): t for k, t in TEMPLATES.items()},
    )
    return app


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def run(app, command="send-reminders"):
    return app.test_cli_runner().invoke(args=[command])


def run_ok(app, command="send-reminders") -> str:
    result = run(app, command)
    assert result.exit_code == 0, result.output
    return result.output


def reported(cast) -> Breach:
    assert report(cast["pat"], what_happened=TYPED).status_code == 303
    return latest()


def callback(app, body, token=TOKEN, **headers):
    return app.test_client().post(
        "/notify/callback",
        data=body if isinstance(body, (bytes, str)) else json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
    )


def receipt(notify_id: str, status: str) -> dict:
    """Notify's callback body (its documentation's "Delivery receipts")."""
    return {
        "id": notify_id,
        "reference": None,
        "to": "someone@council.example",
        "status": status,
        "created_at": "2026-12-07T09:00:00.000000Z",
        "completed_at": "2026-12-07T09:00:05.000000Z",
        "sent_at": "2026-12-07T09:00:01.000000Z",
        "notification_type": "email",
        "template_id": TEMPLATES["breach_reported"],
        "template_version": 1,
    }


def sent_to(stand_in, username: str):
    (message,) = stand_in.to(f"{username}@council.example")
    return message


def case_page(web, breach) -> str:
    response = web.get(f"/breaches/{breach.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def table_rows(html: str, start: str) -> list[list[str]]:
    """The body rows of the first table after `start` (an id="..." attribute), as cell text."""
    found = re.search(re.escape(start) + r".*?<tbody[^>]*>(.*?)</tbody>", html, re.S)
    if found is None:
        return []
    return [
        [_words(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
    ]


def timeline_items(html: str) -> list[str]:
    """The case's timeline entries in words, newest first."""
    return [
        _words(item)
        for item in re.findall(r'<li class="app-timeline__item">(.*?)</li>', html, re.S)
    ]


def email_rows(html: str) -> dict[str, str]:
    """The case's e-mails table: recipient -> what became of the e-mail."""
    return {cells[0]: cells[3] for cells in table_rows(html, 'id="email-deliveries"')}


def asks_for(html: str, field: str) -> bool:
    """The page has a form field of this name (the case asks for it to be recorded)."""
    return f'name="{field}"' in html


# -- Sending through Notify -----------------------------------------------------------------


def test_each_breach_role_gets_the_template_with_a_link_and_reference_only(
    notify_app, stand_in, cast, staff
):
    breach = reported(cast)
    output = run_ok(notify_app)
    assert "6 breach reported" in output
    assert sorted(s.email_address.split("@")[0] for s in stand_in.sent) == [
        "bim",
        "cg",
        "dir",
        "dpo",
        "gov",
        "irm",
    ]
    for message in stand_in.sent:
        assert message.template_id == TEMPLATES["breach_reported"]
        p = message.personalisation
        assert set(p) == {"subject", "body", "message", "link", "reference"}
        assert p["link"] == f"{BASE_URL}/breaches/{breach.id}"
        assert p["reference"] == breach.reference
        assert p["subject"] == f"Safekeep: breach reported ({breach.reference})"
        # Notify keeps Safekeep's own name for the message: the claim's key, no words.
        assert message.reference.startswith(f"safekeep-breach_reported-breach-{breach.id}-")
    assert_no_typed_text_leaks([TYPED, "Pat Tester"], notify_places(stand_in.sent))
    # Each message's Notify id is kept, waiting for its receipt, and the case says so.
    rows = list(Delivery.select().where(Delivery.subject_id == breach.id))
    assert {(d.channel, d.status) for d in rows} == {("notify", "created")}
    assert {d.notify_id for d in rows} == {s.id for s in stand_in.sent}
    shown = email_rows(case_page(cast["irm"], breach))
    assert shown["Dir Tester"] == "Sent, waiting for a delivery receipt"
    # Once: a second run sends nothing more.
    run_ok(notify_app)
    assert len(stand_in.sent) == 6


def test_every_kind_of_message_has_its_own_template(notify_app, stand_in, cast, staff, monkeypatch):
    """Every kind goes through Notify with its kind's template (one Due of each kind)."""
    breach = reported(cast)

    def one_of_each(kind, now, base_url, days):
        return [
            reminders.Due(
                kind=kind,
                subject_type="breach",
                subject_id=breach.id,
                recipient_id=staff["pat"].id,
                email="pat@council.example",
                subject=f"Safekeep: {kind}",
                lines=("A line",),
                link=f"{base_url}/records/1",
                reference="1234567",
            )
        ]

    monkeypatch.setattr(reminders, "due_reminders", one_of_each)
    with mailer_for(notify_app.config) as mailer:
        counts = send_reminders(clock.now(), mailer, BASE_URL, 3)
    assert [counts[kind] for kind in KINDS] == [1] * len(KINDS)
    assert [s.template_id for s in stand_in.sent] == [TEMPLATES[k] for k in KINDS]


def test_a_password_reset_link_goes_through_notify_with_its_template(
    notify_app, stand_in, cast, staff, people
):
    """The administrator's reset link is sent at once (not by cron), through Notify too."""
    people.add("ada", "admin", team="Information Governance")
    pat = staff["pat"]
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/reset-password")
    response = web.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"})
    assert response.status_code == 303 and response.headers["Location"].endswith("done=link_sent")
    message = sent_to(stand_in, "pat")
    assert message.template_id == TEMPLATES["password_reset"]
    link = message.personalisation["link"]
    assert re.fullmatch(re.escape(BASE_URL) + r"/reset-password/\S+", link)
    assert link in message.personalisation["body"]
    assert_no_typed_text_leaks(["Pat Tester", "pat"], [("the reset link", message.reference)])
    # Notify down: the administrator is told the link did not go, as with SMTP.
    stand_in.fail_next(*[503] * 4)
    web.get(f"/admin/people/{pat.id}/reset-password")
    failed = web.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"})
    assert failed.status_code == 503
    assert "could not be emailed" in failed.get_data(as_text=True)


def test_smtp_stays_the_channel_without_a_key_and_says_it_gives_no_receipt(
    mail_app, inbox, cast, staff
):
    breach = reported(cast)
    assert "6 breach reported" in run_ok(mail_app)
    assert len(inbox.received()) == 6
    assert {(d.channel, d.status) for d in Delivery.select()} == {("smtp", "sent")}
    page = case_page(cast["irm"], breach)
    assert email_rows(page)["Dir Tester"] == "Sent; SMTP gives no delivery receipt"
    told = {cells[1] for cells in table_rows(page, 'id="notifications"')}
    assert "Dir Tester (by email from Safekeep): Sent; SMTP gives no delivery receipt" in told


# -- Receipts by callback -------------------------------------------------------------------


def test_a_delivery_receipt_marks_the_person_delivered_with_an_audit_event(
    notify_app, stand_in, cast, staff
):
    breach = reported(cast)
    run_ok(notify_app)
    to_dir = sent_to(stand_in, "dir")
    response = callback(notify_app, receipt(to_dir.id, "delivered"))
    assert response.status_code == 200
    assert Delivery.get(Delivery.notify_id == to_dir.id).status == "delivered"
    page = case_page(cast["irm"], breach)
    shown = email_rows(page)
    assert shown["Dir Tester"] == "Delivered"
    # The case's timeline says it too, per recipient: sent, then delivered.
    timeline_to_dir = [
        re.search(r"Status: ([^;]+)", item).group(1)
        for item in timeline_items(page)
        if item.startswith("E-mail from Safekeep") and item.endswith("To: Dir Tester")
    ]
    assert timeline_to_dir == ["Delivered", "Sent, waiting for a delivery receipt"]
    assert shown["Irm Tester"] == "Sent, waiting for a delivery receipt"
    events = AuditEvent.select().where(
        AuditEvent.entity_type == "breach",
        AuditEvent.entity_id == breach.id,
        AuditEvent.event == "delivery",
    )
    assert (
        sorted(e.details["status"] for e in events)
        == ["Delivered"] + ["Sent, waiting for a delivery receipt"] * 6
    )
    # The same receipt again changes nothing, and writes nothing.
    assert callback(notify_app, receipt(to_dir.id, "delivered")).status_code == 200
    assert events.count() == 7
    # A late "sending" after the final word does not undo it.
    callback(notify_app, receipt(to_dir.id, "sending"))
    assert Delivery.get(Delivery.notify_id == to_dir.id).status == "delivered"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
    ],
)
def test_a_callback_without_the_councils_token_is_refused(
    notify_app, stand_in, cast, staff, authorization
):
    reported(cast)
    run_ok(notify_app)
    to_dir = sent_to(stand_in, "dir")
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = notify_app.test_client().post(
        "/notify/callback",
        data=json.dumps(receipt(to_dir.id, "permanent-failure")),
        headers=headers,
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert Delivery.get(Delivery.notify_id == to_dir.id).status == "created"


def test_without_a_callback_token_set_every_callback_is_refused(notify_app, stand_in, cast, staff):
    notify_app.config["NOTIFY_CALLBACK_TOKEN"] = None
    reported(cast)
    run_ok(notify_app)
    to_dir = sent_to(stand_in, "dir")
    assert callback(notify_app, receipt(to_dir.id, "delivered"), token="").status_code == 401
    assert callback(notify_app, receipt(to_dir.id, "delivered"), token="None").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"null",
        json.dumps({"id": "not-a-uuid", "status": "delivered"}),
        json.dumps({"id": "d6233119-c26d-46d6-8f57-db15352a082e", "status": "opened"}),
        json.dumps({"id": "8be8c5c7-1210-4a45-bfce-5f9a0a5fdd54"}),
        json.dumps({"id": 5, "status": "delivered"}),
    ],
)
def test_a_callback_that_is_no_receipt_is_400_and_changes_nothing(notify_app, body):
    response = callback(notify_app, body)
    assert response.status_code == 400
    assert response.is_json


def test_a_callback_for_a_message_we_never_sent_is_404_saying_no_more(notify_app):
    response = callback(notify_app, receipt(str(uuid.uuid4()), "delivered"))
    assert response.status_code == 404
    assert response.get_json() == {"result": "not found"}


def test_a_huge_callback_is_refused_unread(notify_app):
    body = json.dumps({**receipt(str(uuid.uuid4()), "delivered"), "padding": "x" * 20_000})
    assert callback(notify_app, body).status_code == 413


def test_other_posts_still_need_a_csrf_token(notify_app, cast, staff):
    web = cast["pat"]
    response = web.client.post("/breaches/new", data={"category": "other"})
    assert response.status_code == 400


# -- A failure to reach the breach chain is raised -------------------------------------------


def test_a_permanent_failure_is_raised_and_the_person_no_longer_counts_as_told(
    notify_app, stand_in, cast, staff
):
    breach = reported(cast)
    run_ok(notify_app)
    to_dir = sent_to(stand_in, "dir")
    assert not asks_for(case_page(cast["pat"], breach), "director_who")  # told by e-mail

    assert callback(notify_app, receipt(to_dir.id, "permanent-failure")).status_code == 200

    delivery = Delivery.get(Delivery.notify_id == to_dir.id)
    assert delivery.raised_at is not None
    # The case asks for the Director's notification to be recorded again.
    page = case_page(cast["pat"], breach)
    assert asks_for(page, "director_who")
    assert email_rows(page)["Dir Tester"].startswith("Not delivered")
    assert "Director" not in Breach.get_by_id(breach.id).told_recipients()
    raised = AuditEvent.select().where(
        AuditEvent.entity_id == breach.id, AuditEvent.event == "delivery_raised"
    )
    assert raised.count() == 1

    # On the Information and Records Manager's home page, and nobody else's.
    home = cast["irm"].get("/").get_data(as_text=True)
    (row,) = table_rows(home, 'id="undelivered-emails"')
    assert row[:2] == [breach.reference, "Dir Tester"]
    assert 'id="undelivered-emails"' not in cast["dpo"].get("/").get_data(as_text=True)

    # Another route: the Director has no line manager, so the Assistant Director is e-mailed.
    output = run_ok(notify_app)
    assert "1 undelivered e-mail followed up" in output
    follow_up = sent_to(stand_in, "ad")
    assert follow_up.template_id == TEMPLATES["delivery_failed"]
    assert follow_up.personalisation["link"] == f"{BASE_URL}/breaches/{breach.id}#notifications"
    assert_no_typed_text_leaks([TYPED, "Dir Tester"], notify_places([follow_up]))
    assert_deliveries_agree()
    # Once.
    run_ok(notify_app)
    assert len(stand_in.to("ad@council.example")) == 1


def failed_to_dir(notify_app, stand_in, cast):
    """A case whose e-mail to the Director failed for good; returns (breach, delivery)."""
    breach = reported(cast)
    run_ok(notify_app)
    to_dir = sent_to(stand_in, "dir")
    assert callback(notify_app, receipt(to_dir.id, "permanent-failure")).status_code == 200
    return breach, Delivery.get(Delivery.notify_id == to_dir.id)


def told_url(breach, delivery) -> str:
    return f"/breaches/{breach.id}/emails/{delivery.id}/told"


def test_the_irm_records_telling_the_person_another_way_and_they_count_as_told_again(
    notify_app, stand_in, cast, staff
):
    breach, delivery = failed_to_dir(notify_app, stand_in, cast)
    irm = cast["irm"]
    home = irm.get("/").get_data(as_text=True)
    assert f'href="{told_url(breach, delivery)}"' in home
    assert f'href="{told_url(breach, delivery)}"' in case_page(irm, breach)
    irm.get(told_url(breach, delivery))
    told_at = clock.now() - dt.timedelta(minutes=5)
    typed = {"who": "Irm Tester by phone", **time_fields("told_at", told_at)}
    response = irm.post(told_url(breach, delivery), typed)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/breaches/{breach.id}#notifications")
    assert "director" in Breach.get_by_id(breach.id).told_recipients()
    page = case_page(irm, breach)
    told = [cells[1] for cells in table_rows(page, 'id="notifications"') if cells[0] == "Director"]
    assert sorted(told) == [
        "Dir Tester (by email from Safekeep): Not delivered: the address does not exist or "
        "refused it",
        "Irm Tester by phone",
    ]
    assert not asks_for(case_page(cast["pat"], breach), "director_who")
    assert timeline_items(page)[0].startswith("Told another way by Irm Tester")
    # Off the list; no follow-up e-mail for it any more.
    assert 'id="undelivered-emails"' not in irm.get("/").get_data(as_text=True)
    assert f'href="{told_url(breach, delivery)}"' not in page
    assert "0 undelivered e-mail followed up" in run_ok(notify_app)
    assert stand_in.to("ad@council.example") == []
    # Recorded already: a second try is refused and changes nothing.
    again = irm.post(
        told_url(breach, delivery), {"who": "Someone else", **time_fields("told_at", told_at)}
    )
    assert again.status_code == 409
    assert "already been dealt with" in Page.of(again).errors[0]
    assert Notification.select().where(Notification.who == "Someone else").count() == 0
    result = notify_app.test_cli_runner().invoke(args=["audit-verify", "--no-checkpoint"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Enter who told them, and how"),
        ({"who": "x" * 121}, "must be 120 characters or fewer"),
        ({"who": "Irm by phone", "told_at-day": "1"}, "When they were told must include a month"),
        ({"who": "Irm by phone", "future": True}, "When they were told must be in the past"),
    ],
)
def test_telling_them_another_way_needs_who_and_a_past_time(
    notify_app, stand_in, cast, staff, data, error
):
    breach, delivery = failed_to_dir(notify_app, stand_in, cast)
    irm = cast["irm"]
    irm.get(told_url(breach, delivery))
    if data.pop("future", False):
        data.update(time_fields("told_at", clock.now() + dt.timedelta(hours=2)))
    elif "who" in data and len(data["who"]) > 100:
        data.update(time_fields("told_at", clock.now()))
    page = Page.of(irm.post(told_url(breach, delivery), data))
    assert page.status == 422
    assert any(error in message for message in page.errors), page.errors
    assert "director" not in Breach.get_by_id(breach.id).told_recipients()


def test_only_the_irm_may_record_telling_them_another_way(notify_app, stand_in, cast, staff):
    breach, delivery = failed_to_dir(notify_app, stand_in, cast)
    dpo = cast["dpo"]
    assert f'href="{told_url(breach, delivery)}"' not in case_page(dpo, breach)
    dpo.get(told_url(breach, delivery), status=403)
    response = dpo.post(told_url(breach, delivery), time_fields("told_at", clock.now()))
    assert response.status_code == 403
    assert "director" not in Breach.get_by_id(breach.id).told_recipients()
    # Another case's e-mail under this case's address is no e-mail of it.
    other = reported(cast)
    cast["irm"].get(told_url(other, delivery), status=404)


def test_the_next_person_for_someone_with_a_line_manager_is_their_line_manager(
    notify_app, stand_in, cast, staff
):
    breach = reported(cast)
    staff["dpo"].line_manager = staff["dir"]
    staff["dpo"].save()
    run_ok(notify_app)
    to_dpo = sent_to(stand_in, "dpo")
    callback(notify_app, receipt(to_dpo.id, "temporary-failure"))
    run_ok(notify_app)
    (follow_up,) = [s for s in stand_in.sent if s.template_id == TEMPLATES["delivery_failed"]]
    assert follow_up.email_address == "dir@council.example"
    assert breach.reference in follow_up.personalisation["subject"]


def test_a_failed_email_to_the_line_manager_undoes_line_manager_told(
    notify_app, stand_in, cast, staff
):
    assert report(cast["pat"], category="loss", what_happened=TYPED).status_code == 303
    breach = latest()
    run_ok(notify_app)
    assert Breach.get_by_id(breach.id).line_manager_told
    to_lina = sent_to(stand_in, "lina")
    assert to_lina.template_id == TEMPLATES["line_manager_told"]
    callback(notify_app, receipt(to_lina.id, "permanent-failure"))
    after = Breach.get_by_id(breach.id)
    assert not after.line_manager_told
    assert after.version == breach.version + 2  # told, then not told: each its own save
    events = [
        e.event
        for e in AuditEvent.select()
        .where(AuditEvent.entity_id == breach.id, AuditEvent.entity_type == "breach")
        .order_by(AuditEvent.id)
    ]
    assert events[-2:] == ["delivery_raised", "line_manager_not_told"]
    # Told by phone instead, recorded by the Information and Records Manager.
    delivery = Delivery.get(Delivery.notify_id == to_lina.id)
    cast["irm"].get(told_url(breach, delivery))
    typed = {"who": "Irm Tester by phone", **time_fields("told_at", clock.now())}
    assert cast["irm"].post(told_url(breach, delivery), typed).status_code == 303
    again = Breach.get_by_id(breach.id)
    assert again.line_manager_told and again.line_manager_told_by_id == staff["irm"].id
    result = notify_app.test_cli_runner().invoke(args=["audit-verify", "--no-checkpoint"])
    assert result.exit_code == 0, result.output


def test_no_receipt_within_the_hour_is_raised_by_the_poll(notify_app, stand_in, cast, staff):
    breach = reported(cast)
    run_ok(notify_app)
    to_dir = sent_to(stand_in, "dir")
    stand_in.set_status(sent_to(stand_in, "irm").id, "delivered")
    assert "changed: 1; undelivered e-mails raised: 0" in run_ok(notify_app, "poll-notify")
    assert Delivery.get(Delivery.notify_id == to_dir.id).status == "created"

    clock.travel(dt.timedelta(minutes=61))
    stand_in.set_status(to_dir.id, "sending")
    output = run_ok(notify_app, "poll-notify")
    assert "undelivered e-mails raised: 5" in output  # all but the IRM's, delivered
    delivery = Delivery.get(Delivery.notify_id == to_dir.id)
    assert delivery.status == "sending" and delivery.raised_at is not None
    page = case_page(cast["irm"], breach)
    assert email_rows(page)["Dir Tester"].startswith("Not delivered within the hour")
    assert email_rows(page)["Irm Tester"] == "Delivered"
    # A late delivery still counts: the person is told after all.
    assert callback(notify_app, receipt(to_dir.id, "delivered")).status_code == 200
    assert "director" in Breach.get_by_id(breach.id).told_recipients()
    assert_deliveries_agree()


def test_silence_past_the_hour_is_followed_up_by_send_reminders_without_the_poll(
    notify_app, stand_in, cast, staff
):
    breach = reported(cast)
    run_ok(notify_app)
    clock.travel(dt.timedelta(minutes=59))
    assert "0 undelivered e-mail followed up" in run_ok(notify_app)
    clock.travel(dt.timedelta(minutes=2))
    # None of the six has a line manager in Safekeep: the Assistant Director hears of each.
    assert "6 undelivered e-mail followed up" in run_ok(notify_app)
    follow_ups = stand_in.to("ad@council.example")
    assert len(follow_ups) == 6
    assert {m.personalisation["reference"] for m in follow_ups} == {breach.reference}


def test_the_poll_asks_about_a_bounded_number_each_run(notify_app, stand_in, cast, staff):
    from services import deliveries

    reported(cast)
    run_ok(notify_app)
    for s in stand_in.sent:
        stand_in.set_status(s.id, "delivered")
    with mailer_for(notify_app.config) as notify:
        first = deliveries.poll(clock.now(), notify.status_of, limit=4)
        second = deliveries.poll(clock.now(), notify.status_of, limit=4)
    assert (first["asked"], first["changed"]) == (4, 4)
    assert (second["asked"], second["changed"]) == (2, 2)


# -- Notify's errors: nothing lost, a message that keeps failing raised ------------------------


def test_a_429_storm_is_waited_out_with_a_bound_and_loses_nothing(
    notify_app, stand_in, cast, staff, waits
):
    reported(cast)
    stand_in.fail_next(429, 429, 429)  # the fourth try gets through
    assert "6 breach reported" in run_ok(notify_app)
    assert waits == [1.0, 2.0, 4.0]
    assert len(stand_in.sent) == 6

    # A longer storm stops the run after four tries; the message goes back, nothing is lost.
    waits.clear()
    breach = reported(cast)
    stand_in.fail_next(*[429] * 4)
    result = run(notify_app)
    assert result.exit_code != 0
    assert "429" in result.output and "next run" in result.output
    assert waits == [1.0, 2.0, 4.0]
    assert Reminder.select().where(Reminder.subject_id == breach.id).count() == 0
    assert "6 breach reported" in run_ok(notify_app)
    assert len(stand_in.sent) == 12
    assert_deliveries_agree()


def test_a_wrong_api_key_fails_the_run_and_loses_nothing(notify_app, stand_in, cast, staff):
    reported(cast)
    service, secret = API_KEY[-73:-37], API_KEY[-36:]
    notify_app.config["NOTIFY_API_KEY"] = f"other-{service}-{secret[::-1]}"
    result = run(notify_app)
    assert result.exit_code != 0 and "API key" in result.output
    assert stand_in.requests == [("/v2/notifications/email", 403)]
    assert stand_in.sent == [] and Reminder.select().count() == 0
    notify_app.config["NOTIFY_API_KEY"] = API_KEY
    assert "6 breach reported" in run_ok(notify_app)


def test_a_message_notify_keeps_refusing_is_given_up_after_three_runs_and_raised(
    notify_app, stand_in, cast, staff
):
    breach = reported(cast)
    stand_in.refuse.add("dir@council.example")
    for _ in (1, 2):
        result = run(notify_app)
        assert result.exit_code == 1 and "1 refused" in result.output
        assert Delivery.get(Delivery.recipient == staff["dir"]).status == "refused"
    result = run(notify_app)
    assert "1 refused 3 times: given up" in result.output
    delivery = Delivery.get(Delivery.recipient == staff["dir"])
    assert (delivery.status, delivery.attempts) == ("not-sent", 3)
    assert delivery.raised_at is not None
    # Never tried again; the Assistant Director is told instead.
    run(notify_app)
    assert stand_in.to("dir@council.example") == []
    assert len(stand_in.to("ad@council.example")) == 1
    assert email_rows(case_page(cast["irm"], breach))["Dir Tester"].startswith("Not sent")
    assert_deliveries_agree()


# -- Settings ------------------------------------------------------------------------------


def test_a_key_without_every_template_stops_the_app_at_start(tmp_path):
    from app import create_app

    settings = {"TESTING": True, "SQLITE_PATH": str(tmp_path / "s.db"), "SECRET_KEY": "x"}
    with pytest.raises(ValueError, match="NOTIFY_TEMPLATE_BREACH_REPORTED"):
        create_app({**settings, "NOTIFY_API_KEY": API_KEY})
    with pytest.raises(ValueError, match="NOTIFY_API_KEY must be"):
        create_app({**settings, "NOTIFY_API_KEY": "not-a-key"})
    templates = {notify_service.template_setting(k): t for k, t in TEMPLATES.items()}
    with pytest.raises(ValueError, match="NOTIFY_CALLBACK_TOKEN"):
        create_app(
            {**settings, **templates, "NOTIFY_API_KEY": API_KEY, "NOTIFY_CALLBACK_TOKEN": "short"}
        )
    app = create_app({**settings, **templates, "NOTIFY_API_KEY": API_KEY})
    assert app.config["NOTIFY_API_KEY"] == API_KEY


# -- Two servers at once ---------------------------------------------------------------------


@pytest.mark.postgres
def test_two_servers_sending_through_notify_at_once_send_each_message_once(
    notify_app, stand_in, cast, staff, monkeypatch
):
    from app import create_app

    for _ in range(3):
        reported(cast)
    expected = 18  # three cases, six roles each
    # A second server: another app made from the same settings, on the same database.
    second = create_app(dict(notify_app.config))
    barrier = threading.Barrier(2)
    real_due = reminders.due_reminders

    def due_together(kind, *args, **kwargs):
        found = real_due(kind, *args, **kwargs)
        if kind == reminders.BREACH_REPORTED:
            barrier.wait(timeout=20)
        return found

    monkeypatch.setattr(reminders, "due_reminders", due_together)
    sent, errors = [], []

    def one_server(app):
        # The cron command's work, called directly: CLI runners in two threads at once
        # swap one sys.stdout and lose each other's output.
        try:
            with app.app_context(), mailer_for(app.config) as mailer:
                db.connect(reuse_if_open=True)
                counts = send_reminders(clock.now(), mailer, BASE_URL, 3)
            sent.append(counts[reminders.BREACH_REPORTED])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=one_server, args=(a,)) for a in (notify_app, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(sent) == 2 and sum(sent) == expected, sent
    assert len(stand_in.sent) == expected
    assert len({(s.email_address, s.reference) for s in stand_in.sent}) == expected
    assert Delivery.select().count() == expected
    assert Notification.select().count() == expected
    assert_deliveries_agree()


def test_the_notify_manual_names_every_template_setting_and_its_fields():
    from pathlib import Path

    manual = (Path(__file__).parents[2] / "docs" / "notify.md").read_text()
    for kind in TEMPLATE_KINDS:
        assert f"`{notify_service.template_setting(kind)}`" in manual
    due = reminders.Due("overdue", "removal", 1, 1, None, "Subject", ("Line",), "https://x/")
    for name in due.personalisation:
        assert f"`(({name}))`" in manual
