"""Everyone's own account (issue 12): changing the password (the current one first, counted
and locking; everywhere else signed out, this browser kept), seeing where you are signed in,
ending one session, signing out everywhere."""

from __future__ import annotations

import re

import pytest

from models.people import MAX_FAILED_SIGN_INS, User, UserSession
from tests.conftest import PASSWORD
from tests.http.journeys import Page
from tests.http.journeys.accounts import events, signed_out

NEW_PASSWORD = "sturdy-kettle-lantern-42"


@pytest.fixture
def pat(people):
    return people.add("pat")


def change(web, current=PASSWORD, new=NEW_PASSWORD, again=None):
    web.get("/account/password")
    return web.post(
        "/account/password",
        {"current_password": current, "new_password": new, "confirm_password": again or new},
    )


def test_changing_the_password_signs_out_everywhere_else_and_keeps_this_browser(pat, web, new_web):
    web.sign_in("pat")
    other = new_web()
    other.sign_in("pat")
    response = change(web)
    assert response.status_code == 303 and response.headers["Location"] == "/account?done=password"
    assert not signed_out(web)
    assert signed_out(other)
    told = other.client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "You were signed out because the password of your account was changed." in told
    (changed,) = events("user", pat.id, "change_password")
    assert changed.details == {"sessions_ended": 1}
    third = new_web()
    third.sign_in("pat", NEW_PASSWORD)
    old = new_web()
    old.get("/sign-in")
    assert old.post("/sign-in", {"username": "pat", "password": PASSWORD}).status_code == 401


def test_a_wrong_current_password_is_refused_and_counted_towards_the_lock(pat, web):
    web.sign_in("pat")
    page = Page.of(change(web, current="not-my-password"))
    assert page.status == 422
    assert page.errors == ["Your current password is not correct"]
    assert User.get_by_id(pat.id).failed_sign_ins == 1
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        change(web, current="not-my-password")
    locked = Page.of(change(web))  # even the right one, now
    assert locked.errors[0].startswith("Your account is locked after too many wrong passwords")
    assert User.get_by_id(pat.id).password_hash == User.get_by_id(pat.id).password_hash
    assert not events("user", pat.id, "change_password")


def test_the_new_password_follows_the_rule_and_every_error_shows_at_once(pat, web):
    web.sign_in("pat")
    page = Page.of(change(web, current="", new="short"))
    assert page.errors == [
        "Enter your current password",
        "Your new password must be at least 12 characters",
    ]
    common = Page.of(change(web, new="Liverpool2026!"))
    assert "known from data breaches" in common.errors[0]
    mismatch = Page.of(change(web, again="something-else-entirely"))
    assert mismatch.field_errors == {"confirm_password": "The passwords do not match"}
    with_username = Page.of(change(web, new="pat-is-my-name-ok"))
    assert with_username.errors == ["Your new password must not contain the username"]


def test_the_account_page_lists_sessions_and_ends_another_one(pat, web, new_web):
    web.sign_in("pat")
    other = new_web()
    other.sign_in("pat")
    page = Page.of(web.get("/account"))
    assert page.title.startswith("Your account")
    assert "This browser" in page.text
    assert page.buttons.count("Sign out the browser signed in " + "") == 0
    theirs = (
        UserSession.select().where(UserSession.user == pat.id).order_by(UserSession.id.desc()).get()
    )
    response = web.post("/account/sessions/end", {"session_id": theirs.id})
    assert response.status_code == 303
    assert signed_out(other) and not signed_out(web)
    told = other.client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "You were signed out from another browser." in told
    (ended,) = events("user", pat.id, "end_sessions")
    assert ended.actor_id == pat.id and ended.details == {"sessions_ended": 1}


def test_no_one_ends_someone_elses_session_from_their_account_page(people, web, new_web):
    people.add("pat")
    people.add("sam")
    sam = new_web()
    sam.sign_in("sam")
    web.sign_in("pat")
    sams = UserSession.select().join(User).where(User.username == "sam").get()
    web.get("/account")
    web.post("/account/sessions/end", {"session_id": sams.id})
    assert not signed_out(sam)


def test_sign_out_everywhere_ends_every_session_including_this_one(pat, web, new_web):
    web.sign_in("pat")
    other = new_web()
    other.sign_in("pat")
    web.get("/account")
    response = web.post("/account/sign-out-everywhere", {})
    assert response.status_code == 303 and "signed_out=1" in response.headers["Location"]
    assert signed_out(web) and signed_out(other)
    assert events("user", pat.id, "sign_out_everywhere")[0].details == {"sessions_ended": 2}


WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_the_sessions_list_names_each_browser_so_they_can_be_told_apart(pat, app):
    from tests.http.conftest import Web

    laptop, phone = Web(app.test_client()), Web(app.test_client())
    laptop.client.environ_base["HTTP_USER_AGENT"] = WINDOWS_CHROME
    phone.client.environ_base["HTTP_USER_AGENT"] = IPHONE_SAFARI + "x" * 5000
    laptop.sign_in("pat")
    phone.sign_in("pat")
    response = laptop.get("/account")
    html = response.get_data(as_text=True)
    table = html[html.index('id="sessions"') :]
    table = table[: table.index("</table>")]
    headers = [strip_tags(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    assert headers[0] == "Browser" and all(headers), headers  # no empty header cell
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table[table.index("<tbody") :], re.S)
    first_cells = [strip_tags(re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)[0]) for r in rows]
    assert sorted(first_cells) == ["Chrome on Windows", "Safari on iPhone"]
    assert "Sign out Safari on iPhone signed in" in Page.of(response).text


def strip_tags(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
