"""Accessibility beyond axe: the board's refresh keeps the focus and can be paused, htmx
changes say what happened, every page reflows at 320 CSS px, titles say where you are, and
the accessibility statement is there for everyone. (Every page the other browser tests
visit gets the title and statement checks too, and each new screen the reflow check:
conftest.check_accessibility.)"""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from demo.accounts import DEMO_PIN
from machines import clock
from models.base import write_transaction
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import Team, User
from models.records import Record, Removal
from tests.e2e.conftest import (
    REFLOW,
    check_accessibility,
    check_reflow,
    confirm,
    screenshot,
    sign_in,
)

SCREEN = {"width": 1366, "height": 768}
SUFFIX = " – Safekeep – Example London Borough"


def _context(browser, base_url, **kwargs):
    return browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN, **kwargs)


def _record(description: str, username: str = "pat", case_id: str = "5550808") -> Record:
    owner = User.by_username(username)
    return Record.create(
        case_id=case_id, description=description, team=owner.team_id, created_by=owner
    )


def _removal(record: Record, state: str, username: str = "pat", **fields) -> Removal:
    owner = User.by_username(username)
    purpose = fields.pop("purpose", "other")
    return Removal.create(
        record=record,
        team=owner.team_id,
        state=state,
        for_user=owner,
        requested_by=owner,
        requester_manager=owner.line_manager_id,
        purpose=purpose,
        purpose_other="Writing the assessment at home" if purpose == "other" else None,
        papers="Chronology",
        due_on=clock.uk_today() + dt.timedelta(days=fields.pop("due_in_days", 3)),
        requested_at=clock.now(),
        **fields,
    )


def _until(page, condition, seconds: float = 5) -> None:
    """Wait (real time) for something the page does in the background."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    assert condition()


def _hx_polls(page) -> list:
    polls: list = []
    page.on("request", lambda r: polls.append(r) if r.headers.get("hx-target") else None)
    return polls


# -- 3. the board's refresh -----------------------------------------------------------------


def test_a_poll_never_moves_the_focus_and_says_what_changed(browser, base_url):
    out = _record("Focus test papers out")
    _removal(out, "out", purpose="court")
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "lina")
    page.goto("/board")
    expect(page).to_have_title("Team board: Children North" + SUFFIX)
    status = page.get_by_role("status")
    expect(status).to_have_text("The board updates itself every 30 seconds.")
    check_accessibility(page)
    polls = _hx_polls(page)

    # Keyboard focus on a link in the papers-out table; meanwhile a new request arrives.
    link = page.get_by_role("link", name="Focus test papers out")
    link.focus()
    pending = page.get_by_role("table", name="Requests waiting")
    waiting_before = int(page.locator("#board-counts dd").first.inner_text())
    _removal(_record("Focus test new request"), "requested")
    page.clock.fast_forward(31_000)
    expect(pending).to_contain_text("Focus test new request")
    assert len(polls) == 1
    expect(link).to_be_focused()
    expect(status).to_have_text(
        re.compile(
            rf"^Board updated at \d{{1,2}}:\d\d[ap]m: waiting for approval {waiting_before + 1}"
            rf" \(was {waiting_before}\)\.$"
        )
    )

    # A part holding the focus is not swapped while it does: it catches up once the focus
    # has moved on.
    new_link = page.get_by_role("link", name="Focus test new request")
    new_link.focus()
    _removal(_record("Focus test second request"), "requested")
    page.clock.fast_forward(31_000)
    expect(status).to_contain_text(f"waiting for approval {waiting_before + 2}")
    expect(new_link).to_be_focused()
    expect(pending).not_to_contain_text("Focus test second request")
    link.focus()
    page.clock.fast_forward(31_000)
    expect(pending).to_contain_text("Focus test second request")
    expect(link).to_be_focused()
    assert len(polls) == 3
    # Nothing changed since: nothing is announced again (the last change stays in the line).
    last = status.inner_text()
    page.clock.fast_forward(31_000)
    _until(page, lambda: len(polls) == 4)
    page.wait_for_timeout(300)  # the answer has been handled
    expect(status).to_have_text(last)
    check_accessibility(page)
    screenshot(page, "board-after-polls")
    context.close()


def test_the_refresh_can_be_paused_by_keyboard_and_stays_paused(browser, base_url):
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "lina")
    page.goto("/board")
    polls = _hx_polls(page)
    pause = page.get_by_role("button", name="Pause automatic updates")
    pause.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Automatic updates are paused.")
    restart = page.get_by_role("button", name="Restart automatic updates")
    expect(restart).to_be_focused()
    check_accessibility(page)
    page.clock.run_for(95_000)  # three polls' worth
    page.wait_for_timeout(300)
    assert polls == [], "the board polled while paused"

    # Remembered for the page: still paused after a reload.
    page.reload()
    expect(restart).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Automatic updates are paused.")
    page.clock.run_for(65_000)
    page.wait_for_timeout(300)
    assert polls == []

    # Restarting catches up at once, then polls every 30 s again.
    restart.focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause automatic updates")).to_be_focused()
    _until(page, lambda: len(polls) == 1)
    page.clock.fast_forward(31_000)
    _until(page, lambda: len(polls) == 2)
    context.close()


def test_a_failed_poll_is_announced_without_taking_the_focus(browser, base_url):
    # A director watching a team that is then removed: the poll answers 404 until it is back.
    team = Team.create(name="Poll failure team")
    context = _context(browser, base_url)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "dana")
    page.goto(f"/board?team={team.id}")
    title = "Team board: Poll failure team" + SUFFIX
    expect(page).to_have_title(title)
    show = page.get_by_role("button", name="Show")
    show.focus()
    Team.delete_by_id(team.id)
    page.clock.fast_forward(31_000)
    alert = page.locator("#app-alerts .govuk-error-summary")
    expect(alert).to_contain_text("Page not found")
    expect(page).to_have_title("Error: " + title)
    expect(show).to_be_focused()
    check_accessibility(page)
    Team.create(id=team.id, name="Poll failure team")
    page.clock.fast_forward(31_000)
    expect(alert).to_have_count(0)
    expect(page).to_have_title(title)
    expect(show).to_be_focused()
    context.close()


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
    # Partly, while views/accessibility.py lists known issues (its statement test says which).
    expect(page.locator("#compliance")).to_contain_text(
        "compliant with the Web Content Accessibility Guidelines version 2.2 AA"
    )
    check_accessibility(page)
    screenshot(page, "accessibility-statement")
    context.close()


# -- 6. htmx changes say what happened -------------------------------------------------------


def test_a_refused_change_says_error_in_the_title_and_a_done_one_says_what_was_done(
    browser, base_url
):
    record = _record("Outcome test bundle")
    _removal(record, "approved_for_removal", purpose="court")
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "pat")
    page.goto(f"/records/{record.id}")
    title = f"Outcome test bundle (5550808){SUFFIX}"
    expect(page).to_have_title(title)

    # Refused: the error summary takes the focus and the title says "Error: ".
    page.get_by_role("button", name="Take out").click()
    summary = page.locator("#status .govuk-error-summary")
    expect(summary).to_contain_text("lockable bag")
    expect(summary).to_be_focused()
    expect(page).to_have_title("Error: " + title)
    check_accessibility(page)

    # Done: a success banner says what was done and takes the focus; "Error: " goes.
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Take out").click()
    banner = page.locator("#status .govuk-notification-banner")
    expect(banner).to_have_attribute("role", "alert")
    expect(banner.locator(".govuk-notification-banner__heading")).to_have_text(
        "Papers taken out, safeguards confirmed"
    )
    expect(banner).to_be_focused()
    expect(page).to_have_title(title)
    check_accessibility(page)
    screenshot(page, "outcome-taken-out")
    page.get_by_role("button", name="Return papers").click()
    confirm(page, "Return papers")  # nothing undoes a return: a page asks first
    expect(banner).to_contain_text("Papers returned to the office")
    expect(banner).to_be_focused()
    expect(page).to_have_title(title)
    context.close()


def test_a_dispatch_change_says_what_happened_too(browser, base_url):
    pat, sam = User.by_username("pat"), User.by_username("sam")
    dispatch = Dispatch.create(
        team=pat.team_id,
        case_id="5550808",
        state="checked",
        description="Outcome test letter",
        method="special_delivery",
        recipient_organisation="Family Court",
        recipient_role="Court clerk",
        address="1 Court Street",
        drafted_by=pat,
        drafted_at=clock.now(),
        checked_by=sam,
        checked_at=clock.now(),
        address_source="case_record",
        lawful_basis="Court direction",
    )
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "pat")
    page.goto(f"/dispatches/{dispatch.id}")
    title = f"Dispatch {dispatch.id}{SUFFIX}"
    page.get_by_role("button", name="Record as sent").click()
    expect(page.locator("#status .govuk-error-summary")).to_be_focused()
    expect(page).to_have_title("Error: " + title)
    check_accessibility(page)
    page.get_by_label("Special delivery tracking reference").fill("AB123456789GB")
    page.get_by_role("button", name="Record as sent").click()
    banner = page.locator("#status .govuk-notification-banner")
    expect(banner).to_contain_text("Recorded as sent")
    expect(banner).to_be_focused()
    expect(page).to_have_title(title)
    check_accessibility(page)
    context.close()


# -- 9. titles say where you are ------------------------------------------------------------


def test_kiosk_screens_and_boards_have_titles_of_their_own(browser, base_url):
    record = _record("Title test bundle")
    _removal(record, "approved_for_removal", purpose="court")
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "kiosk-north")
    expect(page).to_have_title("Identify yourself – Kiosk" + SUFFIX)
    page.get_by_label("Staff number").fill("10002")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title("Error: Identify yourself – Kiosk" + SUFFIX)
    page.get_by_label("Staff number").fill("10002")
    page.get_by_label("PIN").fill(DEMO_PIN)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title("Scan a label – Kiosk" + SUFFIX)
    check_accessibility(page)
    page.get_by_label("Scan the record's label").fill(record.label_code)
    page.keyboard.press("Enter")
    expect(page).to_have_title("Title test bundle – Kiosk" + SUFFIX)
    check_accessibility(page)
    page.get_by_role("button", name="I'm finished – sign me out").click()
    context.close()

    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "dana")
    page.goto("/board")
    expect(page).to_have_title("Board: every team" + SUFFIX)
    check_accessibility(page)
    east = Team.get(Team.name == "Adults East")
    page.goto(f"/board?team={east.id}")
    expect(page).to_have_title("Team board: Adults East" + SUFFIX)
    check_accessibility(page)
    context.close()


# -- 5. reflow at 320 CSS px -----------------------------------------------------------------

LONG_CASE_ID = "ABCDEFGHIJ1234567890"  # the longest case-system ID the rule allows
LONG_WORD = "Supervisionnotes" * 7  # 112 characters, no space to break at
LONG_EMAIL = "childrens.guardian.duty.team.for.the.north@cafcass-regional-office.example.org"


def _long_strings_everywhere() -> dict:
    """Records, a removal, a dispatch and a breach case whose strings do not break."""
    pat, sam = User.by_username("pat"), User.by_username("sam")
    out = _record(LONG_WORD, case_id=LONG_CASE_ID)
    _removal(out, "out", due_in_days=-2, taken_out_at=clock.now())
    waiting = _record(LONG_WORD[:-1] + "W", case_id=LONG_CASE_ID)
    _removal(waiting, "requested")
    spare = _record(LONG_WORD[:-1] + "S", case_id=LONG_CASE_ID)
    dispatch = Dispatch.create(
        team=pat.team_id,
        case_id=LONG_CASE_ID,
        description=LONG_WORD,
        method="secure_email",
        recipient_organisation="Cafcass",
        recipient_role="Children's guardian",
        address=LONG_EMAIL,
        drafted_by=sam,
        drafted_at=clock.now(),
    )
    with write_transaction():
        breach = Breach.open_case(
            {
                "what_happened": f"Sent to {LONG_EMAIL} instead; {LONG_WORD}",
                "happened_at": clock.now() - dt.timedelta(hours=3),
                "discovered_at": clock.now() - dt.timedelta(hours=2),
                "category": "wrong_recipient",
                "data_categories": ["basic_identifiers"],
                "people_affected": 1,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": False,
            },
            pat,
            clock.now(),
            case_id=LONG_CASE_ID,
        )
    return {"out": out, "spare": spare, "dispatch": dispatch, "breach": breach}


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    check_accessibility(page)  # axe, the first time this screen is seen
    check_reflow(page)  # no sideways scroll at 320 × 256 with these long words, every time


def test_no_page_scrolls_sideways_at_320_css_pixels(browser, base_url):
    data = _long_strings_everywhere()
    out, spare, dispatch, breach = data["out"], data["spare"], data["dispatch"], data["breach"]
    pages = {
        None: ["/sign-in", "/accessibility"],
        "pat": [
            "/",
            "/records",
            f"/records/{out.id}",
            f"/records/{spare.id}/remove",
            "/records/new",
            "/records/labels",
            "/send",
            "/send/new",
            f"/dispatches/{dispatch.id}",
            "/breaches",
            "/breaches/new",
            f"/breaches/{breach.id}",
            f"/breaches/{breach.id}/report",
            "/account/pin",
            "/accessibility",
        ],
        "lina": ["/", "/board", "/approvals", f"/breaches/{breach.id}"],
        "dana": ["/board", f"/breaches/{breach.id}/ico-draft"],
        "gov": ["/register"],
        "kiosk-north": ["/kiosk/"],
    }
    for username, urls in pages.items():
        # Loaded at 320 × 256 from the start, as a zoomed-in browser would load them.
        context = browser.new_context(base_url=base_url, bypass_csp=True, viewport=REFLOW)
        page = context.new_page()
        if username:
            sign_in(page, username)
        for url in urls:
            _visit(page, url)
        if username == "pat":
            # Search results list the long case-system ID and description.
            page.goto("/records")
            page.get_by_label("Case-system ID or label code").fill(LONG_CASE_ID)
            page.get_by_role("button", name="Find").click()
            expect(page.get_by_role("heading", name="3 records found")).to_be_visible()
            check_accessibility(page)
            page.goto(f"/records/{out.id}")
            screenshot(page, "reflow-record")
        if username == "kiosk-north":
            page.get_by_label("Staff number").fill("10002")
            page.get_by_label("PIN").fill(DEMO_PIN)
            page.get_by_role("button", name="Continue").click()
            check_accessibility(page)
            page.get_by_label("Scan the record's label").fill(out.label_code)
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", level=1)).to_have_text(LONG_WORD)
            check_accessibility(page)
            page.get_by_role("button", name="I'm finished – sign me out").click()
        if username == "lina":
            page.goto("/board")
            screenshot(page, "reflow-board")
        context.close()


def test_the_reflow_check_can_fail(browser, base_url):
    """check_reflow is what the other tests lean on: it sees a page wider than 320 px."""
    context = browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN)
    page = context.new_page()
    page.goto("/accessibility")
    page.evaluate("document.querySelector('h1').style.whiteSpace = 'nowrap'")
    try:
        check_reflow(page)
    except AssertionError as error:
        assert "px wide at 320" in str(error) and "h1" in str(error)
    else:
        raise AssertionError("check_reflow missed a page 320 px could not hold")
    assert page.viewport_size == SCREEN  # put back for the rest of the test
    context.close()


def test_a_back_link_sits_inside_main_so_nothing_is_outside_a_landmark(browser, base_url):
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, "pat")
    page.goto("/account")
    # Inside <main>: "Skip to main content" and moving by landmarks reach it.
    expect(page.get_by_role("main").get_by_role("link", name="Home")).to_be_visible()
    check_accessibility(page)  # axe's "region" rule with the WCAG rules
    context.close()


def test_the_landmark_check_can_fail(browser, base_url):
    """check_accessibility sees content outside every landmark, as a back link once was."""
    context = _context(browser, base_url)
    page = context.new_page()
    page.goto("/accessibility")
    page.evaluate(
        """() => { const p = document.createElement("p"); p.textContent = "Outside";
        document.querySelector("main").before(p); }"""
    )
    try:
        check_accessibility(page)
    except AssertionError as error:
        assert "region" in str(error)
    else:
        raise AssertionError("check_accessibility missed content outside every landmark")
    context.close()


def test_at_400_percent_the_menu_folds_away_and_the_heading_is_on_the_first_screen(
    browser, base_url
):
    context = browser.new_context(base_url=base_url, bypass_csp=True, viewport=REFLOW)
    page = context.new_page()
    sign_in(page, "pat")
    page.goto("/records")
    heading = page.get_by_role("heading", level=1)
    assert heading.bounding_box()["y"] + heading.bounding_box()["height"] <= REFLOW["height"]
    navigation = page.get_by_role("navigation", name="Menu")
    expect(navigation.get_by_role("link", name="Breaches")).to_be_hidden()
    navigation.get_by_role("button", name="Menu").click()
    expect(navigation.get_by_role("link", name="Breaches")).to_be_visible()
    screenshot(page, "menu-open-320")
    context.close()
    # Without JavaScript there is no button to press: the links are all there to follow.
    context = browser.new_context(base_url=base_url, viewport=REFLOW, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "pat", javascript=False)
    page.goto("/records")
    navigation = page.get_by_role("navigation", name="Menu")
    expect(navigation.get_by_role("button", name="Menu")).to_be_hidden()
    navigation.get_by_role("link", name="Breaches").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Breach"))
    context.close()
