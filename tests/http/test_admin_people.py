"""Administering people (issue 12): every action, its audit event with who and before/after,
its effect on the person's sessions, its 403 for everyone but administrators, and the rules
that hold however many administrators act at once."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from aiosmtpd.controller import Controller

from machines import clock
from models.audit import AuditEvent
from models.people import PasswordReset, User, UserRole, UserSession
from tests.conftest import PASSWORD, _free_port
from tests.http.conftest import Browser, at_once
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import (
    Inbox,
    events,
    new_person,
    person_form,
    person_page,
    signed_out,
)

NEW_PASSWORD = "sturdy-kettle-lantern-42"


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    rita = people.add("rita", "records_manager", team="Information Governance")
    kiosk = people.add("kiosk-north", "kiosk", pin=None)
    return {"ada": ada, "lina": lina, "pat": pat, "rita": rita, "kiosk": kiosk}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def fresh(user: User) -> User:
    return User.get_by_id(user.id)


# -- Who may administer -------------------------------------------------------------------------


def admin_requests(staff) -> list[tuple[str, str, dict]]:
    pat, team = staff["pat"], staff["pat"].team
    return [
        ("get", "/admin/people", {}),
        ("post", "/admin/people", {"q": "pat"}),
        ("get", "/admin/people/new", {}),
        ("post", "/admin/people/new", new_person(team)),
        ("get", f"/admin/people/{pat.id}", {}),
        ("get", f"/admin/people/{pat.id}/edit", {}),
        ("post", f"/admin/people/{pat.id}/edit", person_form(pat, display_name="Changed")),
        ("get", f"/admin/people/{pat.id}/disable", {}),
        ("post", f"/admin/people/{pat.id}/disable", {"version": "1", "work_seen": ""}),
        ("post", f"/admin/people/{pat.id}/enable", {"version": "1"}),
        ("post", f"/admin/people/{pat.id}/unlock", {}),
        ("get", f"/admin/people/{pat.id}/reset-password", {}),
        ("post", f"/admin/people/{pat.id}/reset-password", {"method": "temporary"}),
        ("post", f"/admin/people/{pat.id}/sessions/end", {}),
        ("get", "/admin/teams", {}),
        ("post", "/admin/teams", {"name": "New team"}),
        ("get", f"/admin/teams/{team.id}/rename", {}),
        ("post", f"/admin/teams/{team.id}/rename", {"name": "Renamed"}),
        ("get", f"/admin/teams/{team.id}/retire", {}),
        ("post", f"/admin/teams/{team.id}/retire", {}),
        ("get", "/admin/import", {}),
        ("post", "/admin/import/confirm", {"kind": "records", "csv_text": "x"}),
        ("get", "/admin/import/template-people.csv", {}),
    ]


@pytest.mark.parametrize("username", ["pat", "lina", "rita"])
def test_every_admin_page_and_action_is_403_for_other_roles(cast, staff, username):
    web = cast[username]
    web.get("/")
    assert "Accounts" not in Page.of(web.get("/")).text  # the navigation does not offer it
    before = AuditEvent.select().count()
    for method, url, data in admin_requests(staff):
        response = web.client.get(url) if method == "get" else web.post(url, data)
        assert response.status_code == 403, (method, url, response.status_code)
    # Nothing changed: only the sign-in's own event is on record.
    assert AuditEvent.select().count() == before
    assert fresh(staff["pat"]).display_name == "Pat Tester" and fresh(staff["pat"]).active


def test_a_kiosk_account_gets_403_for_administration(cast, staff):
    web = cast["kiosk-north"]
    web.get("/kiosk/")
    assert web.client.get("/admin/people").status_code == 403
    assert web.post(f"/admin/people/{staff['pat'].id}/unlock", {}).status_code == 403


def test_the_navigation_offers_accounts_to_administrators(cast):
    page = Page.of(cast["ada"].get("/"))
    assert "Accounts" in page.text


# -- Adding a person ----------------------------------------------------------------------------


def test_an_admin_adds_a_person_who_has_no_usable_password_yet(cast, staff):
    web = cast["ada"]
    web.get("/admin/people/new")
    response = web.post(
        "/admin/people/new", new_person(staff["pat"].team, line_manager_id=staff["lina"].id)
    )
    assert response.status_code == 303
    jo = User.by_username("jbloggs")
    assert response.headers["Location"].endswith(f"/admin/people/{jo.id}?done=added")
    assert jo.display_name == "Jo Bloggs" and jo.line_manager_id == staff["lina"].id
    assert jo.roles == {"practitioner"} and jo.profession == "social_worker"
    page = Page.of(web.get(response.headers["Location"]))
    assert "The account was created" in page.text and "Last signed in Never" in page.text
    (added,) = events("user", jo.id, "add_user")
    assert added.actor_id == staff["ada"].id
    assert added.details["details"]["line_manager"] == "Lina Tester"
    assert "password" not in added.summary and jo.password_hash not in added.summary
    # Nobody knows its password: signing in is refused until a reset.
    assert cast.new_web().client.post("/sign-in").status_code in (400, 401, 422)


def test_adding_a_person_shows_every_error_at_once_and_saves_nothing(cast, staff):
    web = cast["ada"]
    web.get("/admin/people/new")
    response = web.post(
        "/admin/people/new",
        {
            "username": "Not Valid!",
            "display_name": "",
            "staff_number": staff["pat"].staff_number,  # taken
            "email": "not-an-email",
            "team_id": "999999",
            "roles": ["wizard"],
        },
    )
    page = Page.of(response)
    assert response.status_code == 422
    assert page.errors == [
        "Username must start with a letter or digit and use only lower-case letters, digits, "
        "dots, hyphens and underscores",
        "Enter the person's full name",
        f"Staff number {staff['pat'].staff_number} is already used by Pat Tester",
        "Enter an email address in the correct format, like name@example.org",
        "Select the person's team",
        "Select roles from the list",
    ]
    assert User.select().count() == 5


def test_a_kiosk_account_cannot_have_other_roles_and_emails_are_unique(cast, staff):
    web = cast["ada"]
    web.get("/admin/people/new")
    page = Page.of(
        web.post(
            "/admin/people/new",
            new_person(
                staff["pat"].team, roles=["kiosk", "practitioner"], email=staff["pat"].email
            ),
        )
    )
    assert page.status == 422
    assert (
        page.field_errors["email"]
        == "pat@council.example is already the email address of Pat Tester"
    )
    assert page.field_errors["roles"].startswith("A team-base kiosk is a shared PC")


# -- Editing ------------------------------------------------------------------------------------


def test_an_edit_is_audited_with_each_field_before_and_after(cast, staff):
    web, pat = cast["ada"], staff["pat"]
    web.get(f"/admin/people/{pat.id}/edit")
    response = web.post(
        f"/admin/people/{pat.id}/edit",
        person_form(pat, display_name="Pat Reyes-Okoro", email="pat.reyes@council.example"),
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("done=saved")
    (edit,) = events("user", pat.id, "update_user")
    assert edit.actor_id == staff["ada"].id
    assert edit.details["changed"] == {
        "display_name": ["Pat Tester", "Pat Reyes-Okoro"],
        "email": ["pat@council.example", "pat.reyes@council.example"],
    }
    assert fresh(pat).version == 2


def test_changing_details_but_not_roles_keeps_the_persons_sessions(cast, staff):
    pat_web = cast["pat"]
    web = cast["ada"]
    web.get(f"/admin/people/{staff['pat'].id}/edit")
    web.post(f"/admin/people/{staff['pat'].id}/edit", person_form(staff["pat"], display_name="P"))
    assert not signed_out(pat_web)


def test_a_role_change_signs_the_person_out_everywhere_at_once(cast, staff):
    pat = staff["pat"]
    first, second = cast["pat"], cast.new_web()
    second.sign_in("pat")
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/edit")
    response = web.post(
        f"/admin/people/{pat.id}/edit", person_form(pat, roles=["practitioner", "line_manager"])
    )
    assert response.headers["Location"].endswith("done=saved_sessions")
    assert signed_out(first) and signed_out(second)
    ended = first.client.get("/", follow_redirects=True)
    assert "You were signed out by an administrator." in ended.get_data(as_text=True)
    (edit,) = events("user", pat.id, "update_user")
    assert edit.details["changed"]["roles"] == [["practitioner"], ["line_manager", "practitioner"]]
    assert edit.details["sessions_ended"] == 2
    assert fresh(pat).roles == {"practitioner", "line_manager"}


def test_an_edit_made_on_an_out_of_date_page_is_refused_with_409(cast, staff):
    pat = staff["pat"]
    seen = person_form(pat)
    first, second = cast["ada"], cast.new_web()
    staff_admin2 = User.create(
        username="ben",
        display_name="Ben Admin",
        staff_number="90009",
        team=staff["ada"].team,
        password_hash=staff["ada"].password_hash,
    )
    UserRole.create(user=staff_admin2, role="admin")
    second.sign_in("ben")
    first.get(f"/admin/people/{pat.id}/edit")
    assert (
        first.post(f"/admin/people/{pat.id}/edit", {**seen, "display_name": "A"}).status_code == 303
    )
    second.get(f"/admin/people/{pat.id}/edit")
    stale = second.post(f"/admin/people/{pat.id}/edit", {**seen, "display_name": "B"})
    assert stale.status_code == 409
    assert "while you were looking at it" in stale.get_data(as_text=True)
    assert fresh(pat).display_name == "A"


def test_an_admin_cannot_change_their_own_roles(cast, staff):
    ada = staff["ada"]
    web = cast["ada"]
    web.get(f"/admin/people/{ada.id}/edit")
    page = Page.of(
        web.post(f"/admin/people/{ada.id}/edit", person_form(ada, roles=["admin", "dpo"]))
    )
    assert page.status == 422
    assert (
        page.field_errors["roles"] == "You cannot change your own roles: ask another administrator"
    )
    assert fresh(ada).roles == {"admin"}
    # Their own name they may change.
    web.get(f"/admin/people/{ada.id}/edit")
    assert (
        web.post(f"/admin/people/{ada.id}/edit", person_form(ada, display_name="Ada L")).status_code
        == 303
    )


def test_a_line_manager_cannot_be_someone_who_reports_to_the_person(cast, staff):
    lina, pat = staff["lina"], staff["pat"]
    UserRole.create(user=pat, role="line_manager")
    web = cast["ada"]
    web.get(f"/admin/people/{lina.id}/edit")
    page = Page.of(
        web.post(f"/admin/people/{lina.id}/edit", person_form(lina, line_manager_id=pat.id))
    )
    assert page.status == 422
    assert (
        page.field_errors["line_manager_id"]
        == "Pat Tester reports to Lina Tester: choose someone else"
    )


# -- Disabling and enabling ---------------------------------------------------------------------


def test_disabling_signs_the_person_out_at_once_and_enabling_lets_them_back(cast, staff):
    pat = staff["pat"]
    pat_web = cast["pat"]
    web = cast["ada"]
    page = Page.of(web.get(f"/admin/people/{pat.id}/disable"))
    assert "nothing needs handing over" in page.text
    response = web.post(
        f"/admin/people/{pat.id}/disable", {"version": fresh(pat).version, "work_seen": ""}
    )
    assert response.status_code == 303
    assert signed_out(pat_web)
    assert not fresh(pat).active
    (disabled,) = events("user", pat.id, "disable_user")
    assert disabled.actor_id == staff["ada"].id and disabled.details["sessions_ended"] == 1
    # They cannot sign in again, and are told only what anyone is told.
    again = cast.new_web()
    again.get("/sign-in")
    refused = again.post("/sign-in", {"username": "pat", "password": PASSWORD})
    assert refused.status_code == 401
    web.post(f"/admin/people/{pat.id}/enable", {"version": fresh(pat).version})
    assert fresh(pat).active
    assert events("user", pat.id, "enable_user")
    again.sign_in("pat")
    assert not signed_out(again)


def test_nobody_disables_themselves(cast, staff):
    ada = staff["ada"]
    web = cast["ada"]
    assert "Disable account" not in Page.of(web.get(f"/admin/people/{ada.id}")).text
    response = web.post(
        f"/admin/people/{ada.id}/disable", {"version": fresh(ada).version, "work_seen": ""}
    )
    assert response.status_code == 409
    assert "You cannot disable your own account." in response.get_data(as_text=True)
    assert fresh(ada).active


def test_an_administrator_who_loses_the_role_can_no_longer_act(cast, staff, people):
    ada = staff["ada"]
    ben = people.add("ben", "admin", team="Information Governance")
    web_ada, web_ben = cast["ada"], cast["ben"]
    web_ben.get(f"/admin/people/{ada.id}/edit")
    response = web_ben.post(f"/admin/people/{ada.id}/edit", person_form(ada, roles=["dpo"]))
    assert response.status_code == 303
    assert signed_out(web_ada)
    web_ada = cast.again("ada")
    assert web_ada.client.get("/admin/people").status_code == 403
    # Ben is the last administrator: he cannot take his own role or disable himself.
    web_ben.get(f"/admin/people/{ben.id}/edit")
    own = web_ben.post(f"/admin/people/{ben.id}/edit", person_form(ben, roles=["dpo"]))
    assert own.status_code == 422
    assert "Disable account" not in person_page(web_ben, ben).text
    assert fresh(ben).roles == {"admin"} and fresh(ben).active


@pytest.mark.postgres
def test_two_administrators_disabling_each_other_at_once_leave_one(app, live_server, people):
    """The last-administrator rule holds under concurrency: checked inside the write
    transaction, under the accounts lock, never from a page read earlier."""
    ada = people.add("ada", "admin", team="Information Governance")
    ben = people.add("ben", "admin", team="Information Governance")
    pairs = [(ada, ben), (ben, ada)]

    def prepare(n):
        me, other = pairs[n]
        browser = Browser(live_server)
        assert browser.sign_in(me.username) == 303
        browser.open(f"/admin/people/{other.id}/disable")
        return browser

    def act(browser, n):
        other = pairs[n][1]
        return browser.open(f"/admin/people/{other.id}/disable", {"version": "1", "work_seen": ""})[
            0
        ]

    statuses = sorted(at_once(2, prepare, act))
    still_active = User.select().where(User.active == True).count()  # noqa: E712
    assert still_active == 1, statuses
    # The loser was signed out by the winner (302 to sign in), or found itself no longer an
    # administrator (403), or the last one (409): never both disabled.
    assert statuses.count(303) == 1, statuses
    assert [s for s in statuses if s != 303][0] in (302, 403, 409), statuses


# -- Unlocking ----------------------------------------------------------------------------------


def test_unlock_lifts_a_password_lock_and_a_pin_lock(cast, staff):
    pat = staff["pat"]
    until = clock.now() + dt.timedelta(minutes=15)
    User.update(failed_sign_ins=0, locked_until=until, pin_locked_until=until).where(
        User.id == pat.id
    ).execute()
    web = cast["ada"]
    page = person_page(web, pat)
    assert "Password locked" in page.text and "Kiosk PIN locked" in page.text
    assert "Unlock" in page.buttons
    assert web.post(f"/admin/people/{pat.id}/unlock", {}).status_code == 303
    pat_now = fresh(pat)
    assert pat_now.locked_until is None and pat_now.pin_locked_until is None
    (unlocked,) = events("user", pat.id, "unlock")
    assert unlocked.details == {"password_locked": True, "pin_locked": True}
    assert unlocked.actor_id == staff["ada"].id
    cast.again("pat")  # signs in: the lock is gone
    assert "Unlock" not in person_page(web, pat).buttons


# -- Resetting a password -----------------------------------------------------------------------


def test_a_temporary_password_is_shown_once_and_must_be_changed_at_sign_in(cast, staff, caplog):
    pat = staff["pat"]
    pat_web = cast["pat"]
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/reset-password")
    with caplog.at_level(logging.INFO):
        response = web.post(f"/admin/people/{pat.id}/reset-password", {"method": "temporary"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([^<]+)<', html).group(1)
    assert len(temporary) >= 12
    # Not kept anywhere: not in the audit trail, not in the logs.
    assert all(temporary not in e.summary for e in AuditEvent.select())
    assert temporary not in caplog.text
    (reset,) = events("user", pat.id, "reset_password")
    assert reset.details == {"method": "temporary_password", "sessions_ended": 1}
    assert signed_out(pat_web)
    # The old password no longer works; the temporary one does, and asks for a new one.
    old = cast.new_web()
    old.get("/sign-in")
    assert old.post("/sign-in", {"username": "pat", "password": PASSWORD}).status_code == 401
    new = cast.new_web()
    signed = new.sign_in("pat", temporary)
    assert signed.headers["Location"].startswith("/account/password")
    # Every other page waits for the new password.
    home = new.client.get("/")
    assert home.status_code == 303 and home.headers["Location"] == "/account/password"
    assert new.client.get("/records").status_code == 303
    page = Page.of(new.get("/account/password"))
    assert page.title.startswith("Choose a new password")
    weak = Page.of(
        new.post(
            "/account/password",
            {"new_password": "password1234", "confirm_password": "password1234"},
        )
    )
    assert weak.status == 422 and "known from data breaches" in weak.errors[0]
    done = new.post(
        "/account/password", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert new.client.get("/").status_code == 200
    assert not fresh(pat).must_change_password
    assert events("user", pat.id, "change_password")


def test_an_admin_cannot_reset_their_own_password_here(cast, staff):
    ada = staff["ada"]
    web = cast["ada"]
    web.get(f"/admin/people/{ada.id}")
    response = web.post(f"/admin/people/{ada.id}/reset-password", {"method": "temporary"})
    assert response.status_code == 409
    assert "change it from your account page" in response.get_data(as_text=True)


def test_resetting_without_choosing_how_is_a_422(cast, staff):
    web = cast["ada"]
    web.get(f"/admin/people/{staff['pat'].id}/reset-password")
    page = Page.of(web.post(f"/admin/people/{staff['pat'].id}/reset-password", {}))
    assert page.status == 422
    assert page.errors == ["Select how the person will set their new password"]
    assert not events("user", staff["pat"].id, "reset_password")


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def mail_app(app, inbox):
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=inbox.port,
        SMTP_FROM="safekeep@council.test",
        SMTP_TIMEOUT=5,
        REMINDER_BASE_URL="https://safekeep.council.test",
    )
    return app


def test_a_reset_link_is_emailed_works_once_and_keeps_the_token_out_of_the_url(
    mail_app, inbox, cast, staff
):
    pat = staff["pat"]
    pat_web = cast["pat"]
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/reset-password")
    response = web.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"})
    assert response.status_code == 303 and response.headers["Location"].endswith("done=link_sent")
    assert signed_out(pat_web)
    (message,) = inbox.to("pat@council.example")
    body = message.get_content()
    link = re.search(r"https://safekeep\.council\.test(/reset-password/\S+)", body).group(1)
    # The email carries the link and nothing about the person.
    assert "Pat" not in body and "pat" not in body.replace(link, "")
    assert "Pat" not in message["Subject"]
    # Only a digest of the token is stored.
    token = link.rsplit("/", 1)[1]
    assert token not in "".join(r.token_digest for r in PasswordReset.select())
    (reset,) = events("user", pat.id, "reset_password")
    assert reset.details["method"] == "email_link"
    # Following the link moves the token out of the address bar at once.
    person = cast.new_web()
    followed = person.client.get(link)
    assert followed.status_code == 303 and followed.headers["Location"] == "/reset-password"
    page = Page.of(person.get("/reset-password"))
    assert page.title.startswith("Choose a new password")
    done = person.post(
        "/reset-password", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert done.status_code == 303 and "password_set=1" in done.headers["Location"]
    assert events("user", pat.id, "reset_password_by_link")
    person.sign_in("pat", NEW_PASSWORD)
    # The link works once.
    assert cast.new_web().client.get(link).status_code == 404


def test_a_reset_link_expires_after_an_hour(mail_app, inbox, cast, staff):
    pat = staff["pat"]
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/reset-password")
    web.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"})
    link = re.search(
        r"(/reset-password/\S+)", inbox.to("pat@council.example")[0].get_content()
    ).group(1)
    clock.travel(dt.timedelta(minutes=61))
    response = cast.new_web().client.get(link)
    assert response.status_code == 404
    assert "This link has expired" in response.get_data(as_text=True)


def test_a_reset_link_needs_an_email_address(cast, staff):
    pat = staff["pat"]
    User.update(email=None).where(User.id == pat.id).execute()
    web = cast["ada"]
    web.get(f"/admin/people/{pat.id}/reset-password")
    page = Page.of(web.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"}))
    assert page.status == 422
    assert page.errors == ["Pat Tester has no email address: give a temporary password"]


def test_when_the_mail_server_is_down_the_admin_is_told_and_can_give_a_temporary_password(
    app, cast, staff
):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), SMTP_TIMEOUT=2)
    web = cast["ada"]
    web.get(f"/admin/people/{staff['pat'].id}/reset-password")
    page = Page.of(web.post(f"/admin/people/{staff['pat'].id}/reset-password", {"method": "link"}))
    assert page.status == 503
    assert "The link could not be emailed" in page.errors[0]
    assert "Send the link again" in page.buttons


# -- Sessions -----------------------------------------------------------------------------------


def test_an_admin_sees_last_sign_in_and_ends_one_session_or_all(cast, staff):
    pat = staff["pat"]
    first = cast["pat"]
    second = cast.new_web()
    second.sign_in("pat")
    web = cast["ada"]
    page = person_page(web, pat)
    assert "Last signed in Never" not in page.text  # a time
    sessions = list(UserSession.select().where(UserSession.user == pat.id).order_by(UserSession.id))
    assert page.buttons.count("End all their sessions") == 1
    web.post(f"/admin/people/{pat.id}/sessions/end", {"session_id": sessions[0].id})
    assert signed_out(first) and not signed_out(second)
    web.post(f"/admin/people/{pat.id}/sessions/end", {})
    assert signed_out(second)
    assert [e.details["sessions_ended"] for e in events("user", pat.id, "end_sessions")] == [1, 1]
    assert "Not signed in anywhere." in person_page(web, pat).text


# -- The list -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_people_list_filters_by_team_role_and_status_and_pages(cast, staff, people):
    for n in range(30):
        people.add(f"p{n:02d}", "practitioner", team="Adults East")
    web = cast["ada"]
    first = Page.of(web.get("/admin/people"))
    assert "35 people" in first.text
    team = staff["pat"].team
    north = Page.of(web.get(f"/admin/people?team={team.id}"))
    assert "3 people" in north.text  # lina, pat, the kiosk
    managers = Page.of(web.get("/admin/people?role=line_manager"))
    assert "1 person" in managers.text and "Lina Tester" in managers.text
    User.update(active=False).where(User.username == "p00").execute()
    assert "1 person" in Page.of(web.get("/admin/people?status=disabled")).text
    east = Page.of(web.get(f"/admin/people?team={people.team('Adults East').id}&page=2"))
    assert "P28 Tester" not in east.text or "P29 Tester" in east.text  # the second page
    bad = web.client.get("/admin/people?status=nonsense")
    assert bad.status_code == 422


@pytest.mark.postgres
def test_searching_for_a_name_posts_it_and_never_puts_it_in_the_url(cast, staff):
    web = cast["ada"]
    web.get("/admin/people")
    response = web.post("/admin/people", {"q": "lina"})
    page = Page.of(response)
    assert response.status_code == 200 and "1 person found" in page.text
    assert "Lina Tester" in page.text and "Pat Tester" not in page.text
    by_number = Page.of(web.post("/admin/people", {"q": staff["pat"].staff_number}))
    assert "Pat Tester" in by_number.text
    # The page's own links never carry the term.
    assert "lina" not in "".join(Page.of(response).form_actions)


def test_admin_pages_json_logs_carry_no_names(cast, staff, caplog):
    web = cast["ada"]
    web.get("/admin/people")
    with caplog.at_level(logging.INFO):
        web.post("/admin/people", {"q": "Tester"})
    assert "Tester" not in caplog.text
