"""Training in date where the risk is, in the browser: a practitioner whose data protection
training lapsed is told why they cannot take papers out; their line manager allows one
removal with a reason; the practitioner takes the papers out."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from machines import clock
from models.people import User
from models.records import Record, Removal
from tests.e2e.conftest import check_accessibility, screenshot, sign_in


def _context(browser, base_url):
    return browser.new_context(
        base_url=base_url, bypass_csp=True, viewport={"width": 1366, "height": 768}
    )


def test_a_lapsed_practitioner_takes_papers_out_once_their_manager_allows_it(browser, base_url):
    # The demo's Alex: training lapsed 35 days ago; Mo is his line manager.
    alex = User.by_username("alex")
    record = Record.create(
        case_id="5550404", description="Final hearing bundle", team=alex.team_id, created_by=alex
    )
    Removal.create(
        record=record,
        team=alex.team_id,
        state="approved_for_removal",
        for_user=alex,
        requested_by=alex,
        purpose="court",
        papers="Final hearing bundle",
        due_on=clock.uk_today() + dt.timedelta(days=2),
        requested_at=clock.now(),
    )
    alex_context = _context(browser, base_url)
    page = alex_context.new_page()
    sign_in(page, "alex")
    page.goto(f"/records/{record.id}")
    warning = page.locator("#status #training-warning")
    expect(warning).to_contain_text("Your data protection training lapsed on")
    expect(warning).to_contain_text("Ask your line manager, Mo Adeyemi,")
    expect(page.get_by_role("button", name="Take out")).to_have_count(0)
    check_accessibility(page)
    screenshot(page, "training-lapsed-holder")

    mo_context = _context(browser, base_url)
    mo = mo_context.new_page()
    sign_in(mo, "mo")
    mo.get_by_role("link", name="Allow one removal by Alex").click()
    check_accessibility(mo)
    mo.get_by_label("Why should this removal go ahead?").fill("Final hearing tomorrow morning")
    mo.get_by_role("button", name="Allow one removal").click()
    expect(mo.locator(".govuk-notification-banner")).to_contain_text("One removal was allowed")
    expect(mo.locator("#reports-training")).to_contain_text("One removal allowed")
    check_accessibility(mo)
    screenshot(mo, "training-exception-allowed")
    mo_context.close()

    page.reload()
    expect(page.locator("#status #training-warning")).to_contain_text(
        "Your line manager has allowed you to take papers out once."
    )
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator("#status")).to_contain_text("Out of the office")
    check_accessibility(page)
    alex_context.close()
