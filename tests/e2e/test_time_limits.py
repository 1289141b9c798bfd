"""Time limits in the browser (WCAG 2.2.1): the kiosk keeps a person who is using it, warns
before it signs anyone out, and a staff session warns before it ends and keeps what was typed.

Time is moved, never waited for: `page.clock` fast-forwards the page's timers and
`machines.clock.travel` moves the live server's clock (it runs in this process) in step.
"""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from demo.accounts import DEMO_PASSWORD, DEMO_PIN
from machines import clock
from models.people import User
from models.records import Record, Removal
from tests.e2e.conftest import approved_for_pat, check_accessibility, screenshot, sign_in

VIEWPORT = {"width": 1366, "height": 768}


def _context(browser, base_url, **kwargs):
    return browser.new_context(base_url=base_url, bypass_csp=True, viewport=VIEWPORT, **kwargs)


def _both_clocks(page, seconds: float) -> None:
    """Move the server's clock, then the page's: the page's timers then see the server as
    it would be after that long."""
    clock.travel(dt.timedelta(seconds=seconds))
    page.clock.fast_forward(int(seconds * 1000))


def _kiosk_with(page, staff_number: str, javascript: bool = True) -> None:
    if javascript:
        sign_in(page, "kiosk-north")
    else:
        sign_in(page, "kiosk-north", javascript=False)
    page.get_by_label("Staff number").fill(staff_number)
    page.get_by_label("PIN").fill(DEMO_PIN)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    if javascript:
        page.wait_for_function("document.querySelector('#kiosk[data-idle-url]') !== null")


# -- Issue 15.1: the kiosk -----------------------------------------------------------------------


def test_ticking_a_safeguard_every_15_seconds_keeps_the_person_at_the_kiosk(browser, base_url):
    record = approved_for_pat("Kiosk slow safeguards bundle")
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    _kiosk_with(page, "10002")
    page.get_by_label("Scan the record's label").fill(record.label_code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiosk slow safeguards bundle")

    for text in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        _both_clocks(page, 15)
        with page.expect_response(re.compile(r"/kiosk/still-here$")) as kept:
            page.get_by_label(text).check()  # the person's input tells the server
        assert kept.value.status == 204
    _both_clocks(page, 12)  # about 72 s after the record was scanned
    expect(page.get_by_role("alertdialog")).to_be_hidden()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Papers taken out")
    assert Removal.get(Removal.record == record).state == "out"
    context.close()


def test_the_kiosk_asks_are_you_still_there_and_carries_on_by_keyboard(browser, base_url):
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    _kiosk_with(page, "10003")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Sam Patel")

    _both_clocks(page, 46)
    warning = page.get_by_role("alertdialog", name="Are you still there?")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("You will be signed out of the kiosk in 15 seconds")
    carry_on = warning.get_by_role("button", name="I'm still here")
    expect(carry_on).to_be_focused()
    check_accessibility(page)
    screenshot(page, "kiosk-still-there")

    with page.expect_response(re.compile(r"/kiosk/still-here$")) as kept:
        page.keyboard.press("Enter")
    assert kept.value.status == 204
    expect(warning).to_be_hidden()
    # A minute from the continue, not from the last key before the warning.
    _both_clocks(page, 40)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Sam Patel")
    _both_clocks(page, 21)
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "after 60 seconds without input"
    )
    expect(page.get_by_label("Staff number")).to_be_visible()
    context.close()


def test_without_javascript_the_kiosk_server_still_forgets_after_a_minute(browser, base_url):
    context = _context(browser, base_url, java_script_enabled=False)
    page = context.new_page()
    _kiosk_with(page, "10003", javascript=False)
    clock.travel(dt.timedelta(seconds=61))
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take out or return papers")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "after 60 seconds without input"
    )
    context.close()


# -- Issue 15.2: a staff session -----------------------------------------------------------------


def _start_request(page, record: Record) -> None:
    page.goto(f"/records/{record.id}/remove")
    page.get_by_label("Something else").check()
    page.get_by_label("Why do the papers need to leave the office?").fill("Assessment at home")
    page.get_by_label("Which papers are you taking?").fill("Chronology, volume 3")


def _new_record(description: str) -> Record:
    pat = User.by_username("pat")
    return Record.create(
        case_id="5550505", description=description, team=pat.team_id, created_by=pat
    )


def test_a_warning_before_the_session_ends_lets_the_person_stay_signed_in(browser, base_url):
    record = _new_record("Timeout warning bundle")
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "pat")
    _start_request(page, record)
    papers = page.get_by_label("Which papers are you taking?")

    _both_clocks(page, 28 * 60 + 1)  # two minutes before the 30-minute limit
    warning = page.get_by_role("alertdialog", name="You will be signed out soon")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("you will be signed out in 2 minutes if you do nothing")
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    check_accessibility(page)
    screenshot(page, "session-timeout-warning")

    with page.expect_response(lambda r: r.url.endswith("/session") and r.request.method == "POST"):
        page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    expect(papers).to_be_focused()  # back where the person was typing
    _both_clocks(page, 20 * 60)  # 48 minutes in all: still signed in, nothing lost
    expect(warning).to_be_hidden()
    expect(papers).to_have_value("Chronology, volume 3")
    page.get_by_label("Returned to the office").check()
    due = clock.uk_today() + dt.timedelta(days=3)
    page.get_by_label("Day").fill(str(due.day))
    page.get_by_label("Month").fill(str(due.month))
    page.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status")).to_contain_text("Awaiting approval")
    context.close()


def test_signed_out_by_the_limit_what_was_typed_comes_back_after_signing_in(browser, base_url):
    record = _new_record("Timeout keeps typing bundle")
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "pat")
    _start_request(page, record)

    _both_clocks(page, 30 * 60 + 5)  # nobody pressed "Stay signed in"
    expect(page).to_have_url(re.compile(r"/sign-in\?"))
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("You were signed out after 30 minutes without activity.")
    expect(banner).to_contain_text("What you had typed has been kept in this browser tab")
    check_accessibility(page)
    screenshot(page, "session-signed-out-kept")

    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/records/{record.id}/remove$"))
    expect(page.get_by_role("region", name="Important")).to_contain_text(
        "What you typed before you were signed out has been put back"
    )
    expect(page.get_by_label("Something else")).to_be_checked()
    expect(page.get_by_label("Why do the papers need to leave the office?")).to_have_value(
        "Assessment at home"
    )
    expect(page.get_by_label("Which papers are you taking?")).to_have_value("Chronology, volume 3")
    check_accessibility(page)
    # Kept in this tab only, and only once: a reload shows the empty form.
    page.reload()
    expect(page.get_by_label("Which papers are you taking?")).to_have_value("")
    context.close()


def test_without_javascript_the_sign_in_page_says_why_and_returns_to_the_form(browser, base_url):
    record = _new_record("Timeout without script bundle")
    context = _context(browser, base_url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "pat", javascript=False)
    page.goto(f"/records/{record.id}/remove")
    page.get_by_label("Which papers are you taking?").fill("Chronology")
    clock.travel(dt.timedelta(minutes=31))
    page.get_by_role("button", name="Continue").click()
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("You were signed out after 30 minutes without activity.")
    expect(banner).to_contain_text("Nothing you had not saved was kept.")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/records/{record.id}/remove$"))
    assert Removal.select().where(Removal.record == record).count() == 0
    context.close()
