"""Secure sending in the browser: four eyes in two contexts, a refused special delivery, and
a misdirected dispatch that becomes a breach case on the register."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import check_accessibility, confirm, screenshot, sign_in

SCREEN = {"width": 1366, "height": 768}


def _context(browser, base_url):
    return browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN)


def _draft(page, method: str, address: str, description: str) -> None:
    page.get_by_role("link", name="Send documents").first.click()
    check_accessibility(page)
    page.get_by_role("button", name="Start a dispatch").click()
    check_accessibility(page)
    page.get_by_label("Case-system ID").fill("4455667")
    page.get_by_label("What are you sending?").fill(description)
    page.get_by_label(method).check()
    page.get_by_label("Recipient's organisation").fill("Cafcass")
    page.get_by_label("Recipient's role").fill("Children's guardian")
    page.get_by_label("Email address or postal address").fill(address)
    page.get_by_role("button", name="Save and ask for a check").click()
    expect(page.locator("#status")).to_contain_text("Status: Drafted")


def _check_by_colleague(browser, base_url, description: str) -> None:
    context = _context(browser, base_url)
    sam = context.new_page()
    sign_in(sam, "sam")
    sam.get_by_role("link", name="Send documents").first.click()
    waiting = sam.get_by_role("row").filter(has_text=description)
    waiting.first.get_by_role("link").click()  # "waiting for your check" comes first
    check_accessibility(sam)
    sam.get_by_label("Case record").check()
    sam.get_by_label("The address or email matches that source exactly").check()
    sam.get_by_label("The addressee is the right person").check()
    sam.get_by_label("The recipient has a right to this information").check()
    sam.get_by_label("Lawful basis or purpose for sharing").fill("Court direction to share")
    sam.get_by_role("button", name="Confirm the checks").click()
    expect(sam.locator("#status")).to_contain_text("Status: Checked")
    check_accessibility(sam)
    context.close()


def test_secure_email_checked_by_a_colleague_then_sent_and_delivered(browser, base_url):
    context = _context(browser, base_url)
    pat = context.new_page()
    sign_in(pat, "pat")
    _draft(pat, "Secure email", "guardian@cafcass.example.org", "Assessment for court")
    check_accessibility(pat)
    # The drafter is never offered the check: four eyes.
    expect(pat.get_by_role("button", name="Confirm the checks")).to_have_count(0)
    screenshot(pat, "dispatch-drafted")

    _check_by_colleague(browser, base_url, "Assessment for court")

    pat.reload()
    pat.get_by_label("The attachment is password protected").check()
    pat.get_by_role("button", name="Record as sent").click()
    expect(pat.locator("#status .govuk-error-summary")).to_contain_text(
        "Confirm the password is sent separately"
    )
    check_accessibility(pat)
    pat.get_by_label("The password goes by a separate channel").check()
    pat.get_by_role("button", name="Record as sent").click()
    expect(pat.locator("#status")).to_contain_text("Status: Sent")
    pat.get_by_label("The recipient acknowledged receipt").check()
    pat.get_by_role("button", name="Confirm delivery").click()
    expect(pat.locator("#status")).to_contain_text("Status: Delivered")
    check_accessibility(pat)
    screenshot(pat, "dispatch-delivered")
    context.close()


def test_special_delivery_without_a_tracking_reference_is_refused(browser, base_url):
    context = _context(browser, base_url)
    pat = context.new_page()
    sign_in(pat, "pat")
    _draft(pat, "Special delivery post", "Cafcass, 1 High Street, Exampletown", "Court bundle")
    _check_by_colleague(browser, base_url, "Court bundle")
    pat.reload()
    pat.get_by_role("button", name="Record as sent").click()
    expect(pat.locator("#status .govuk-error-summary")).to_contain_text(
        "Enter the special delivery tracking reference"
    )
    expect(pat.locator("#status")).to_contain_text("Status: Checked")
    check_accessibility(pat)
    screenshot(pat, "dispatch-tracking-refused")
    pat.get_by_label("Special delivery tracking reference").fill("ab 1234 5678 9gb")
    pat.get_by_role("button", name="Record as sent").click()
    expect(pat.locator("#status")).to_contain_text("tracking AB123456789GB")
    context.close()


def test_a_misdirected_dispatch_opens_a_breach_case_on_the_register(browser, base_url):
    context = _context(browser, base_url)
    pat = context.new_page()
    sign_in(pat, "pat")
    _draft(pat, "Secure email", "guardian@cafcass.example.org", "Letter before proceedings")
    _check_by_colleague(browser, base_url, "Letter before proceedings")
    pat.reload()
    pat.get_by_label("The attachment is password protected").check()
    pat.get_by_label("The password goes by a separate channel").check()
    pat.get_by_role("button", name="Record as sent").click()
    expect(pat.locator("#status")).to_contain_text("Status: Sent")

    pat.get_by_text("It went to the wrong recipient").click()
    pat.get_by_label("What happened?").fill("The guardian says it reached a colleague instead")
    status = pat.locator("#status")
    status.get_by_role("group", name="Do they concern children or vulnerable adults?").get_by_label(
        "Yes"
    ).check()
    status.get_by_role("group", name=re.compile("special category data")).get_by_label(
        "Not known yet"
    ).check()
    pat.get_by_role("button", name="Report as sent to the wrong recipient").click()
    confirm(pat, "Report as sent to the wrong recipient")
    expect(pat.locator("#status")).to_contain_text("Status: Misdirected")
    breach_link = pat.locator("#status").get_by_role("link", name="BR-")
    reference = breach_link.inner_text()
    check_accessibility(pat)
    breach_link.click()
    expect(pat.get_by_role("heading", level=1)).to_contain_text(reference)
    check_accessibility(pat)
    context.close()

    governance = _context(browser, base_url)
    gov = governance.new_page()
    sign_in(gov, "gov")
    gov.get_by_role("link", name="Register").click()
    row = gov.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Sent to the wrong recipient")
    check_accessibility(gov)
    screenshot(gov, "register-with-misdirection")
    governance.close()


def test_a_confirmation_page_starts_the_focus_at_its_question(browser, base_url):
    """After a whole page comes back, the focus is where the person's next step is: the
    question, with the confirm button the next Tab (it was 11 Tabs away, from the top)."""
    context = _context(browser, base_url)
    pat = context.new_page()
    sign_in(pat, "pat")
    _draft(pat, "Secure email", "guardian@cafcass.example.org", "Letter to cancel")
    pat.get_by_role("button", name="Cancel this dispatch").click()
    question = pat.get_by_role("heading", level=1)
    expect(question).to_have_text("Cancel this dispatch?")
    expect(question).to_be_focused()
    pat.keyboard.press("Tab")
    expect(pat.locator("main form button[type=submit]")).to_be_focused()
    screenshot(pat, "dispatch-cancel-confirm-focus")
    context.close()
