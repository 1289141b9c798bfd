"""Session time limits measured from the real last request, an absolute lifetime, the
sign-in page saying why someone was signed out, the timeout warning's session questions,
HSTS and the request-size cap."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from machines import clock
from models.breaches import Breach
from models.people import UserSession
from models.records import Record
from tests.conftest import PASSWORD, close_database, make_app
from tests.http.conftest import Web, csrf_from


@pytest.fixture
def short_app(backend, tmp_path, request):
    """Sessions with a one-minute idle limit and a two-hour lifetime."""
    app = make_app(backend, tmp_path, request, SESSION_IDLE_MINUTES=1, SESSION_MAX_HOURS=2)
    yield app
    close_database()


@pytest.fixture
def short_web(short_app):
    from tests.conftest import People

    People().add("pat")
    web = Web(short_app.test_client())
    web.sign_in("pat")
    return web


# -- 7. Idle timeout precision --------------------------------------------------------------


def test_someone_active_every_15_to_20_seconds_is_never_signed_out(short_web):
    for step in [15, 20, 18, 20, 17, 20, 15, 20, 19, 20, 16, 20] * 2:  # 7.5 minutes in all
        clock.travel(dt.timedelta(seconds=step))
        assert short_web.client.get("/").status_code == 200, "signed out while active"


def test_a_minute_without_a_request_signs_out(short_web):
    clock.travel(dt.timedelta(seconds=45))
    assert short_web.client.get("/").status_code == 200
    clock.travel(dt.timedelta(seconds=61))
    response = short_web.client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_idle_limit_counts_from_the_last_request_to_the_second(short_web):
    clock.travel(dt.timedelta(seconds=59))
    assert short_web.client.get("/").status_code == 200
    clock.travel(dt.timedelta(seconds=59))  # 118 s after sign-in, 59 s after the last request
    assert short_web.client.get("/").status_code == 200


def test_a_burst_of_requests_writes_the_sessions_last_activity_once(short_web):
    """A page and its htmx parts, or several tabs, count as activity with one write: the
    last activity moves at most once a second (UserSession.resume), never more coarsely."""
    from tests.querycount import StatementCounter

    counter = StatementCounter(session_touch=True)  # those writes are what is counted
    counter.install()

    def writes(requests: int) -> int:
        with counter.counting():
            for _ in range(requests):
                assert short_web.client.get("/").status_code == 200
        return sum('UPDATE "user_session"' in sql for sql in counter.statements)

    try:
        clock.travel(dt.timedelta(seconds=30))
        assert writes(1) == 1
        assert writes(5) <= 1  # within the same second (a slow machine may cross one)
        clock.travel(dt.timedelta(seconds=1))
        assert writes(1) == 1
    finally:
        counter.uninstall()
    seen = UserSession.get().last_seen_at
    clock.travel(dt.timedelta(seconds=59))  # 59 s after the last write: still signed in
    assert short_web.client.get("/").status_code == 200
    assert UserSession.get().last_seen_at > seen


def test_counting_a_pages_statements_leaves_out_the_sessions_last_activity(short_web):
    """The statement counts the volume tests compare are the page's own: the once-a-second
    write of the last activity (which falls in a counted request or not by how long the
    requests before it took) is held still while counting (tests/querycount.py)."""
    from tests.querycount import StatementCounter

    counter = StatementCounter()
    counter.install()
    try:
        clock.travel(dt.timedelta(seconds=30))
        with counter.counting():
            assert short_web.client.get("/").status_code == 200
    finally:
        counter.uninstall()
    assert counter.count >= 1  # the session was read, and the page's own
    assert not any('UPDATE "user_session"' in sql for sql in counter.statements)
    # Not counting, the same request writes it, as every request a second apart does.
    before = UserSession.get().last_seen_at
    assert short_web.client.get("/").status_code == 200
    assert UserSession.get().last_seen_at > before


def test_two_racing_requests_cannot_revive_an_expired_session(short_app, short_web):
    clock.travel(dt.timedelta(seconds=61))
    assert short_web.client.get("/").status_code == 302
    clock.travel(dt.timedelta(seconds=-30))  # a request that read the row before it ended
    assert short_web.client.get("/").status_code == 302
    assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 0


# -- 7. An absolute lifetime -----------------------------------------------------------------


def test_however_active_a_session_ends_after_its_lifetime(short_web):
    ends = UserSession.get().created_at + dt.timedelta(hours=2)
    while ends - clock.now() > dt.timedelta(seconds=55):  # a request every 50 s
        clock.travel(dt.timedelta(seconds=50))
        if short_web.client.get("/").status_code != 200:
            pytest.fail("signed out before the two-hour lifetime")
    # Past the lifetime, less than the idle minute after the last request.
    clock.travel(ends - clock.now() + dt.timedelta(seconds=3))
    response = short_web.client.get("/board")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"next": ["/board"], "ended": ["lifetime"]}
    page = short_web.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out because you had been signed in for 2 hours." in page
    assert UserSession.get().ended_reason == "lifetime"


def test_the_lifetime_is_twelve_hours_unless_set(app, people, web):
    assert app.config["SESSION_MAX_HOURS"] == 12
    people.add("pat")
    web.sign_in("pat")
    for _ in range(24):  # every 29 minutes (within the 30-minute idle limit): 11 h 36 min
        clock.travel(dt.timedelta(minutes=29))
        assert web.client.get("/").status_code == 200
    clock.travel(dt.timedelta(minutes=29))  # 12 h 5 min
    assert web.client.get("/").status_code == 302


def test_a_bad_lifetime_setting_stops_the_app_starting(tmp_path):
    from app import create_app

    with pytest.raises(ValueError, match="SESSION_MAX_HOURS must be more than 0"):
        create_app({"SECRET_KEY": "x", "SESSION_MAX_HOURS": 0, "SQLITE_PATH": str(tmp_path / "x")})


# -- 15.2 The sign-in page says why; back to the page afterwards ------------------------------


def test_after_the_idle_limit_the_sign_in_page_says_why_and_returns_to_the_page(short_web):
    clock.travel(dt.timedelta(seconds=61))
    response = short_web.client.get("/records")
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query) == {"next": ["/records"], "ended": ["idle"]}
    page = short_web.client.get(location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You were signed out after 1 minute without activity." in html
    assert "Nothing you had not saved was kept." in html
    token = csrf_from(html)
    again = short_web.client.post(
        location, data={"username": "pat", "password": PASSWORD, "csrf_token": token}
    )
    assert again.status_code == 303 and again.headers["Location"] == "/records"


def test_the_reason_is_kept_for_whichever_request_comes_next(short_web):
    """The session is ended by the first request after the limit (here the timeout warning's
    own question); the form sent afterwards still learns why."""
    short_web.get("/records/new")
    clock.travel(dt.timedelta(seconds=61))
    assert short_web.client.get("/session").status_code == 401
    response = short_web.client.post(
        "/records/new",
        data={"csrf_token": short_web.csrf, "case_id": "1234567", "description": "Bundle"},
        headers={"Referer": "http://localhost/records/new"},
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    # A form sent after the session ended comes back to the page the form was on.
    assert query == {"next": ["/records/new"], "ended": ["idle"]}
    assert Record.select().count() == 0


def test_signing_out_yourself_says_nothing_about_time_limits(web, people):
    people.add("pat")
    web.sign_in("pat")
    web.get("/")
    response = web.post("/sign-out")
    page = web.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have signed out." in page and "without activity" not in page
    assert "/sign-in" in web.client.get("/").headers["Location"]
    assert "ended=" not in web.client.get("/").headers["Location"]


def test_a_form_sent_after_the_limit_saves_nothing_and_lands_on_sign_in(short_web):
    short_web.get("/breaches/new")
    clock.travel(dt.timedelta(seconds=70))
    response = short_web.post(
        "/breaches/new",
        {"what_happened": "Lost bag", "category": "near_miss"},
        headers={"Referer": "http://localhost/breaches/new"},
    )
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/breaches/new"]
    assert Breach.select().count() == 0


# -- 15.2 The questions the timeout warning asks ------------------------------------------------


def test_session_status_tells_the_time_left_without_counting_as_activity(short_web):
    clock.travel(dt.timedelta(seconds=40))
    status = short_web.client.get("/session")
    assert status.status_code == 200
    assert status.json["signed_in"] is True
    assert 19 <= status.json["idle_seconds"] <= 20
    assert 2 * 3600 - 41 <= status.json["lifetime_seconds"] <= 2 * 3600 - 40
    clock.travel(dt.timedelta(seconds=25))  # 65 s since the last real request
    assert short_web.client.get("/session").status_code == 401
    assert short_web.client.get("/").status_code == 302


def test_stay_signed_in_resets_the_idle_limit(short_web):
    short_web.get("/")
    clock.travel(dt.timedelta(seconds=50))
    kept = short_web.client.post(
        "/session", headers={"X-CSRFToken": short_web.csrf, "Accept": "application/json"}
    )
    assert kept.status_code == 200 and kept.json["idle_seconds"] == 60
    clock.travel(dt.timedelta(seconds=50))  # 100 s since the page, 50 since "stay signed in"
    assert short_web.client.get("/").status_code == 200


def test_stay_signed_in_needs_the_csrf_token(short_web):
    assert short_web.client.post("/session").status_code == 400


def test_pages_carry_the_warning_with_the_session_limits(short_web):
    html = short_web.get("/").get_data(as_text=True)
    assert 'id="app-timeout-warning"' in html and 'role="alertdialog"' in html
    assert 'data-idle-seconds="60"' in html and 'data-warn-seconds="15"' in html
    assert "Stay signed in" in html


def test_the_sign_in_page_and_kiosk_screens_have_no_session_warning(app, client, people, web):
    assert "app-timeout-warning" not in client.get("/sign-in").get_data(as_text=True)
    people.add("kiosk-north", "kiosk", pin=None)
    web.sign_in("kiosk-north")
    assert "app-timeout-warning" not in web.get("/kiosk/").get_data(as_text=True)


# -- 8. HSTS ------------------------------------------------------------------------------------


def test_hsts_only_when_the_cookie_is_secure(backend, tmp_path, request):
    app = make_app(backend, tmp_path, request, SESSION_COOKIE_SECURE=True)
    try:
        for url in ("/sign-in", "/healthz", "/static/build/app.css"):
            response = app.test_client().get(url, base_url="https://localhost")
            assert (
                response.headers["Strict-Transport-Security"]
                == "max-age=31536000; includeSubDomains"
            ), url
    finally:
        close_database()


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers


# -- 5. (part) The request body is capped --------------------------------------------------------


def test_a_body_over_a_megabyte_is_refused_with_a_page_and_saves_nothing(web, people):
    people.add("pat")
    web.sign_in("pat")
    web.get("/records/new")
    response = web.post("/records/new", {"case_id": "1234567", "description": "x" * 1_100_000})
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "What you sent was too large" in html and "govuk-heading-l" in html
    assert "Nothing was saved" in html
    assert Record.select().count() == 0


def test_an_oversized_htmx_request_gets_an_alert_not_a_page(web, people):
    people.add("pat")
    web.sign_in("pat")
    web.get("/records/new")
    response = web.post("/records/new", {"description": "x" * 1_100_000}, htmx=True)
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#app-alerts"
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Nothing was saved" in html


def test_a_600_kilobyte_field_reaches_the_form_not_a_bare_413(web, people):
    """Under the cap, the form decides (Flask's own 500 kB form limit is lifted to the cap)."""
    people.add("pat")
    web.sign_in("pat")
    web.get("/records/new")
    response = web.post("/records/new", {"case_id": "1234567", "description": "x" * 600_000})
    assert response.status_code == 422
    assert Record.select().count() == 0


def test_the_cap_is_configurable(backend, tmp_path, request):
    app = make_app(backend, tmp_path, request, MAX_CONTENT_LENGTH=2048)
    try:
        response = app.test_client().post("/sign-in", data={"username": "x" * 4000})
        assert response.status_code == 413
        assert "larger than 2 KB" in response.get_data(as_text=True)
    finally:
        close_database()
