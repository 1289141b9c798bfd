"""A form sent empty shows every error at once, in the page's order, in one error summary
(issue 15, item 7): the breach report and "report lost" used to show the date errors first
and the rest only after the dates were fixed."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import check_accessibility, screenshot, sign_in


def summary_items(page) -> list[str]:
    return [
        " ".join(t.split()) for t in page.locator(".govuk-error-summary__list li").all_inner_texts()
    ]


def test_an_empty_breach_report_lists_every_error_in_one_summary(page):
    sign_in(page, "sam")
    page.goto("/breaches/new")
    page.get_by_role("button", name="Report").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    assert summary_items(page) == [
        "Select what kind of breach it was",
        "Describe what happened",
        "Enter when it happened",
        "Enter when it was discovered",
        "Select the kinds of data involved, or 'Not yet known'",
        "Enter roughly how many people's data was involved",
        "Enter roughly how many records were involved",
    ]
    assert page.title().startswith("Error:")
    # Each message takes the person to its question.
    page.locator(".govuk-error-summary__list a", has_text="Describe what happened").click()
    expect(page.locator("#what_happened")).to_be_focused()
    check_accessibility(page)
    screenshot(page, "breach-report-every-error")
