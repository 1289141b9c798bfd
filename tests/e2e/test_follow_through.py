"""The ICO's follow-through and the actions that prevent the next breach, in the browser: the
demo's case referred to the ICO cannot close until its follow-up report is answered, the
action's owner has recorded it done and the ICO's outcome is on record; then it closes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from machines import clock
from models.breaches import Breach
from tests.e2e.conftest import check_accessibility, confirm, screenshot, sign_in

SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.travel_reset()
    yield
    clock.travel_reset()


def _person(browser, base_url, username: str):
    context = browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN)
    page = context.new_page()
    sign_in(page, username)
    return context, page


def _fill_today(scope, legend: str) -> None:
    today = clock.uk_today()
    group = scope.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(today.day))
    group.get_by_label("Month").fill(str(today.month))
    group.get_by_label("Year").fill(str(today.year))


@pytest.fixture
def referred_case(live_app) -> Breach:
    """The demo's follow-through (make run's): a referred case with its follow-up report due
    and Lina's action open, and one closed; the browser tests' council has accounts only."""
    from demo.activity import _breach_step, _send, _told_everyone
    from demo.follow_through import seed_follow_through
    from models.people import User

    with live_app.app_context():
        people = {user.username: user for user in User.select()}
        seed_follow_through(people, clock.now(), _send, _breach_step, _told_everyone)
        return Breach.get(Breach.ico_reference == "IC-204518-K7Q2")


def test_a_referred_case_closes_once_the_ico_is_answered_the_action_done_and_the_outcome_in(
    browser, base_url, referred_case
):
    case = referred_case
    rita_context, rita = _person(browser, base_url, "rita")
    owed = rita.locator("#ico-owed")
    expect(owed).to_contain_text("Follow-up report")
    owed.get_by_role("link", name=case.reference).click()
    check_accessibility(rita)
    rita.get_by_label("What did the council tell the ICO?").fill(
        "The papers were handed in sealed: the depot confirmed no one opened the bag."
    )
    _fill_today(rita, "When was it sent?")
    rita.get_by_role("button", name="Record the answer sent").click()
    confirm(rita, "Record the answer sent")
    expect(rita.locator("#status-heading")).to_contain_text("Answered")

    rita.goto(f"/breaches/{case.id}")
    check_accessibility(rita)
    expect(rita.get_by_role("button", name="Close the case")).to_have_count(0)
    expect(rita.locator("#close-blockers").first).to_contain_text(
        "the ICO's outcome is not recorded and 1 action to prevent the next breach"
    )

    lina_context, lina = _person(browser, base_url, "lina")
    lina.locator("#your-actions").get_by_role("link").first.click()
    check_accessibility(lina)
    lina.get_by_label("What shows it was done?").fill("Twelve lockable bags issued, order 4471.")
    lina.get_by_role("button", name="Record it done").click()
    expect(lina.locator("#status-heading")).to_contain_text("Done")
    check_accessibility(lina)
    lina_context.close()

    rita.reload()
    outcome = rita.locator("form", has=rita.get_by_role("button", name="Record the ICO's outcome"))
    outcome.get_by_label("Advice or recommendations").check()
    _fill_today(outcome, "The date of the ICO's outcome")
    outcome.get_by_label("What the ICO said (optional)").fill("Check every bag locks.")
    outcome.get_by_role("button", name="Record the ICO's outcome").click()
    expect(rita.locator("#ico-outcome ~ dl").first).to_contain_text("Advice or recommendations")
    check_accessibility(rita)
    step = rita.locator("#next-step")
    step.get_by_label("My breach report is complete").check()
    step.get_by_label("Lessons learned").fill("Bags are checked at every take-out.")
    step.get_by_role("button", name="Close the case").click()
    expect(rita.locator("main .govuk-tag").first).to_have_text("Closed")
    screenshot(rita, "follow-through-closed")
    check_accessibility(rita)
    rita_context.close()
