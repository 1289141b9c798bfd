"""The accessibility statement: public, linked from every page's footer, in the GOV.UK model
statement's form, naming the council from the configuration."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_app

SECTIONS = (
    "How accessible this service is",
    "Feedback and contact information",
    "Reporting accessibility problems with this service",
    "Enforcement procedure",
    "Technical information about this service's accessibility",
    "Compliance status",
    "Non-accessible content",
    "What we're doing to improve accessibility",
    "Preparation of this accessibility statement",
)


def _headings(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", html)
    ]


def test_the_statement_is_public_and_in_the_model_form(web):
    page = web.get("/accessibility")  # not signed in
    html = page.get_data(as_text=True)
    headings = _headings(html)
    assert headings[0] == "Accessibility statement for Safekeep"
    for section in SECTIONS:
        assert section in headings, section
    assert "<title>Accessibility statement – Safekeep – Example London Borough</title>" in html
    assert "Web Content Accessibility Guidelines version 2.2</a> AA standard" in html
    assert "Equality and Human Rights Commission (EHRC)" in html
    assert "Equality Advisory and Support Service" in html
    assert 'href="mailto:accessibility@example.org"' in html
    assert "This statement was prepared on" in html
    # The sign-in page links to it too: people read it before they have an account.
    sign_in = web.client.get("/sign-in").get_data(as_text=True)
    assert 'href="/accessibility">Accessibility statement</a>' in sign_in


@pytest.fixture
def other_council(tmp_path, request):
    from tests.conftest import close_database

    app = make_app(
        "sqlite",
        tmp_path,
        request,
        COUNCIL_NAME="London Borough of Example Vale",
        ACCESSIBILITY_EMAIL="access@examplevale.example",
    )
    yield app
    close_database()


def test_the_council_and_contact_come_from_the_configuration(other_council):
    html = other_council.test_client().get("/accessibility").get_data(as_text=True)
    assert "This service is run by London Borough of Example Vale." in html
    assert "London Borough of Example Vale is committed to making" in html
    assert 'href="mailto:access@examplevale.example"' in html
    assert "Example London Borough" not in html


def test_signed_in_staff_and_the_kiosk_reach_it_from_the_footer(web, new_web, people):
    people.add("pat", "practitioner")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    web.sign_in("pat")
    html = web.get("/").get_data(as_text=True)
    assert 'href="/accessibility">Accessibility statement</a>' in html
    page = web.get("/accessibility").get_data(as_text=True)
    assert ">Sign out</button>" in page  # the staff frame

    kiosk = new_web()
    kiosk.sign_in("kiosk-north")
    page = kiosk.get("/accessibility").get_data(as_text=True)
    assert "Accessibility statement for Safekeep" in page
    # The kiosk PC's frame: a way back, and no "Sign out" for whoever walks up next.
    assert "Go back to the kiosk screen" in page
    assert ">Sign out</button>" not in page
    kiosk_screen = kiosk.get("/kiosk/").get_data(as_text=True)
    assert 'href="/accessibility">Accessibility statement</a>' in kiosk_screen


def test_the_statement_says_what_the_code_knows_and_no_more(web):
    """Its facts come from views/accessibility.py: compliance follows the known issues, each
    is listed with its criterion, and each is shown by a browser test (tests/e2e/
    test_known_issues.py) that passes once it is fixed, so a fixed issue cannot stay listed
    and an issue cannot be listed without a test."""
    from html import unescape
    from pathlib import Path

    from views.accessibility import KNOWN_ISSUES, TEST_METHOD, TESTED_IN

    html = web.get("/accessibility").get_data(as_text=True)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    compliance = "partially compliant" if KNOWN_ISSUES else "fully compliant"
    assert f"This service is {compliance} with the" in text
    for issue in KNOWN_ISSUES:
        assert f"{issue.what} This fails WCAG 2.2 success criterion {issue.criterion}." in text
    assert f"last tested in {TESTED_IN}, by {TEST_METHOD}." in text
    tests = (Path(__file__).parents[1] / "e2e" / "test_known_issues.py").read_text()
    shown = set(re.findall(r'@known_issue\("([a-z-]+)"\)', tests))
    assert shown == {issue.key for issue in KNOWN_ISSUES}
