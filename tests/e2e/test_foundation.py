"""A person signs in and out; every page passes axe-core; it works without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import check_accessibility, check_axe, screenshot, sign_in


def test_sign_in_home_and_sign_out(page):
    sign_in(page, "pat", via_form=True)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pat Reyes")
    expect(page.locator("body")).to_contain_text("Practitioner")
    expect(page.locator(".govuk-generic-header")).to_contain_text("Example London Borough")
    font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert font.lower().startswith("arial")
    check_accessibility(page)
    screenshot(page, "home")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    check_accessibility(page)
    page.goto("/")
    assert "/sign-in" in page.url


def test_wrong_password_shows_an_error_summary_that_passes_axe(page):
    sign_in(page, "pat", "not-the-password")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a correct username and password")
    expect(summary).to_be_focused()
    check_accessibility(page)
    screenshot(page, "sign-in-error")


def test_not_found_page_passes_axe(page):
    sign_in(page, "lina")
    page.goto("/nowhere")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_accessibility(page)


def test_sign_in_works_with_javascript_off(browser, base_url):
    context = browser.new_context(java_script_enabled=False, base_url=base_url, bypass_csp=True)
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Username").fill("lina")
    page.get_by_label("Password").fill("safekeep-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lina Okafor")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    context.close()


def test_the_accessibility_check_fails_a_page_with_a_violation_and_names_the_element(page):
    """The check answers "any violations?" the quick way, then names the elements: a page
    with an unlabelled field and a link without text fails, with both named."""
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>'
        '<h1>Bad</h1><input id="nameless"><a href="/x" id="empty-link"></a></main></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        check_accessibility(page)
    assert "label" in str(failure.value) and "#nameless" in str(failure.value)
    assert "link-name" in str(failure.value) and "#empty-link" in str(failure.value)


def test_colour_contrast_is_checked_wherever_text_sits_somewhere_new(page):
    """Contrast runs only on text in a setting (its element and what it sits in) no page has
    shown before: faint text in a new setting still fails, beside text already checked."""
    page_with = (
        '<!doctype html><html lang="en"><head><title>Contrast</title>'
        "<style>.faint { color: #d8d8d8 }</style></head><body><main><h1>Contrast</h1>"
        '<p class="app-readable">Readable</p>MORE</main></body></html>'
    )
    page.set_content(page_with.replace("MORE", ""))
    check_axe(page)
    page.set_content(page_with.replace("MORE", '<p class="faint">Faint</p>'))
    with pytest.raises(AssertionError) as failure:
        check_axe(page)
    assert "color-contrast" in str(failure.value) and ".faint" in str(failure.value)
