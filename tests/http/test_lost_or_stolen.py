"""Papers reported lost or stolen: the form asks for the police either way (the procedure's
"Loss or theft: Police immediately"), and every page after says what was chosen."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from machines import clock
from tests.http.journeys import Page, date_fields
from tests.http.journeys.custody import papers_out, report_lost
from tests.http.test_confirmations import press_the_button


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    return {"lina": lina, "pat": people.add("pat", "practitioner", manager=lina)}


def banner(html: str) -> str:
    found = re.search(r'govuk-notification-banner__heading">([^<]*)<', html)
    return found.group(1).strip() if found else ""


def status_panel(html: str) -> str:
    """The words of the record page's "Where the papers are" panel."""
    section = re.search(r'<section id="status".*?</section>', html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", section).split())


def test_the_form_asks_for_the_police_for_a_loss_as_for_a_theft(web, staff):
    web.sign_in("pat")
    removal = papers_out(web, staff)
    text = Page.of(web.get(f"/records/{removal.record_id}")).text
    assert "If they were stolen" not in text
    assert "Tell the police now, whether the papers were lost or stolen" in text


@pytest.mark.parametrize("category, word", [("theft", "stolen"), ("loss", "lost")])
def test_the_confirmation_and_done_pages_say_what_was_chosen(web, staff, category, word):
    other = {"stolen": "lost", "lost": "stolen"}[word]
    web.sign_in("pat")
    removal = papers_out(web, staff)
    asked = report_lost(web, removal, category=category, confirmed="")
    page = Page.of(asked)
    assert asked.status_code == 200
    assert page.title.startswith(f"Report the papers {word}?")
    assert f"Report {word}" in page.buttons
    done = press_the_button(web, asked)
    assert done.status_code == 303
    html = web.get(done.headers["Location"]).get_data(as_text=True)
    assert banner(html) == f"Papers reported {word}"
    panel = status_panel(web.get(f"/records/{removal.record_id}").get_data(as_text=True))
    assert f"Papers reported {word}" in panel and f"reported {other}" not in panel


def test_the_htmx_answer_says_stolen_when_stolen_was_chosen(web, staff):
    web.sign_in("pat")
    removal = papers_out(web, staff)
    seen = clock.to_uk(clock.now() - dt.timedelta(hours=2))
    response = web.post(
        f"/removals/{removal.id}/report_lost",
        {
            "version": removal.version,
            "last_seen_where": "On the bus after court",
            **date_fields("last_seen_on", seen.date()),
            "last_seen_on-time": seen.strftime("%H:%M"),
            "category": "theft",
            "children_or_vulnerable": "not_known",
            "special_category": "not_known",
            "confirmed": "yes",
        },
        htmx=True,
    )
    assert response.status_code == 200
    assert banner(response.get_data(as_text=True)) == "Papers reported stolen"
