"""Accessibility beyond axe: the accessibility statement is there for everyone. (Every page
the other browser tests visit is checked for the statement link too:
conftest.check_accessibility.)"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import check_accessibility, screenshot

SCREEN = {"width": 1366, "height": 768}
SUFFIX = " – Safekeep – Example London Borough"


def _context(browser, base_url, **kwargs):
    return browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN, **kwargs)


# -- 4. the accessibility statement ---------------------------------------------------------


def test_the_statement_is_reachable_without_signing_in(browser, base_url):
    context = _context(browser, base_url)
    page = context.new_page()
    page.goto("/sign-in")
    page.locator("footer").get_by_role("link", name="Accessibility statement").click()
    expect(page).to_have_url(re.compile(r"/accessibility$"))
    expect(page).to_have_title("Accessibility statement" + SUFFIX)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Accessibility statement for Safekeep"
    )
    for heading in (
        "How accessible this service is",
        "Feedback and contact information",
        "Enforcement procedure",
        "Compliance status",
        "Non-accessible content",
        "Preparation of this accessibility statement",
    ):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "partially compliant with the Web Content Accessibility Guidelines version 2.2 AA"
    )
    check_accessibility(page)
    screenshot(page, "accessibility-statement")
    context.close()
