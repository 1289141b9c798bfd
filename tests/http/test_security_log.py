"""Security events go to the `safekeep.security` log with who, what, when and from where,
and who read the sensitive reports is in the audit trail; demo data only when asked."""

from __future__ import annotations

import logging
import re

import pytest

from demo.accounts import DEMO_PASSWORD
from models.audit import AuditEvent
from models.breaches import Breach
from models.people import User
from models.records import Record
from tests.conftest import make_app


@pytest.fixture
def council(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--demo"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def security_log(caplog):
    caplog.set_level(logging.INFO, logger="safekeep.security")

    def events(name: str | None = None):
        found = [r for r in caplog.records if r.name == "safekeep.security"]
        return [r for r in found if name is None or r.security_event == name]

    events.text = lambda: caplog.text
    return events


def signed_in(new_web, username):
    web = new_web()
    web.sign_in(username, DEMO_PASSWORD)
    web.get("/")
    return web


def test_a_403_is_logged_with_who_and_from_where(council, new_web, security_log):
    pat = signed_in(new_web, "pat")
    pat.get("/register", status=403)
    (denied,) = security_log("access_denied")
    assert denied.user_id == User.by_username("pat").id
    assert (denied.status, denied.endpoint, denied.path) == (403, "register.index", "/register")
    assert denied.remote_addr == "127.0.0.1" and denied.at.endswith("Z")
    assert denied.levelno == logging.WARNING


def test_a_404_on_someone_elses_record_is_logged_with_its_id(council, new_web, security_log):
    record = Record.select().where(Record.team == User.by_username("pat").team_id).first()
    alex = signed_in(new_web, "alex")  # another team: no need to know
    alex.get(f"/records/{record.id}", status=404)
    (denied,) = security_log("access_denied")
    assert (denied.status, denied.record_id) == (404, record.id)
    assert denied.user_id == User.by_username("alex").id
    # The record's case-system ID is personal data of a service user: never logged.
    assert record.case_id not in security_log.text()


def test_a_page_that_does_not_exist_is_not_an_object_denial(council, new_web, security_log):
    pat = signed_in(new_web, "pat")
    pat.get("/no-such-page", status=404)
    assert security_log("access_denied") == []


def test_reading_the_ico_draft_and_the_breach_report_is_audited_and_logged(
    council, new_web, security_log
):
    breach = Breach.select().order_by(Breach.id).first()
    rita = signed_in(new_web, "rita")
    rita.get(f"/breaches/{breach.id}/ico-draft")
    rita.get(f"/breaches/{breach.id}/report")
    reads = list(
        AuditEvent.select().where(AuditEvent.entity_type == "breach_export").order_by(AuditEvent.id)
    )
    rita_id = User.by_username("rita").id
    assert [(e.event, e.entity_id, e.actor_id) for e in reads] == [
        ("view_ico_draft", breach.id, rita_id),
        ("view_breach_report", breach.id, rita_id),
    ]
    logged = [(r.security_event, r.user_id, r.entity_id) for r in security_log()]
    assert ("view_ico_draft", rita_id, breach.id) in logged
    assert ("view_breach_report", rita_id, breach.id) in logged
    # Reads are not changes: the case's own timeline does not list them.
    page = rita.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert "view_ico_draft" not in page and "View ico draft" not in page
    assert breach.case_id is None or breach.case_id not in security_log.text()


def test_a_refused_ico_draft_is_denied_and_not_recorded_as_read(council, new_web, security_log):
    breach = Breach.select().where(Breach.reported_by == User.by_username("pat").id).first()
    pat = signed_in(new_web, "pat")
    pat.get(f"/breaches/{breach.id}/ico-draft", status=403)
    assert AuditEvent.select().where(AuditEvent.entity_type == "breach_export").count() == 0
    assert [r.status for r in security_log("access_denied")] == [403]


@pytest.mark.postgres
def test_the_register_export_is_audited_with_its_filters(council, new_web, security_log):
    gov = signed_in(new_web, "gov")
    response = gov.client.get("/breaches/register.csv?category=loss")
    assert response.status_code == 200
    event = AuditEvent.get(AuditEvent.entity_type == "register_export")
    assert (event.event, event.actor_id) == ("export_register_csv", User.by_username("gov").id)
    assert event.details == {"category": "loss"}
    (logged,) = security_log("export_register_csv")
    assert logged.category == "loss"
    code = council.test_cli_runner().invoke(args=["audit-verify"]).exit_code
    assert code == 0  # reads are chained and sealed like every other event


def test_session_expiry_is_logged(council, new_web, security_log):
    import datetime as dt

    from machines import clock

    pat = signed_in(new_web, "pat")
    clock.travel(dt.timedelta(minutes=31))
    pat.client.get("/")
    (expired,) = security_log("session_expired")
    assert (expired.user_id, expired.reason) == (User.by_username("pat").id, "idle")


# -- 11. Demo data only when asked -------------------------------------------------------------


def test_seed_demo_refuses_without_being_asked(app, monkeypatch):
    monkeypatch.delenv("SAFEKEEP_DEMO", raising=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "demo accounts whose password is published" in result.output
    assert "--demo" in result.output and "SAFEKEEP_DEMO=1" in result.output
    assert User.select().count() == 0
    result = runner.invoke(args=["seed-volume", "--removals", "5", "--breaches", "1"])
    assert result.exit_code != 0 and User.select().count() == 0


def test_seed_demo_runs_with_the_setting_make_run_uses(app, monkeypatch):
    monkeypatch.setenv("SAFEKEEP_DEMO", "1")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0 and User.by_username("admin") is not None


def test_make_run_asks_for_the_demo(app):
    from tests.conftest import ROOT

    makefile = (ROOT / "Makefile").read_text()
    assert "SAFEKEEP_DEMO=1 $(FLASK) seed-demo" in makefile


@pytest.mark.parametrize("trusted, logged", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_behind_a_proxy_the_client_address_is_logged_only_when_the_proxy_is_trusted(
    tmp_path, request, caplog, trusted, logged
):
    app = make_app("sqlite", tmp_path, request, TRUSTED_PROXIES=trusted)
    caplog.set_level(logging.INFO, logger="safekeep.security")
    web = app.test_client()
    form = web.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    web.post(
        "/sign-in",
        data={"csrf_token": token, "username": "nobody", "password": "wrong password 1"},
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            # Over HTTPS, Flask-WTF also checks that the form came from this site.
            "Referer": "https://localhost/sign-in",
        },
    )
    (failed,) = [r for r in caplog.records if getattr(r, "security_event", None)]
    assert failed.remote_addr == logged


@pytest.mark.parametrize(
    "forwarded, logged",
    [
        ("not-an-ip<script>", "127.0.0.1"),
        ("203.0.113.9, 198.51.100.7<b>", "127.0.0.1"),  # only the last hop, the proxy's, counts
        ("2001:db8::7", "2001:db8::7"),
    ],
)
def test_a_forwarded_address_that_is_not_an_address_is_not_believed_nor_echoed(
    tmp_path, request, caplog, forwarded, logged
):
    app = make_app("sqlite", tmp_path, request, TRUSTED_PROXIES=1)
    caplog.set_level(logging.INFO, logger="safekeep.security")
    web = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', web.get("/sign-in").get_data(as_text=True)
    ).group(1)
    web.post(
        "/sign-in",
        data={"csrf_token": token, "username": "nobody", "password": "wrong password 1"},
        headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "javascript"},
    )
    events = {r.security_event: r for r in caplog.records if hasattr(r, "security_event")}
    # The proxy's own address stands in (the test client's), and its scheme: plain http.
    assert events["sign_in_failed"].remote_addr == logged
    if logged == "127.0.0.1":
        assert events["forwarded_for_refused"].headers == "for,proto"
    for junk in ("not-an-ip", "<script>", "<b>", "javascript"):
        assert junk not in caplog.text


def test_a_trusted_proxies_setting_that_cannot_work_stops_the_app_starting(tmp_path, request):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_app("sqlite", tmp_path, request, TRUSTED_PROXIES="one")
