"""Accounts in the browser (issue 12), with axe on each page: an administrator adds a person
and gives them a temporary password, which they must change at sign-in; an administrator
disables someone holding papers and hands the papers to their manager; a person changes
their password and their other browser is signed out; signing in through the council's
OpenID Connect provider (a real provider process on loopback).

These tests add their own people (and a team of their own), so the demo staff the other
browser tests use stay as they were."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
import requests
from playwright.sync_api import expect
from werkzeug.serving import make_server

from demo.accounts import seed_demo
from machines import clock
from models import create_schema
from models.base import db
from models.people import User
from models.records import Record, Removal
from services.accounts import add_user
from tests.conftest import close_database
from tests.e2e.conftest import check_accessibility, screenshot, sign_in

GOOD_PASSWORD = "sturdy-kettle-lantern-42"
THEIR_PASSWORD = "copper-meadow-violin-7"


def new_context(browser, base_url):
    return browser.new_context(
        base_url=base_url, bypass_csp=True, viewport={"width": 1366, "height": 768}
    )


def test_an_admin_adds_a_person_resets_their_password_and_they_must_change_it(browser, base_url):
    admin = new_context(browser, base_url).new_page()
    sign_in(admin, "admin")
    admin.get_by_role("link", name="Accounts").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("People")
    check_accessibility(admin)
    admin.get_by_role("button", name="Add a person").click()
    check_accessibility(admin)
    admin.get_by_label("Username").fill("jbloggs")
    admin.get_by_label("Full name").fill("Jo Bloggs")
    admin.get_by_label("Staff number").fill("30101")
    admin.get_by_label("Work email address (optional)").fill("jo.bloggs@council.example")
    admin.get_by_role("combobox", name="Team").select_option(label="Children North")
    admin.get_by_role("combobox", name="Line manager").select_option(label="Lina Okafor (10001)")
    admin.get_by_role("checkbox", name="Practitioner").check()
    admin.get_by_role("combobox", name="Profession").select_option(label="Social worker")
    admin.get_by_role("button", name="Add person").click()
    expect(admin.locator(".govuk-notification-banner")).to_contain_text("The account was created")
    check_accessibility(admin)
    admin.get_by_role("button", name="Reset password").click()
    check_accessibility(admin)
    admin.get_by_label("Give them a temporary password").check()
    admin.get_by_role("button", name="Reset password").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Temporary password for Jo Bloggs")
    check_accessibility(admin)
    temporary = admin.locator("#temporary-password").inner_text().strip()
    screenshot(admin, "accounts-temporary-password")

    jo = new_context(browser, base_url).new_page()
    sign_in(jo, "jbloggs", temporary)
    expect(jo.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    check_accessibility(jo)
    # Anywhere else waits for the new password.
    jo.goto("/records")
    expect(jo.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    jo.get_by_label("New password", exact=True).fill("Liverpool2026!")
    jo.get_by_label("New password again").fill("Liverpool2026!")
    jo.get_by_role("button", name="Save and continue").click()
    expect(jo.locator(".govuk-error-summary")).to_contain_text("known from data breaches")
    check_accessibility(jo)
    jo.get_by_label("New password", exact=True).fill(GOOD_PASSWORD)
    jo.get_by_label("New password again").fill(GOOD_PASSWORD)
    jo.get_by_role("button", name="Save and continue").click()
    expect(jo.get_by_role("heading", level=1)).to_contain_text("Jo Bloggs")
    check_accessibility(jo)
    assert not User.by_username("jbloggs").must_change_password


def _take_papers_out(page, record: Record) -> None:
    page.goto(f"/records/{record.id}")
    page.get_by_role("button", name="Take papers out of the office").click()
    page.get_by_label("Court").check()
    page.get_by_label("Which papers are you taking?").fill("Court bundle")
    page.get_by_label("Returned to the office").check()
    due = clock.uk_today() + dt.timedelta(days=3)
    page.get_by_label("Day").fill(str(due.day))
    page.get_by_label("Month").fill(str(due.month))
    page.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Continue").click()
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator("#status")).to_contain_text("Out of the office")


def test_an_admin_disables_a_holder_of_papers_and_hands_them_to_the_manager(browser, base_url):
    kim = add_user("kimf", "Kim Fostering", "30201", "Fostering", ["line_manager"], None,
                   THEIR_PASSWORD)  # fmt: skip
    sol_user = add_user("solf", "Sol Fostering", "30202", "Fostering", ["practitioner"], "kimf",
                        THEIR_PASSWORD)  # fmt: skip
    # Trained this year, as the learning system would say: only then may Sol take papers out
    User.update(trained_on=clock.uk_today()).where(User.id == sol_user.id).execute()
    record = Record.create(
        case_id="8880001", description="Fostering panel papers", team=kim.team_id, created_by=kim
    )
    sol = new_context(browser, base_url).new_page()
    sign_in(sol, "solf", THEIR_PASSWORD)
    _take_papers_out(sol, record)

    admin = new_context(browser, base_url).new_page()
    sign_in(admin, "admin")
    admin.goto("/admin/people")
    admin.get_by_label("Find a person").fill("Sol")
    admin.get_by_role("button", name="Search").click()
    check_accessibility(admin)
    admin.get_by_role("link", name="Sol Fostering").click()
    admin.get_by_role("button", name="Disable account").click()
    expect(admin.locator('[data-duty="holder"]')).to_contain_text("Fostering panel papers")
    expect(admin.get_by_label("Who takes it over?")).to_have_value(str(kim.id))
    check_accessibility(admin)
    screenshot(admin, "accounts-hand-over")
    admin.get_by_role("button", name="Hand over and disable").click()
    expect(admin.locator(".govuk-notification-banner")).to_contain_text("disabled")
    check_accessibility(admin)
    assert Removal.get(Removal.record == record).for_user_id == kim.id
    # Sol is signed out; Kim now holds the papers.
    sol.reload()
    expect(sol.get_by_role("heading", level=1)).to_have_text("Sign in to Safekeep")
    kim_page = new_context(browser, base_url).new_page()
    sign_in(kim_page, "kimf", THEIR_PASSWORD)
    expect(kim_page.get_by_role("main")).to_contain_text("Fostering panel papers")


def test_changing_your_password_signs_your_other_browser_out(browser, base_url):
    add_user("valp", "Val Porter", "30301", "Children North", ["practitioner"], "lina",
             THEIR_PASSWORD)  # fmt: skip
    laptop = new_context(browser, base_url).new_page()
    phone = new_context(browser, base_url).new_page()
    sign_in(laptop, "valp", THEIR_PASSWORD)
    sign_in(phone, "valp", THEIR_PASSWORD)
    laptop.get_by_role("link", name="Your account").click()
    expect(laptop.locator("#sessions")).to_contain_text("This browser")
    check_accessibility(laptop)
    laptop.get_by_role("link", name="Change your password").click()
    check_accessibility(laptop)
    laptop.get_by_label("Current password").fill(THEIR_PASSWORD)
    laptop.get_by_label("New password", exact=True).fill(GOOD_PASSWORD)
    laptop.get_by_label("New password again").fill(GOOD_PASSWORD)
    laptop.get_by_role("button", name="Save new password").click()
    expect(laptop.locator(".govuk-notification-banner")).to_contain_text(
        "You were signed out everywhere else"
    )
    check_accessibility(laptop)
    phone.reload()
    expect(phone.locator(".govuk-notification-banner")).to_contain_text(
        "the password of your account was changed"
    )
    check_accessibility(phone)
    laptop.reload()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Your account")


# -- Single sign-on -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory, provider):
    """Safekeep with single sign-on configured, on its own port (the provider sends the
    browser back to its public address, so the address is known before the app is made)."""
    from app import create_app

    # One process, one database proxy: this app rebinds it while its test runs, and the
    # demo app's database is bound back afterwards.
    previous = db.obj
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    path = tmp_path_factory.mktemp("sso") / "safekeep.db"
    app = create_app(
        {
            "SECRET_KEY": "e2e-sso-secret",
            "SQLITE_PATH": str(path),
            "AUDIT_HMAC_KEY": "e2e-audit-key",
            "AUDIT_CHECKPOINT_FILE": str(path.parent / "audit-checkpoints.jsonl"),
            "OIDC_ISSUER": provider,
            "OIDC_CLIENT_ID": "safekeep-e2e",
            "OIDC_CLIENT_SECRET": "e2e-client-secret",
            "REMINDER_BASE_URL": base,
        }
    )
    with app.app_context():
        db.connect(reuse_if_open=True)
        create_schema()
        seed_demo()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    close_database()
    db.initialize(previous)


def test_sign_in_through_the_councils_openid_connect_provider(browser, sso_server, provider):
    base = sso_server
    requests.put(f"{provider}/users/pat-e2e", json={"email": "pat@council.example"}, timeout=10)
    requests.put(f"{provider}/users/new-e2e", json={"email": "new@council.example"}, timeout=10)
    page = new_context(browser, base).new_page()
    page.goto("/sign-in")
    check_accessibility(page)
    page.get_by_role("button", name="Sign in with your council account").click()
    # The provider's own sign-in page (not ours: no axe here).
    page.locator("input[name=sub]").fill("pat-e2e")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pat Reyes")
    check_accessibility(page)
    screenshot(page, "accounts-sso-signed-in")

    stranger = new_context(browser, base).new_page()
    stranger.goto("/sign-in")
    stranger.get_by_role("button", name="Sign in with your council account").click()
    stranger.locator("input[name=sub]").fill("new-e2e")
    stranger.get_by_role("button", name="Authorize").click()
    expect(stranger.get_by_role("heading", level=1)).to_have_text("You cannot sign in yet")
    check_accessibility(stranger)


def test_every_other_administration_and_account_page_passes_axe(browser, base_url, tmp_path):
    lina = User.by_username("lina")
    admin = new_context(browser, base_url).new_page()
    sign_in(admin, "admin")
    for path in (
        "/admin/teams",
        f"/admin/teams/{lina.team_id}/rename",
        f"/admin/teams/{lina.team_id}/retire",
        f"/admin/people/{lina.id}/edit",
        f"/admin/people/{lina.id}",
        "/admin/import",
        "/account",
        "/account/password",
        "/account/pin",
    ):
        admin.goto(path)
        check_accessibility(admin)
    # Errors, and a file's preview with an error in one row.
    admin.goto("/admin/teams")
    admin.get_by_role("button", name="Add team").click()
    expect(admin.locator(".govuk-error-summary")).to_contain_text("Enter the team's name")
    check_accessibility(admin)
    csv = tmp_path / "people.csv"
    csv.write_text(
        "username,full_name,staff_number,email,team,line_manager,roles,profession\n"
        "newperson,New Person,40001,,Children North,lina,practitioner,\n"
        "lina,Someone Else,40002,,Children North,,wizard,\n"
    )
    admin.goto("/admin/import")
    admin.get_by_role("radio", name="People").check()
    admin.get_by_label("CSV file").set_input_files(str(csv))
    admin.get_by_role("button", name="Check the file").click()
    expect(admin.locator(".govuk-error-summary")).to_contain_text("Row 3:")
    check_accessibility(admin)
    screenshot(admin, "accounts-import-preview")
    # Moving Lina (who manages people) shows the hand-over on the edit form itself.
    admin.goto(f"/admin/people/{lina.id}/edit")
    admin.get_by_role("combobox", name="Team").select_option(label="Adults East")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("heading", name="What Lina Okafor still holds")).to_be_visible()
    check_accessibility(admin)
