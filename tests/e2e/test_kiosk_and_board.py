"""The team board updating itself, and the team-base kiosk, in the browser."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from demo.accounts import DEMO_PIN
from machines import clock
from models.dispatches import Dispatch
from models.people import User
from models.records import Record, Removal
from tests.e2e.conftest import (
    REFLOW,
    approved_for_pat,
    check_accessibility,
    screenshot,
    sign_in,
)

# The board polls every 30 s (templates/boards/board.html): the tests move its clock on.
POLL_MS = 31_000
VIEWPORT = {"width": 1366, "height": 768}


def _context(browser, base_url, **kwargs):
    return browser.new_context(base_url=base_url, bypass_csp=True, viewport=VIEWPORT, **kwargs)


def _record(description: str, case_id: str = "5550202") -> Record:
    pat = User.by_username("pat")
    return Record.create(case_id=case_id, description=description, team=pat.team_id, created_by=pat)


def test_board_shows_a_new_request_without_reloading(browser, base_url):
    record = _record("Board live update bundle")
    lina_context = _context(browser, base_url)
    lina = lina_context.new_page()
    lina.clock.install()
    sign_in(lina, "lina")
    lina.get_by_role("link", name="Board").click()
    expect(lina.get_by_role("heading", level=1)).to_have_text("Team board: Children North")
    waiting = lina.locator("#board-body")
    expect(waiting).not_to_contain_text("Board live update bundle")
    check_accessibility(lina)
    # A marker that a reload would wipe out.
    lina.evaluate("window.__notReloaded = true")
    polls = []
    lina.on("request", lambda r: polls.append(r) if r.headers.get("hx-request") else None)

    pat_context = _context(browser, base_url)
    pat = pat_context.new_page()
    sign_in(pat, "pat")
    pat.goto(f"/records/{record.id}")
    pat.get_by_role("button", name="Take papers out of the office").click()
    pat.get_by_label("Something else").check()
    pat.get_by_label("Why do the papers need to leave the office?").fill("Assessment at home")
    pat.get_by_label("Which papers are you taking?").fill("Chronology")
    pat.get_by_label("Returned to the office").check()
    due = clock.uk_today() + dt.timedelta(days=3)
    pat.get_by_label("Day").fill(str(due.day))
    pat.get_by_label("Month").fill(str(due.month))
    pat.get_by_label("Year").fill(str(due.year))
    pat.get_by_role("button", name="Continue").click()
    expect(pat.locator("#status")).to_contain_text("Awaiting approval")
    pat_context.close()

    lina.clock.fast_forward(POLL_MS)
    pending = lina.get_by_role("table", name="Requests waiting")
    expect(pending).to_contain_text("Board live update bundle")
    assert lina.evaluate("window.__notReloaded === true"), "the board reloaded the page"
    assert polls and all(p.headers.get("hx-target") == "board-body" for p in polls)
    expect(lina.get_by_role("link", name="Board live update bundle")).to_have_attribute(
        "href", f"/records/{record.id}"
    )
    check_accessibility(lina)
    screenshot(lina, "board-line-manager")
    lina_context.close()


def test_director_board_every_team(browser, base_url):
    # Adults East (no other browser test uses it): papers overdue and a draft to check.
    alex = User.by_username("alex")
    record = Record.create(
        case_id="5550303", description="East overdue bundle", team=alex.team_id, created_by=alex
    )
    Removal.create(
        record=record,
        team=alex.team_id,
        state="out",
        for_user=alex,
        requested_by=alex,
        purpose="court",
        papers="Court bundle",
        due_on=clock.uk_today() - dt.timedelta(days=4),
        requested_at=clock.now(),
    )
    draft = Dispatch.create(
        team=alex.team_id,
        case_id="5550303",
        state="drafted",
        description="Assessment report for the court",
        method="special_delivery",
        recipient_organisation="Family Court",
        recipient_role="Court clerk",
        address="1 Court Street",
        drafted_by=alex,
        drafted_at=clock.now(),
    )
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "dana")
    page.goto("/board")
    expect(page.get_by_role("heading", level=1)).to_have_text("Board: every team")
    expect(page.get_by_role("heading", name="Documents waiting for a second check")).to_be_visible()
    expect(page.locator("#board-body")).to_contain_text("4 days overdue")
    # Every team on one board: each row says whose it is.
    papers_out = page.get_by_role("table", name="Overdue first")
    expect(papers_out.get_by_role("columnheader", name="Team")).to_be_visible()
    expect(papers_out.get_by_role("row").filter(has_text="East overdue bundle")).to_contain_text(
        "Adults East"
    )
    page.get_by_role("link", name="Assessment report for the court").wait_for()
    check_accessibility(page)
    screenshot(page, "board-director")
    page.get_by_role("link", name="Assessment report for the court").click()
    expect(page).to_have_url(re.compile(rf"/dispatches/{draft.id}$"))
    check_accessibility(page)
    context.close()


def _identify(page, staff_number: str, pin: str) -> None:
    page.get_by_label("Staff number").fill(staff_number)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Continue").click()


def test_kiosk_journey_take_out_and_signed_out(browser, base_url):
    record = approved_for_pat("Kiosk court bundle")
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "kiosk-north")
    expect(page).to_have_url(re.compile(r"/kiosk/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Take out or return papers")
    check_accessibility(page)
    screenshot(page, "kiosk-identify")

    # A wrong PIN is refused with a GOV.UK error.
    _identify(page, "10002", "1357")
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter a correct staff number and PIN"
    )
    expect(page.locator("#staff_number-error")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "kiosk-wrong-pin")

    _identify(page, "10002", DEMO_PIN)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Pat Reyes")
    label = page.get_by_label("Scan the record's label")
    expect(label).to_be_focused()  # the scanner types straight into it
    check_accessibility(page)
    screenshot(page, "kiosk-scan")

    # What the scanner does: the code, then Enter.
    page.keyboard.type(record.label_code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiosk court bundle")
    check_accessibility(page)

    # "Approved to take out" stays on one line.
    tag = page.locator(".govuk-tag", has_text="Approved to take out")
    assert tag.evaluate(
        "el => el.offsetHeight < 1.6 * parseFloat(getComputedStyle(el).lineHeight)"
    ), "the status tag wraps"

    # Without the safeguards the papers cannot go out.
    page.get_by_label("lockable bag").check()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("USB memory stick")
    expect(page.get_by_label("lockable bag")).to_be_checked()  # what was ticked stays ticked
    check_accessibility(page)
    screenshot(page, "kiosk-safeguards-refused")

    for text in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(text).check()
    screenshot(page, "kiosk-record")
    page.get_by_role("button", name="Take out").click()
    # Signed out after the action: back to the identify screen.
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Papers taken out")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "You have been signed out of the kiosk"
    )
    expect(page.get_by_label("Staff number")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "kiosk-done")
    removal = Removal.select().where(Removal.record == record).get()
    assert removal.state == "out"
    context.close()


def test_kiosk_idle_timer_signs_the_person_out(browser, base_url):
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "kiosk-north")
    _identify(page, "10003", DEMO_PIN)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Sam Patel")
    page.wait_for_load_state("load")  # app.js (a module) has started the idle timer
    page.wait_for_function("document.querySelector('#kiosk[data-idle-url]') !== null")
    page.clock.fast_forward(61_000)
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "after 60 seconds without input"
    )
    expect(page.get_by_label("Staff number")).to_be_visible()
    check_accessibility(page)
    context.close()


def test_kiosk_cannot_reach_any_other_page(browser, base_url):
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "kiosk-north")
    expect(page.locator(".govuk-service-navigation__list")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/kiosk/$"))
    for url in (
        "/board",
        "/records",
        "/records/labels",
        "/breaches",
        "/send",
        "/register",
        "/account/pin",
        "/approvals",
    ):
        response = page.goto(url)
        assert response.status == 403 or page.url.endswith("/kiosk/"), (url, response.status)
        expect(page.get_by_role("heading", level=1)).not_to_contain_text("Board")
        # The kiosk's own layout: a way back, and no "Sign out" for passers-by.
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        expect(page.get_by_role("link", name="Go back to the kiosk screen")).to_be_visible()
        check_accessibility(page)
    screenshot(page, "kiosk-forbidden")
    page.get_by_role("link", name="Go back to the kiosk screen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take out or return papers")
    context.close()


def test_kiosk_pauses_after_many_wrong_pins(browser, base_url):
    from models.people import KioskFailure

    context = _context(browser, base_url)
    page = context.new_page()
    KioskFailure.delete().execute()  # earlier tests' wrong PINs at this kiosk
    try:
        sign_in(page, "kiosk-north")
        for n in range(10):  # one PIN tried against ten staff numbers
            _identify(page, f"4440{n}", "1234")
            expect(page.locator(".govuk-error-summary")).to_contain_text(
                "Enter a correct staff number and PIN"
            )
        _identify(page, "10003", DEMO_PIN)
        expect(page.locator(".govuk-error-summary")).to_contain_text(
            "Too many wrong staff numbers or PINs were entered at this kiosk"
        )
        expect(page.locator("#staff_number-error")).to_be_visible()
        check_accessibility(page)
        screenshot(page, "kiosk-paused")
    finally:
        KioskFailure.delete().execute()  # the other kiosk tests share this kiosk
        context.close()


def test_at_400_percent_the_boards_figures_are_a_list_nothing_cut_off(page):
    sign_in(page, "lina")
    page.set_viewport_size(REFLOW)
    page.goto("/board")
    figures = page.locator("#board-counts dl")
    expect(figures.locator("dt")).to_have_count(5)
    # Each label and its figure on one line, inside the screen, one figure under another.
    boxes = page.evaluate(
        """() => [...document.querySelectorAll("#board-counts dl > div")].map((item) => {
          const [label, value] = [item.querySelector("dt"), item.querySelector("dd")]
            .map((el) => el.getBoundingClientRect());
          return {label, value};
        })"""
    )
    for box in boxes:
        assert box["value"]["right"] <= REFLOW["width"], box
        assert abs(box["label"]["top"] - box["value"]["top"]) < box["label"]["height"], box
    tops = [box["label"]["top"] for box in boxes]
    assert tops == sorted(tops) and len(set(tops)) == 5, tops
    screenshot(page, "board-figures-320")
    # At full width the five sit side by side, each label above its figure.
    page.set_viewport_size(VIEWPORT)
    tops = figures.locator("dt").evaluate_all(
        "els => els.map((e) => e.getBoundingClientRect().top)"
    )
    assert len(set(tops)) == 1, tops
