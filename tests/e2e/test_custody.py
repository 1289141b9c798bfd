"""Record custody in the browser: request, approve in a second context, take out, return."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from machines import clock
from models.people import User
from models.records import Record, Removal
from tests.e2e.conftest import check_accessibility, confirm, screenshot, sign_in


def _new_record(description: str) -> Record:
    pat = User.by_username("pat")
    return Record.create(
        case_id="5550101", description=description, team=pat.team_id, created_by=pat
    )


def _fill_request(page, purpose_label: str, reason: str | None = None, axe: bool = True) -> None:
    page.get_by_role("button", name="Take papers out of the office").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take papers out of the office")
    if axe:  # axe-core is a script: it cannot run in the JavaScript-off journey
        check_accessibility(page)
    page.get_by_label(purpose_label).check()
    if reason:
        page.get_by_label("Why do the papers need to leave the office?").fill(reason)
    page.get_by_label("Which papers are you taking?").fill("Chronology and assessment")
    page.get_by_label("Returned to the office").check()
    due = clock.uk_today() + dt.timedelta(days=3)
    page.get_by_label("Day").fill(str(due.day))
    page.get_by_label("Month").fill(str(due.month))
    page.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Continue").click()


def _take_out(page) -> None:
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Take out").click()


def test_other_purpose_is_approved_by_the_manager_then_out_and_back(browser, base_url):
    record = _new_record("Home visit notes, 2026")
    pat_context = browser.new_context(
        base_url=base_url, bypass_csp=True, viewport={"width": 1366, "height": 768}
    )
    pat = pat_context.new_page()
    sign_in(pat, "pat")
    pat.goto(f"/records/{record.id}")
    check_accessibility(pat)
    _fill_request(pat, "Something else", "Writing the assessment at home")
    expect(pat.locator("#status")).to_contain_text("Awaiting approval")
    check_accessibility(pat)

    lina_context = browser.new_context(base_url=base_url, bypass_csp=True)
    lina = lina_context.new_page()
    sign_in(lina, "lina")
    lina.get_by_role("link", name="Approvals").click()
    check_accessibility(lina)
    lina.get_by_role("link", name="Home visit notes, 2026").click()
    lina.get_by_role("button", name="Approve").click()
    expect(lina.locator("#status")).to_contain_text("Approved to take out")
    running_record = lina.get_by_label("Copy this into the case's running record")
    assert "Agreed by Lina Okafor" in running_record.input_value()
    check_accessibility(lina)
    screenshot(lina, "custody-approved")
    lina_context.close()

    pat.reload()
    # Without every safeguard the papers cannot go out.
    pat.get_by_label("lockable bag").check()
    pat.get_by_role("button", name="Take out").click()
    expect(pat.locator("#status .govuk-error-summary")).to_contain_text("USB memory stick")
    check_accessibility(pat)
    screenshot(pat, "custody-take-out-refused")
    _take_out(pat)
    expect(pat.locator("#status")).to_contain_text("Out of the office")
    pat.get_by_role("button", name="Return papers").click()
    confirm(pat, "Return papers")
    expect(pat.locator("#status")).to_contain_text("In the office")
    expect(pat.locator(".app-timeline")).to_contain_text("Papers returned to the office")
    check_accessibility(pat)
    screenshot(pat, "custody-returned")
    pat_context.close()


def test_court_removal_needs_no_approval(page):
    record = _new_record("Court bundle, volume 1")
    sign_in(page, "pat")
    page.goto(f"/records/{record.id}")
    _fill_request(page, "Court")
    expect(page.locator("#status")).to_contain_text("Approved to take out")
    _take_out(page)
    expect(page.locator("#status")).to_contain_text("Out of the office")
    page.goto("/")
    expect(page.locator("main")).to_contain_text("Court bundle, volume 1")
    check_accessibility(page)
    screenshot(page, "home-with-removals")


def test_the_same_journey_works_without_javascript(browser, base_url):
    record = _new_record("Conference minutes")
    context = browser.new_context(base_url=base_url, java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    sign_in(page, "pat", javascript=False, via_form=True)
    page.goto(f"/records/{record.id}")
    _fill_request(page, "Something else", "Case supervision off site", axe=False)
    expect(page.locator("#status")).to_contain_text("Awaiting approval")
    manager_context = browser.new_context(base_url=base_url, java_script_enabled=False)
    manager = manager_context.new_page()
    sign_in(manager, "lina", javascript=False)
    manager.goto(f"/records/{record.id}")
    manager.get_by_role("button", name="Approve").click()
    expect(manager.locator("#status")).to_contain_text("Approved to take out")
    manager_context.close()
    page.reload()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("lockable bag")
    _take_out(page)
    expect(page.locator("#status")).to_contain_text("Out of the office")
    page.get_by_role("button", name="Return papers").click()
    confirm(page, "Return papers", axe=False)
    expect(page.locator("#status")).to_contain_text("In the office")
    context.close()


def test_after_taking_out_a_next_steps_form_opens_and_is_sent_by_keyboard(browser, base_url):
    record = _new_record("Contact notes, 2026")
    context = browser.new_context(
        base_url=base_url, bypass_csp=True, viewport={"width": 1366, "height": 768}
    )
    pat = context.new_page()
    sign_in(pat, "pat")
    pat.goto(f"/records/{record.id}")
    _fill_request(pat, "Court", axe=False)
    _take_out(pat)
    status = pat.locator("#status")
    expect(status).to_contain_text("Out of the office")
    screenshot(pat, "custody-taken-out")
    # The next steps' forms come when their details is opened: Enter on the summary, and the
    # next Tab goes into the form that arrived.
    ask = status.locator("details", has_text="Ask for more time")
    ask.locator("summary").focus()
    pat.keyboard.press("Enter")
    expect(ask.get_by_label("Why is more time needed?")).to_be_visible()
    check_accessibility(pat)
    screenshot(pat, "custody-ask-for-more-time-opened")
    pat.keyboard.press("Tab")
    expect(ask.get_by_label("Day")).to_be_focused()
    later = clock.uk_today() + dt.timedelta(days=10)
    for typed in (str(later.day), str(later.month), str(later.year)):
        pat.keyboard.type(typed)
        pat.keyboard.press("Tab")
    pat.keyboard.type("The hearing was adjourned")
    pat.keyboard.press("Tab")
    pat.keyboard.press("Enter")
    expect(status).to_contain_text("More time asked for")
    expect(status).to_contain_text("The hearing was adjourned")

    # Someone else brings the papers back meanwhile: a step opened on the stale panel says its
    # form cannot be shown and how to see where things are, rather than showing nothing.
    removal = Removal.get(Removal.record == record)
    Removal.update(state="returned", version=Removal.version + 1).where(
        Removal.id == removal.id
    ).execute()
    lost = status.locator("details", has_text="Report the papers lost or stolen")
    lost.locator("summary").click()
    expect(lost).to_contain_text("This form could not be shown here. Reload the page")
    expect(lost.locator("form")).to_have_count(0)
    context.close()
