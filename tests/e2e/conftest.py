"""Browser tests: the system Chromium driven by pytest-playwright against a live server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from werkzeug.serving import make_server

from demo.accounts import seed_demo
from models import create_schema
from models.base import db
from tests.conftest import ROOT, close_database, copy_sqlite_database

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Beyond WCAG, best practice a screen reader user feels: everything on the page inside a
# landmark, so moving by landmarks misses nothing (the back link once sat outside <main>).
BEST_PRACTICE_RULES = {"region": {"enabled": True}}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as a script tag, which our CSP would block.
    return {**browser_context_args, "bypass_csp": True, "viewport": {"width": 1366, "height": 768}}


# The live server's app (one a worker), for signing people in without the form.
_live: dict = {}


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    from app import create_app

    path = tmp_path_factory.mktemp("e2e") / "safekeep.db"
    app = create_app(
        {
            "SECRET_KEY": "e2e-secret",
            "SQLITE_PATH": str(path),
            "AUDIT_HMAC_KEY": "e2e-audit-key",
            "AUDIT_CHECKPOINT_FILE": str(path.parent / "audit-checkpoints.jsonl"),
        }
    )
    with app.app_context():
        db.connect(reuse_if_open=True)
        create_schema()
        seed_demo()
    app.config["DEMO_AS_SEEDED"] = path.with_name("demo-as-seeded.db")
    _live["app"] = app
    copy_sqlite_database(path, app.config["DEMO_AS_SEEDED"])
    app.extensions["e2e_database"] = db.obj
    yield app
    close_database()


@pytest.fixture(scope="module", autouse=True)
def demo_as_seeded(live_app):
    """Every file starts from the demo as seeded, at the real time: a file's journeys do not
    depend on which files ran before it, so the files can run on several workers at once."""
    from machines import clock
    from models.training import set_training_period
    from services.audit_anchor import load_hmac_key

    # What is one per process, which HTTP tests on this worker may have pointed elsewhere
    db.initialize(live_app.extensions["e2e_database"])
    load_hmac_key(live_app.config)
    set_training_period(live_app.config["TRAINING_VALID_MONTHS"])
    clock.travel_reset()
    copy_sqlite_database(live_app.config["DEMO_AS_SEEDED"], Path(live_app.config["SQLITE_PATH"]))
    # Titles name rows ("Dispatch 1"), and another file's dispatch 1 is another dispatch
    _screens_by_title.clear()
    yield
    clock.travel_reset()


@pytest.fixture(scope="session")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _live["url"] = f"http://127.0.0.1:{server.server_port}"
    yield _live["url"]
    server.shutdown()


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


class _Cached(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Cache-Control", "max-age=86400, immutable")
        super().end_headers()

    def log_message(self, *args):
        pass


# axe-core fetched by URL rather than pasted into each page: a browser context then keeps it
# in its HTTP cache, compiled, and a page's check starts in 20 ms instead of 150 (pasted,
# its 550 KB were sent and compiled for every page checked).
_axe_url: str | None = None


def _axe_script_url() -> str:
    global _axe_url
    if _axe_url is None:
        handler = functools.partial(_Cached, directory=str(AXE.parent))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _axe_url = f"http://127.0.0.1:{server.server_port}/{AXE.name}"
    return _axe_url


MAX_DOM_ELEMENTS = 1400


# The markup of each page state already checked, this run (per xdist worker): the same
# state checked again can only give the same answer, and axe is the slowest step of a journey.
_checked_states: set[str] = set()

# The screens axe has checked, this run (per xdist worker). A screen is what its template
# draws whatever the rows: the address with its ids as 9s, the window's width, inside <main>
# and the header every heading, button, form control, table, tag, banner, error and details
# element (their names and kinds, the headings' and buttons' words), and whatever sits
# outside every landmark. The same case page with one more row in a table, or another
# reference in its heading, is the same screen: it gets the quick checks below but not axe
# or the reflow check again (a quarter of axe's runs, which were a third of the browser
# tests' time). A new error, button, field, tag colour or section makes it a new screen.
_axe_checked_screens: set[str] = set()
_SCREEN = """() => {
  const parts = document.querySelectorAll([
    "main h1", "main h2", "main h3", "main input", "main select", "main textarea",
    "main button", "main .govuk-button", "main table", "main th", "main details",
    "main .govuk-tag", "main .govuk-error-summary", "main .govuk-error-message",
    "main .govuk-notification-banner", "main .govuk-warning-text", "main [role]",
    "header a", "header button",
  ].join(","));
  const words = (el) => el.textContent.trim().replace(/[0-9]+/g, "9").slice(0, 60);
  const shown = [...parts].map((el) => [
    el.tagName, el.className, el.getAttribute("type"), el.getAttribute("name"),
    el.getAttribute("role"), /^(H[1-3]|BUTTON|TH|A)$/.test(el.tagName) ? words(el) : "",
  ].join(":"));
  // Text outside every landmark (axe's "region" rule): where it sits, whatever it says.
  const landmarks = "header, nav, main, footer, aside, [role]";
  const outside = [...document.body.querySelectorAll("*")]
    .filter((el) => !el.closest(landmarks) && !el.children.length && el.textContent.trim())
    .map((el) => el.tagName + "." + el.className);
  return location.pathname.replace(/[0-9]+/g, "9") + " " + innerWidth + " " +
    [...new Set(shown)].sort().join("|") + " outside:" + outside.join("|");
}"""

# The page's markup without what differs between two showings of the same state: the
# session's CSRF token and the request's CSP nonce.
# Null while a navigation is under way (a click's new document committed, nothing parsed yet).
_PAGE_STATE = """() => {
  if (document.readyState === "loading" || !document.documentElement) return null;
  const copy = document.documentElement.cloneNode(true);
  copy.querySelectorAll("[nonce]").forEach((el) => el.removeAttribute("nonce"));
  copy.querySelectorAll("input[name=csrf_token]").forEach((el) => el.removeAttribute("value"));
  copy.querySelectorAll("[hx-headers]").forEach((el) => el.removeAttribute("hx-headers"));
  copy.querySelectorAll("[data-axe-unseen]").forEach((el) => el.removeAttribute("data-axe-unseen"));
  return location.pathname + location.search + "\\n" + copy.outerHTML;
}"""


_AXE_RUN = """([tags, rules, options]) =>
  axe.run(document, {runOnly: {type: 'tag', values: tags}, rules, ...options})"""
# The same rules, answering only "any violations?": without the passes and the selectors of
# every element checked, axe takes half the time (it was most of a journey's time).
_FIND_ONLY = {
    "resultTypes": ["violations"],
    "selectors": False,
    "ancestry": False,
    "xpath": False,
    "elementRef": False,
}


def _settled_markup(page) -> str:
    """The page's markup once the document a click or submit led to has loaded. A check made
    straight after a click can otherwise land between two documents (a faster browser build
    does this often): the old one gone, the new one not yet parsed."""
    for _ in range(100):
        page.wait_for_load_state()
        try:
            markup = page.evaluate(_PAGE_STATE)
        except PlaywrightError as error:  # the document changed under the script
            if "context was destroyed" not in str(error):
                raise
            markup = None
        if markup is not None:
            return markup
        page.wait_for_timeout(50)
    raise AssertionError(f"{page.url}: the page never finished loading")


# Colour contrast is half of axe's time, and its answer for a piece of text depends on the
# text's element and what it sits in, not on the words. So it runs only on text whose element
# and ancestors (tag, classes, and whether it holds the focus) no page has shown before in
# this run: an element marked here. Every other rule runs on the whole page, every time.
_contrast_checked: set[str] = set()
_MARK_UNSEEN_TEXT = """(seen) => {
  const known = new Set(seen);
  const focused = document.activeElement;
  // cyrb53: a short key for a long path, so the run's set goes to each page in a few KB.
  const hash = (text) => {
    let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
  };
  const setting = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      parts.push(e.tagName + "." + e.className + (e === focused ? ":focus" : ""));
    }
    return hash(parts.join("<"));
  };
  const hasText = (el) => ["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) ||
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const marked = document.querySelectorAll("[data-axe-unseen]");
  marked.forEach((el) => el.removeAttribute("data-axe-unseen"));
  const unseen = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!hasText(el)) continue;
    const key = setting(el);
    if (!known.has(key)) {
      el.setAttribute("data-axe-unseen", "");
      unseen.push(key);
    }
  }
  return unseen;
}"""
_CONTRAST_RUN = """(options) => axe.run({include: [["[data-axe-unseen]"]]},
  {runOnly: {type: "rule", values: ["color-contrast"]}, ...options})"""
_WITHOUT_CONTRAST = {**BEST_PRACTICE_RULES, "color-contrast": {"enabled": False}}


def check_axe(page) -> None:
    """axe-core's WCAG 2.2 A and AA rules, and "region", on the page as it is now (colour
    contrast on the text in settings not yet checked: _MARK_UNSEEN_TEXT)."""
    page.add_script_tag(url=_axe_script_url())
    unseen = page.evaluate(_MARK_UNSEEN_TEXT, sorted(_contrast_checked))
    result = page.evaluate(_AXE_RUN, [WCAG_TAGS, _WITHOUT_CONTRAST, _FIND_ONLY])
    if unseen and not result["violations"]:
        result = page.evaluate(_CONTRAST_RUN, _FIND_ONLY)
    if result["violations"]:  # again, every rule on the whole page, naming the elements
        result = page.evaluate(_AXE_RUN, [WCAG_TAGS, BEST_PRACTICE_RULES, {}])
    problems = [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result["violations"]
    ]
    assert not problems, f"{page.url}: " + "; ".join(problems)
    _contrast_checked.update(unseen)


def check_accessibility(page) -> None:
    """Run axe-core on the page as it is now; fail on any WCAG 2.2 A/AA violation, on content
    outside every landmark (BEST_PRACTICE_RULES) or on a page too big for a low-spec laptop
    (the brief: under ~1,400 DOM elements). Then what axe
    does not check: the title, the accessibility statement link and reflow at 320 px.
    A page state already checked (the same address and markup, at the same window size) is
    not checked again: the sign-in page before every sign-in, say. A screen axe has seen
    (_SCREEN: the same template showing other rows) gets every check but axe and reflow."""
    state = hashlib.sha256((_settled_markup(page) + repr(page.viewport_size)).encode()).hexdigest()
    if state in _checked_states:
        return
    screen = page.evaluate(_SCREEN)
    if screen not in _axe_checked_screens:
        check_axe(page)
        # Two window resizes and a layout each: a new screen's, as axe. Long words in
        # every field on every page at 320 px: test_accessibility's reflow journey.
        check_reflow(page)
        _axe_checked_screens.add(screen)
    # Low-spec laptops: every page stays small enough to lay out quickly.
    elements = page.evaluate("document.getElementsByTagName('*').length")
    assert elements < MAX_DOM_ELEMENTS, f"{page.url}: {elements} DOM elements"
    check_title(page)
    check_statement_link(page)
    _checked_states.add(state)


# Screens whose heading greets the signed-in person by name: one screen, many headings.
GREETING_TITLES = {"Home", "Scan a label – Kiosk"}
_screens_by_title: dict[str, str] = {}


def check_title(page) -> None:
    """The title says where you are: "Error: " exactly when the page shows an error summary
    (also after an htmx swap), and no two different screens share a title."""
    title = page.title()
    errors = page.locator(".govuk-error-summary").count()
    assert title.startswith("Error: ") == bool(errors), f"{page.url}: title {title!r}"
    name = title.removeprefix("Error: ").rsplit(" – Safekeep – ", 1)[0]
    heading = " ".join(page.locator("h1").first.inner_text().split())
    if name in GREETING_TITLES:
        return
    seen = _screens_by_title.setdefault(name, heading)
    assert seen == heading, f"{page.url}: {name!r} is the title of {seen!r} and {heading!r}"


def check_statement_link(page) -> None:
    """The 2018 Accessibility Regulations: every page links to the accessibility statement."""
    link = page.locator("footer").get_by_role("link", name="Accessibility statement")
    assert link.count() == 1, f"{page.url}: no accessibility statement in the footer"
    assert link.get_attribute("href") == "/accessibility"


REFLOW = {"width": 320, "height": 256}  # 1280 × 1024 at 400% zoom (WCAG 1.4.10)
# Elements sticking out of the page at 320 px, outside any scroll region of their own.
_OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth + 1;
  // An element's right edge, counting content that overflows it (unbroken text, say).
  const right = (el) => el.getBoundingClientRect().left + Math.max(
    el.getBoundingClientRect().width, el.scrollWidth);
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((el) => right(el) > limit && !inScroller(el))
    .filter((el) => ![...el.children].some((c) => right(c) > limit))
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${el.textContent.slice(0, 40)}`);
}"""


def check_reflow(page) -> None:
    """At 320 × 256 CSS px the page never scrolls sideways (a table may, in its own region)."""
    size = page.viewport_size
    page.set_viewport_size(REFLOW)
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        culprits = page.evaluate(_OVERFLOWING) if width > REFLOW["width"] else []
    finally:
        page.set_viewport_size(size)
    assert width <= REFLOW["width"], f"{page.url}: {width} px wide at 320: {culprits}"


def screenshot(page, name: str) -> Path | None:
    """What people will see, for people to look at (`make test-e2e` takes them). Nothing is
    asserted on them, and in `make test` their 70 full pages cost a core about 20 s: not
    taken there."""
    if not os.environ.get("E2E_SCREENSHOTS"):
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(
    page,
    username: str,
    password: str | None = None,
    *,
    javascript: bool = True,
    via_form: bool = False,
) -> None:
    """Sign in as a demo person, landing where the sign-in form lands them.

    With their password given, or `via_form`, through the sign-in page. Otherwise the app
    starts their session as the form would (views.auth.start_session: the session row, the
    audit event, the cookie) and the browser opens where the form would have sent it: two
    navigations fewer in each of 70 sign-ins. The form itself is walked in test_foundation,
    test_accounts, test_time_limits and wherever a password is given.

    In a context without JavaScript axe (a script) cannot run, and the page must have moved
    on: a sign-in refused there would go unnoticed."""
    from demo.accounts import DEMO_PASSWORD

    if password is None and not via_form:
        cookie, landing = _session_cookie(username)
        page.context.add_cookies([cookie])
        page.goto(landing)
        expect(page).not_to_have_url(re.compile(r"/sign-in"))
        return
    page.goto("/sign-in")
    if javascript:
        check_accessibility(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if not javascript:
        expect(page).not_to_have_url(re.compile(r"/sign-in"))


def _session_cookie(username: str) -> tuple[dict, str]:
    """A new session for `username`, started by the app's own sign-in code: its cookie for
    the browser, and where the sign-in form would send them next."""
    from flask import session

    from models.people import User
    from views.auth import start_session

    app = _live["app"]
    with app.test_request_context("/sign-in", headers={"User-Agent": "Chromium"}):
        answer = start_session(User.by_username(username), "password", None)
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
    name, value = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)
    return {"name": name, "value": value, "url": _live["url"]}, answer.location


def confirm(page, button: str, axe: bool = True) -> None:
    """On the page that asks before an event nothing undoes: check it, press its button."""
    expect(page.locator("#confirm-answers")).to_be_visible()
    expect(page.locator(".govuk-warning-text")).to_be_visible()
    if axe:
        check_accessibility(page)
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def approved_for_pat(description: str, case_id: str = "5550404"):
    """A new record of Pat's team whose removal Pat's line manager has already approved:
    the kiosk and time-limit journeys start from papers ready to take out."""
    from machines import clock
    from models.people import User
    from tests.http.journeys.custody import papers_held

    pat = User.by_username("pat")
    return papers_held(
        pat,
        description,
        "approved_for_removal",
        2,
        case_id=case_id,
        requester_manager=pat.line_manager_id,
        papers="Court bundle",
        requested_at=clock.now(),
    ).record
