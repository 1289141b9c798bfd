"""Every password and PIN check is counted and locks, exactly, and tells a stranger nothing.

The concurrent tests use real threads against a live server (a thread per connection), as
an attacker would; the limit must hold exactly on SQLite and on PostgreSQL. "Checked" means
an argon2 verification against the account's real hash (a locked or unknown account is
verified against a dummy hash instead, so it takes as long as a real check).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading

import pytest

import models.people
from machines import clock
from models.audit import AuditEvent
from models.people import KioskFailure, User
from tests.conftest import PASSWORD, PIN
from tests.http.conftest import Browser, at_once

# Runs on PostgreSQL too: lock-then-check under concurrent attempts.
pytestmark = pytest.mark.postgres

WRONG = "not-the-password"


@pytest.fixture
def verifications(monkeypatch):
    """Counts argon2 verifications: against a real stored hash, and against the dummy one."""
    calls = {"real": [], "dummy": 0}
    lock = threading.Lock()
    hasher = models.people._hasher

    class CountingHasher:
        def verify(self, stored_hash, secret):
            with lock:
                if stored_hash == models.people._dummy_hash():
                    calls["dummy"] += 1
                else:
                    calls["real"].append(stored_hash)
            return hasher.verify(stored_hash, secret)

        def __getattr__(self, name):
            return getattr(hasher, name)

    monkeypatch.setattr(models.people, "_hasher", CountingHasher())
    return calls


def error_text(html: str) -> str:
    match = re.search(r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', html, re.S)
    assert match, "no GOV.UK error summary"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def sign_in_attempt(client, username: str, password: str):
    from tests.http.conftest import csrf_from

    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    return client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )


# -- 1. The kiosk-PIN page is no way round the lock ------------------------------------------


def test_wrong_passwords_on_the_pin_page_count_and_lock_like_sign_in(app, people, web, new_web):
    pat = people.add("pat")
    web.sign_in("pat")
    web.get("/account/pin")
    for attempt in range(1, 6):
        response = web.post(
            "/account/pin", {"password": WRONG, "pin": "2580", "pin_confirm": "2580"}
        )
        assert response.status_code == 422
        expected = "Your password is not correct" if attempt < 5 else "Your account is locked"
        assert expected in response.get_data(as_text=True), attempt
    # The sixth try, with the right password, is refused: the account is locked.
    response = web.post(
        "/account/pin", {"password": PASSWORD, "pin": "2580", "pin_confirm": "2580"}
    )
    assert response.status_code == 422
    assert "Your account is locked after too many wrong passwords" in response.get_data(
        as_text=True
    )
    assert User.get_by_id(pat.id).pin_hash == pat.pin_hash  # the PIN was not changed
    # The same lock as signing in: a new sign-in with the right password is refused too.
    assert sign_in_attempt(app.test_client(), "pat", PASSWORD).status_code == 401
    assert [
        e.entity_id for e in AuditEvent.select().where(AuditEvent.event == "account_locked")
    ] == [pat.id]
    clock.travel(dt.timedelta(minutes=16))
    web.get("/")  # (keep the signed-in session alive for the rest of the test)
    fresh = new_web()
    fresh.sign_in("pat")
    response = fresh.post(
        "/account/pin", {"password": PASSWORD, "pin": "2580", "pin_confirm": "2580"}
    )
    assert response.status_code == 303


def test_wrong_passwords_at_sign_in_count_on_the_pin_page_too(app, people, web):
    people.add("pat")
    web.sign_in("pat")
    web.get("/account/pin")
    for _ in range(4):
        assert sign_in_attempt(app.test_client(), "pat", WRONG).status_code == 401
    # One more wrong password, on the PIN page, makes five: locked.
    web.post("/account/pin", {"password": WRONG, "pin": "2580", "pin_confirm": "2580"})
    assert sign_in_attempt(app.test_client(), "pat", PASSWORD).status_code == 401


def test_a_right_password_on_the_pin_page_clears_the_count(app, people, web):
    people.add("pat")
    web.sign_in("pat")
    web.get("/account/pin")
    for _ in range(4):
        web.post("/account/pin", {"password": WRONG, "pin": "2580", "pin_confirm": "2580"})
    ok = web.post("/account/pin", {"password": PASSWORD, "pin": "2580", "pin_confirm": "2580"})
    assert ok.status_code == 303
    assert sign_in_attempt(app.test_client(), "pat", WRONG).status_code == 401
    assert sign_in_attempt(app.test_client(), "pat", PASSWORD).status_code == 303


# -- 2. The limit holds exactly under concurrency --------------------------------------------


def test_thirty_concurrent_wrong_passwords_check_exactly_five(
    app, people, live_server, verifications
):
    pat = people.add("pat")

    def prepare(_):
        browser = Browser(live_server)
        browser.open("/sign-in")
        return browser

    results = at_once(
        30, prepare, lambda b, _: b.open("/sign-in", {"username": "pat", "password": WRONG})
    )

    assert [status for status, _ in results] == [401] * 30
    # Exactly five were checked against Pat's hash; the other 25 found the lock and were
    # refused unchecked (against the dummy hash, for the same timing).
    assert len(verifications["real"]) == 5
    assert verifications["dummy"] == 25
    assert AuditEvent.select().where(AuditEvent.event == "account_locked").count() == 1
    # Then the right password does not get in.
    assert Browser(live_server).sign_in("pat", PASSWORD) == 401
    assert len(verifications["real"]) == 5
    assert User.get_by_id(pat.id).locked_until > clock.now()


def test_sixteen_concurrent_wrong_pins_check_exactly_five_then_the_right_pin_fails(
    app, people, live_server, verifications
):
    people.add("lina", "line_manager", staff_number="10001")
    pat = people.add("pat", staff_number="10002")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    kiosk = Browser(live_server)
    assert kiosk.sign_in("kiosk-north") == 303
    kiosk.open("/kiosk/")
    verifications["real"].clear()

    results = at_once(
        16,
        lambda _: kiosk,  # one kiosk PC, sixteen tries as fast as they come
        lambda b, _: b.open("/kiosk/identify", {"staff_number": "10002", "pin": "9999"})[0],
    )

    assert set(results) <= {401, 429}
    assert len(verifications["real"]) == 5  # against Pat's PIN hash, exactly five
    # Past the kiosk's 5-minute pause, inside Pat's 15-minute PIN lock: the right PIN fails.
    clock.travel(dt.timedelta(minutes=6))
    kiosk.open("/kiosk/")
    status, html = kiosk.open("/kiosk/identify", {"staff_number": "10002", "pin": PIN})
    assert status == 401 and "Hello Pat" not in html
    assert "Hello Pat" not in kiosk.open("/kiosk/")[1]
    assert len(verifications["real"]) == 5
    assert User.get_by_id(pat.id).pin_locked_until > clock.now()


def test_sixteen_concurrent_tries_at_one_kiosk_count_exactly_ten_then_it_pauses(
    app, people, live_server, verifications
):
    people.add("sam", staff_number="10003")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    kiosk = Browser(live_server)
    assert kiosk.sign_in("kiosk-north") == 303
    kiosk.open("/kiosk/")
    verifications["real"].clear()
    verifications["dummy"] = 0

    # One common PIN against sixteen staff numbers: no person's lock ever sees two tries.
    results = at_once(
        16,
        lambda _: kiosk,
        lambda b, n: b.open("/kiosk/identify", {"staff_number": f"4440{n}", "pin": "1234"})[0],
    )

    assert sorted(results) == [401] * 10 + [429] * 6
    assert verifications["dummy"] == 10  # ten checked; the six after the pause were not
    assert KioskFailure.select().count() == 10
    assert AuditEvent.select().where(AuditEvent.event == "kiosk_paused").count() == 1
    status, html = kiosk.open("/kiosk/identify", {"staff_number": "10003", "pin": PIN})
    assert status == 429 and "Hello Sam" not in html


# -- 3. A locked account and an unknown one look the same ------------------------------------


def test_a_locked_account_and_an_unknown_username_get_the_same_answer(app, people, verifications):
    people.add("pat")
    for _ in range(5):
        sign_in_attempt(app.test_client(), "pat", WRONG)
    verifications["real"].clear()
    verifications["dummy"] = 0

    locked = sign_in_attempt(app.test_client(), "pat", PASSWORD)
    unknown = sign_in_attempt(app.test_client(), "nobody-here", PASSWORD)
    wrong = sign_in_attempt(app.test_client(), "lina-unknown", WRONG)

    assert locked.status_code == unknown.status_code == wrong.status_code == 401
    answers = {error_text(r.get_data(as_text=True)) for r in (locked, unknown, wrong)}
    assert len(answers) == 1, answers
    # The same work for each: one argon2 verification (the dummy hash: a locked account is
    # not checked, an unknown one has no hash), so the answer's timing tells nothing either.
    assert verifications == {"real": [], "dummy": 3}


def test_a_real_account_with_a_wrong_password_costs_one_verification_too(
    app, people, verifications
):
    people.add("pat")
    verifications["real"].clear()
    sign_in_attempt(app.test_client(), "pat", WRONG)
    sign_in_attempt(app.test_client(), "nobody-here", WRONG)
    assert len(verifications["real"]) == 1 and verifications["dummy"] == 1


def test_a_disabled_account_answers_like_an_unknown_one(app, people):
    user = people.add("pat")
    User.update(active=False).where(User.id == user.id).execute()
    disabled = sign_in_attempt(app.test_client(), "pat", PASSWORD)
    unknown = sign_in_attempt(app.test_client(), "nobody-here", PASSWORD)
    assert disabled.status_code == unknown.status_code == 401
    assert error_text(disabled.get_data(as_text=True)) == error_text(unknown.get_data(as_text=True))


def test_failed_sign_ins_and_the_lock_are_logged_without_what_a_stranger_typed(app, people, caplog):
    caplog.set_level(logging.INFO, logger="safekeep.security")
    pat = people.add("pat")
    sign_in_attempt(app.test_client(), "typed-a-password-here", WRONG)
    for _ in range(5):
        sign_in_attempt(app.test_client(), "pat", WRONG)
    records = [r for r in caplog.records if r.name == "safekeep.security"]
    events = [(r.security_event, r.user_id) for r in records]
    assert events[0] == ("sign_in_failed", None)
    assert records[0].known_account is False and records[0].remote_addr == "127.0.0.1"
    assert events.count(("sign_in_failed", pat.id)) == 5
    assert ("account_locked", pat.id) in events
    assert all(r.levelno == logging.WARNING for r in records)
    assert "typed-a-password-here" not in caplog.text and WRONG not in caplog.text
