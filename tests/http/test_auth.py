"""Signing in and out, throttling, CSRF, headers and error pages."""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from models.audit import AuditEvent
from models.people import User
from tests.conftest import PASSWORD
from tests.http.conftest import csrf_from


def test_sign_in_shows_the_home_page_with_name_roles_and_team(web, people):
    people.add("pat", "practitioner")
    web.sign_in("pat")
    page = web.get("/").get_data(as_text=True)
    assert "Pat Tester" in page
    assert "Practitioner" in page
    assert "Children North" in page


def test_every_page_but_sign_in_and_healthz_needs_sign_in(client):
    assert client.get("/").status_code == 302
    assert "/sign-in" in client.get("/").headers["Location"]
    assert client.get("/sign-in").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["database"] == "ok"


def test_wrong_password_shows_the_govuk_error_summary(web, people, client):
    people.add("pat")
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post(
        "/sign-in", data={"username": "pat", "password": "wrong-one", "csrf_token": token}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "govuk-error-summary" in html
    assert "Enter a correct username and password" in html
    assert "<title>Error: Sign in" in html


def test_empty_sign_in_names_each_missing_field(client):
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    html = client.post("/sign-in", data={"csrf_token": token}).get_data(as_text=True)
    assert "Enter your username" in html and "Enter your password" in html
    assert 'href="#username"' in html


def _attempt(client, password):
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    return client.post(
        "/sign-in", data={"username": "pat", "password": password, "csrf_token": token}
    )


def test_repeated_wrong_passwords_lock_the_account_for_a_while(app, people):
    people.add("pat")
    # Each attempt from a different client: the count lives in the database, not a process.
    for _ in range(5):
        assert _attempt(app.test_client(), "wrong-password").status_code == 401
    locked = _attempt(app.test_client(), PASSWORD)
    assert locked.status_code == 401
    assert "locked" in locked.get_data(as_text=True)
    # The lock is a security event on record, once, against the account.
    lock_events = AuditEvent.select().where(AuditEvent.event == "account_locked")
    assert [(e.entity_type, e.entity_id) for e in lock_events] == [
        ("user", User.get(User.username == "pat").id)
    ]
    clock.travel(dt.timedelta(minutes=16))
    assert _attempt(app.test_client(), PASSWORD).status_code == 303


def test_a_cookie_from_before_sign_out_is_refused_after_it(web, people, app):
    people.add("pat")
    web.sign_in("pat")
    assert web.get("/").status_code == 200
    cookie = web.client.get_cookie("safekeep_session").value
    assert web.post("/sign-out").status_code == 303
    thief = app.test_client()
    thief.set_cookie("safekeep_session", cookie)
    response = thief.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_idle_session_expires_after_thirty_minutes(web, people):
    people.add("pat")
    web.sign_in("pat")
    clock.travel(dt.timedelta(minutes=29))
    assert web.client.get("/").status_code == 200
    clock.travel(dt.timedelta(minutes=31))
    assert web.client.get("/").status_code == 302


def test_a_post_without_csrf_token_is_refused(web, people):
    people.add("pat")
    web.sign_in("pat")
    response = web.client.post("/sign-out")
    assert response.status_code == 400
    assert "Your form could not be sent" in response.get_data(as_text=True)
    assert web.client.get("/").status_code == 200  # still signed in: nothing happened


def test_csp_forbids_inline_script_and_eval(web, people):
    people.add("pat")
    web.sign_in("pat")
    response = web.get("/")
    csp = response.headers["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    nonce = script_src.split("'nonce-")[1].split("'")[0]
    html = response.get_data(as_text=True)
    # The template's one inline script carries the nonce; no other inline script exists.
    assert html.count("<script nonce=") == 1 and f'nonce="{nonce}"' in html
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_error_pages_are_govuk_styled(web, people):
    people.add("pat")
    web.sign_in("pat")
    response = web.get("/no-such-page", status=404)
    assert "Page not found" in response.get_data(as_text=True)
    assert "govuk-heading-l" in response.get_data(as_text=True)


def test_disabled_user_cannot_sign_in(web, people, client):
    user = people.add("pat")
    User.update(active=False).where(User.id == user.id).execute()
    assert _attempt(client, PASSWORD).status_code == 401


def test_a_password_hashed_with_older_argon2_settings_is_hashed_again_at_sign_in(
    web, people, strong_hasher
):
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError

    pat = people.add("pat", "practitioner")
    older = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(PASSWORD)
    User.update(password_hash=older).where(User.id == pat.id).execute()

    web.sign_in("pat")

    rehashed = User.get_by_id(pat.id).password_hash
    assert rehashed != older and "m=7168,t=5,p=1" in rehashed
    assert PasswordHasher().verify(rehashed, PASSWORD)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(rehashed, "not-the-password")
    assert web.post("/sign-out").status_code in (302, 303)
    web.sign_in("pat")  # the new hash lets the same password in
    assert "Pat Tester" in web.get("/").get_data(as_text=True)
