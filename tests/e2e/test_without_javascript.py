"""The standing requirement: every journey works with JavaScript off, and by keyboard alone.

The JavaScript-off journeys run in contexts created with `java_script_enabled=False`, one per
person, and assert what each plain form post shows. axe-core is a script, so it cannot run in
those contexts: each JavaScript-off page that matters is checked again at the same URL in a
JavaScript-on context of the same person (`Person.axe`).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from demo.accounts import DEMO_PASSWORD, DEMO_PIN
from machines import clock
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User
from models.records import Record, Removal
from tests.e2e.conftest import approved_for_pat, check_accessibility, sign_in
from tests.e2e.typing import fill_time, uk_minute

SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.travel_reset()
    yield
    clock.travel_reset()


class Person:
    """One person's two browser contexts: JavaScript off (the journey) and on (axe only)."""

    def __init__(self, browser, base_url, username: str):
        self.username = username
        self.context = browser.new_context(
            base_url=base_url, java_script_enabled=False, bypass_csp=True, viewport=SCREEN
        )
        self.page = self.context.new_page()
        sign_in(self.page, username, javascript=False)
        self._browser = browser
        self._base_url = base_url
        self._axe_context = None
        self._axe_page = None

    def axe(self) -> None:
        """Check the JavaScript-off page's URL with axe-core, in a JavaScript-on context."""
        if self._axe_page is None:
            self._axe_context = self._browser.new_context(
                base_url=self._base_url, bypass_csp=True, viewport=SCREEN
            )
            self._axe_page = self._axe_context.new_page()
            sign_in(self._axe_page, self.username)
        response = self._axe_page.goto(self.page.url)
        assert response.status == 200, (self.page.url, response.status)
        check_accessibility(self._axe_page)

    def close(self) -> None:
        if self._axe_context is not None:
            self._axe_context.close()
        self.context.close()


def _assert_no_script(page) -> None:
    """The body never got `js-enabled`: GOV.UK Frontend's inline script did not run."""
    classes = page.locator("body").get_attribute("class") or ""
    assert "js-enabled" not in classes and "govuk-frontend-supported" not in classes, classes


# -- 1. a theft reported, notified, risk assessed and the service user told ----------------


def test_a_theft_is_reported_notified_assessed_and_the_service_user_told_without_javascript(
    browser, base_url
):
    pat = Person(browser, base_url, "pat")
    page = pat.page
    page.get_by_role("link", name="Breaches", exact=True).click()
    _assert_no_script(page)
    # A link styled as a button: a plain link without JavaScript.
    page.get_by_role("button", name="Report a breach or near miss").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a breach or near miss")
    pat.axe()
    page.get_by_label("Theft", exact=True).check()
    page.get_by_label("Police crime reference number").fill("CAD 5521/25NOV")
    fill_time(page, "When were the police told?", uk_minute(-dt.timedelta(minutes=90)))
    page.get_by_label("My line manager has been told").check()
    page.get_by_label("What happened?").fill(
        "Bag with a court bundle taken from a parked car outside the family centre"
    )
    fill_time(page, "When did it happen?", uk_minute(-dt.timedelta(hours=3)))
    fill_time(page, "When was it discovered?", uk_minute(-dt.timedelta(hours=2)))
    page.get_by_label("Basic personal identifiers").check()
    page.get_by_label("Health data", exact=True).check()
    page.get_by_label("Roughly how many people's data?").fill("3")
    page.get_by_label("Roughly how many records?").fill("1")
    page.get_by_label("Children or vulnerable adults").check()
    page.get_by_role("button", name="Report", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Breach BR-")
    reference = heading.inner_text().removeprefix("Breach ")
    expect(page.locator(".govuk-caption-l")).to_contain_text("Theft")
    expect(page.locator("main .govuk-tag").first).to_have_text("Reported")
    main = page.locator("main")
    expect(main).to_contain_text("CAD 5521/25NOV")
    expect(main).to_contain_text("About 3 people, 1 record")
    expect(main).to_contain_text("hours left to tell the ICO")
    pat.axe()
    breach = Breach.get(Breach.reference == reference)
    assert breach.category == "theft" and breach.line_manager_told

    # The line manager tells every recipient the procedure names (insurers too: a theft).
    lina = Person(browser, base_url, "lina")
    page = lina.page
    page.get_by_role("link", name="Breaches", exact=True).click()
    page.get_by_role("link", name=reference, exact=True).click()
    step = page.locator("#next-step")
    expect(step.get_by_role("button", name="Record who was told")).to_be_visible()
    lina.axe()
    recipients = [
        "Director",
        "Business Improvement Manager",
        "Caldicott Guardian",
        "Information and Records Manager",
        "Governance Team",
        "Data Protection Officer",
        "Insurance Section",
    ]
    told_at = uk_minute(-dt.timedelta(minutes=30))
    # First without the media question answered: the plain post comes back with its error.
    for label in recipients:
        group = step.get_by_role("group", name=label, exact=True)
        group.get_by_label("Name of the person told").fill(f"Named {label}")
        fill_time(group, "Date and time told", told_at)
    step.get_by_role("button", name="Record who was told").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("main .govuk-tag").first).to_have_text("Reported")
    step = page.locator("#next-step")
    # What was typed survives the refused post.
    expect(
        step.get_by_role("group", name="Insurance Section", exact=True).get_by_label(
            "Name of the person told"
        )
    ).to_have_value("Named Insurance Section")
    step.get_by_role("group", name=re.compile("media office advised")).get_by_label("No").check()
    step.get_by_label("Why?").fill("No press interest; reputation not at risk")
    step.get_by_role("button", name="Record who was told").click()
    expect(page.locator("main .govuk-tag").first).to_have_text("Notified")
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    table = page.get_by_role("table", name="Who was told, and when")
    for label in recipients:
        expect(table).to_contain_text(f"Named {label}")
    expect(table).to_contain_text("Considered, not advised")
    lina.axe()
    lina.close()

    # The DPO assesses the risk: "Check the result" is a plain post that saves nothing.
    dpo = Person(browser, base_url, "dpo")
    page = dpo.page
    page.get_by_role("link", name="Breaches", exact=True).click()
    page.get_by_role("link", name=reference, exact=True).click()
    step = page.locator("#next-step")
    expect(step.get_by_role("group", name="Severity of the harm")).to_contain_text(
        "Children or vulnerable adults involved: at least 2."
    )
    step.get_by_role("group", name="Likelihood that harm follows").get_by_label("3 – ").check()
    step.get_by_role("group", name="Severity of the harm").get_by_label("3 – ").check()
    step.get_by_label("Likely outcomes for the service user(s)").fill(
        "Family's history could be read by a stranger"
    )
    step.get_by_label("Actions taken to minimise the impact").fill(
        "Police told; bag described to the local lost property office"
    )
    step.get_by_label("In one line, why is it reportable or not?").fill(
        "The bag is still missing and a stranger may read the bundle"
    )
    step.get_by_role("button", name="Check the result").click()
    step = page.locator("#next-step")
    preview = step.locator(".govuk-inset-text")
    expect(preview).to_contain_text("likelihood 3 × severity 3")
    expect(preview).to_contain_text("Reportable to the ICO.")
    expect(page.locator("main .govuk-tag").first).to_have_text("Notified")  # nothing saved
    assert Breach.get_by_id(breach.id).state == "notified"
    # The answers are still there for the real post.
    expect(
        step.get_by_role("group", name="Likelihood that harm follows").get_by_label("3 – ")
    ).to_be_checked()
    expect(step.get_by_label("Likely outcomes for the service user(s)")).to_have_value(
        "Family's history could be read by a stranger"
    )
    expect(step.get_by_label("Use the grid's result")).to_be_checked()
    step.get_by_role("button", name="Record the risk assessment").click()
    expect(page.locator("main .govuk-tag").first).to_have_text("Risk assessed")
    expect(page.locator("main")).to_contain_text("3 × 3")
    dpo.axe()
    dpo.close()

    # The practitioner who reported it tells the service user, face to face then in writing.
    page = pat.page
    page.reload()
    today = clock.uk_today()
    for legend, button in (
        ("Date of the face-to-face meeting", "Record the face-to-face meeting"),
        ("Date of the letter", "Record the letter"),
    ):
        step = page.locator("#next-step")
        group = step.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(str(today.day))
        group.get_by_label("Month").fill(str(today.month))
        group.get_by_label("Year").fill(str(today.year))
        step.get_by_role("button", name=button).click()
    expect(page.locator("main .govuk-tag").first).to_have_text("Service user informed")
    expect(page.locator("main")).to_contain_text("Told face to face on")
    expect(page.locator("#next-step")).to_contain_text("Nothing for you to do")
    pat.axe()
    pat.close()
    assert Breach.get_by_id(breach.id).state == "service_user_informed"


# -- 2. a secure email: drafted, checked by a colleague, sent, delivered -------------------


def test_a_secure_email_is_drafted_checked_sent_and_delivered_without_javascript(browser, base_url):
    description = "Parenting assessment, no-JS journey"
    pat = Person(browser, base_url, "pat")
    page = pat.page
    page.get_by_role("link", name="Send documents").first.click()
    _assert_no_script(page)
    page.get_by_role("button", name="Start a dispatch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Draft a secure dispatch")
    pat.axe()
    page.get_by_label("Case-system ID").fill("4455668")
    page.get_by_label("What are you sending?").fill(description)
    page.get_by_label("Secure email").check()
    page.get_by_label("Recipient's organisation").fill("Cafcass")
    page.get_by_label("Recipient's role").fill("Children's guardian")
    page.get_by_label("Email address or postal address").fill("guardian@cafcass.example.org")
    page.get_by_role("button", name="Save and ask for a check").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(description)
    expect(page.locator("#status")).to_contain_text("Status: Drafted")
    expect(page.get_by_role("button", name="Confirm the checks")).to_have_count(0)  # four eyes
    pat.axe()
    dispatch = Dispatch.get(Dispatch.description == description)

    sam = Person(browser, base_url, "sam")
    page = sam.page
    page.get_by_role("link", name="Send documents").first.click()
    page.get_by_role("row").filter(has_text=description).first.get_by_role("link").click()
    expect(page.locator("#status")).to_contain_text("Status: Drafted")
    sam.axe()
    # The conditional "Where?" field is simply visible without JavaScript.
    expect(page.get_by_label("Where?")).to_be_visible()
    page.get_by_label("Case record").check()
    page.get_by_label("The address or email matches that source exactly").check()
    page.get_by_label("The addressee is the right person").check()
    page.get_by_label("The recipient has a right to this information").check()
    page.get_by_label("Lawful basis or purpose for sharing").fill("Court direction to share")
    page.get_by_role("button", name="Confirm the checks").click()
    expect(page.locator("#status")).to_contain_text("Status: Checked")
    expect(page.locator("#status")).to_contain_text("Checked by")
    expect(page.locator("#status")).to_contain_text("Sam Patel")
    sam.axe()
    sam.close()

    page = pat.page
    page.reload()
    page.get_by_label("The attachment is password protected").check()
    page.get_by_role("button", name="Record as sent").click()
    # The whole page comes back (422) with the error summary in the panel.
    expect(page.locator("#status .govuk-error-summary")).to_contain_text(
        "Confirm the password is sent separately"
    )
    expect(page.locator("#status")).to_contain_text("Status: Checked")
    expect(page.get_by_label("The attachment is password protected")).to_be_checked()
    page.get_by_label("The password goes by a separate channel").check()
    page.get_by_role("button", name="Record as sent").click()
    expect(page.locator("#status")).to_contain_text("Status: Sent")
    expect(page.locator("#status .govuk-error-summary")).to_have_count(0)
    pat.axe()
    page.get_by_label("The recipient acknowledged receipt").check()
    page.get_by_role("button", name="Confirm delivery").click()
    expect(page.locator("#status")).to_contain_text("Status: Delivered")
    expect(page.locator("#status")).to_contain_text("Delivered")
    pat.axe()
    pat.close()
    assert Dispatch.get_by_id(dispatch.id).state == "delivered"


# -- 3. the kiosk --------------------------------------------------------------------------


def test_the_kiosk_journey_works_without_javascript(browser, base_url):
    from models.people import KioskFailure

    KioskFailure.delete().execute()  # other tests' wrong PINs at this kiosk
    record = approved_for_pat("Kiosk no-JS bundle")
    kiosk = Person(browser, base_url, "kiosk-north")
    page = kiosk.page
    expect(page).to_have_url(re.compile(r"/kiosk/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Take out or return papers")
    _assert_no_script(page)
    kiosk.axe()
    page.get_by_label("Staff number").fill("10002")
    page.get_by_label("PIN").fill(DEMO_PIN)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Pat Reyes")
    # No idle timer without JavaScript: the server's 60-second limit still applies.
    label = page.get_by_label("Scan the record's label")
    expect(label).to_be_focused()  # autofocus is HTML, not script
    page.keyboard.type(record.label_code)
    page.get_by_role("button", name="Find the record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiosk no-JS bundle")
    expect(page.locator("#status")).to_contain_text("Approved to take out")
    # Without the safeguards the papers cannot go out; what was ticked stays ticked.
    page.get_by_label("lockable bag").check()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("USB memory stick")
    expect(page.get_by_label("lockable bag")).to_be_checked()
    for text in ("password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(text).check()
    page.get_by_role("button", name="Take out").click()
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("Papers taken out")
    expect(banner).to_contain_text("You have been signed out of the kiosk")
    expect(page.get_by_label("Staff number")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take out or return papers")
    kiosk.close()
    assert Removal.get(Removal.record == record).state == "out"


# -- 4. keyboard only ----------------------------------------------------------------------

# The focused control, or for a GOV.UK radio or checkbox (the input is invisible) the label's
# ::before box that draws it. Its focus is visible when it has a box-shadow or an outline that
# is not transparent, and (since a GOV.UK button always has a box-shadow) when that focus
# style differs from the same control's style without focus.
FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let target = el, pseudo = null;
  if (el.matches('.govuk-radios__input, .govuk-checkboxes__input')) {
    target = el.parentElement.querySelector('label'); pseudo = '::before';
  }
  const look = () => {
    const s = getComputedStyle(target, pseudo);
    return {outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth,
            outlineColor: s.outlineColor, boxShadow: s.boxShadow,
            background: s.backgroundColor, border: s.borderTopWidth + ' ' + s.borderTopColor};
  };
  const focused = look();
  el.blur();
  const unfocused = look();
  el.focus();  // back where the keyboard left it (Tab continues from here)
  const outline = focused.outlineStyle !== 'none' && parseFloat(focused.outlineWidth) > 0
    && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(focused.outlineColor);
  const shadow = !!focused.boxShadow && focused.boxShadow !== 'none';
  const changed = JSON.stringify(focused) !== JSON.stringify(unfocused);
  return {
    tag: el.tagName, type: el.type || '', id: el.id,
    name: (el.labels && el.labels[0] ? el.labels[0].innerText : el.innerText || el.value || '')
      .trim().slice(0, 60),
    focused, unfocused, refocused: document.activeElement === el,
    visible: (outline || shadow) && changed,
  };
}"""


class Keyboard:
    """Tab, Space, Enter and typing only; every focused control must show its focus."""

    def __init__(self, page):
        self.page = page
        self.seen: list[dict] = []

    def focused(self) -> dict | None:
        info = self.page.evaluate(FOCUS_STYLE)
        if info is not None:
            self.seen.append(info)
            assert info["refocused"], f"focus could not be put back on {info}"
            assert info["visible"], f"no visible focus on {info}"
        return info

    def tab_to(self, name: str | re.Pattern, kind: str | None = None, limit: int = 60) -> dict:
        """Press Tab until the focused control's name (and type, if given) matches."""
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            info = self.focused()
            if info is None or (kind and info["type"] != kind):
                continue
            matched = (
                name.search(info["name"]) if isinstance(name, re.Pattern) else name in info["name"]
            )
            if matched:
                return info
        raise AssertionError(f"Tab never reached {name!r}; saw {[i['name'] for i in self.seen]}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)


def test_a_court_removal_is_requested_and_taken_out_by_keyboard_alone(browser, base_url):
    pat_user = User.by_username("pat")
    record = Record.create(
        case_id="5550505",
        description="Keyboard court bundle",
        team=pat_user.team_id,
        created_by=pat_user,
    )
    context = browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN)
    page = context.new_page()
    keys = Keyboard(page)

    page.goto("/sign-in")
    keys.tab_to("Username")
    keys.type("pat")
    keys.tab_to("Password")
    keys.type(DEMO_PASSWORD)
    keys.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(f"/records/{record.id}")  # the address bar
    check_accessibility(page)
    keys.tab_to("Take papers out of the office")
    keys.press("Space")  # a link styled as a button: Space works as on a button
    expect(page.get_by_role("heading", level=1)).to_have_text("Take papers out of the office")
    check_accessibility(page)
    assert keys.tab_to("Court")["type"] == "radio"
    keys.press("Space")
    expect(page.get_by_label("Court", exact=True)).to_be_checked()
    keys.tab_to("Which papers are you taking?")
    keys.type("Court bundle with chronology")
    assert keys.tab_to("Returned to the office")["type"] == "radio"
    keys.press("Space")
    due = clock.uk_today() + dt.timedelta(days=2)
    keys.tab_to("Day")
    keys.type(str(due.day))
    keys.tab_to("Month")
    keys.type(str(due.month))
    keys.tab_to("Year")
    keys.type(str(due.year))
    keys.tab_to("Continue")
    keys.press("Enter")
    status = page.locator("#status")
    expect(status).to_contain_text("Approved to take out")  # court: no approval needed
    check_accessibility(page)

    # Enter without every safeguard: refused in the panel, and focus moves to the error.
    keys.tab_to("lockable bag", kind="checkbox")
    keys.press("Space")
    keys.tab_to(re.compile(r"^Take out$"))
    keys.press("Enter")
    summary = status.locator(".govuk-error-summary")
    expect(summary).to_contain_text("USB memory stick")
    expect(summary).to_be_focused()
    # (Not blurred to compare: GOV.UK drops the summary's tabindex when it loses focus.)
    outline = summary.evaluate(
        "el => { const s = getComputedStyle(el);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    assert outline[2] not in ("transparent", "rgba(0, 0, 0, 0)"), outline
    check_accessibility(page)
    expect(page.get_by_label("lockable bag")).to_be_checked()  # what was ticked stays ticked
    for label in ("password protected", "USB memory stick", "notebook secure"):
        keys.tab_to(label, kind="checkbox")
        keys.press("Space")
    keys.tab_to(re.compile(r"^Take out$"))
    keys.press("Enter")
    expect(status).to_contain_text("Out of the office")
    # The button pressed is gone with the old panel: focus moves to the success banner in the
    # new panel (not the page body), so a screen reader announces what was done, and Tab
    # goes on from there to the panel's next control.
    banner = status.locator(".govuk-notification-banner")
    expect(banner).to_be_focused()
    expect(banner).to_contain_text("Papers taken out, safeguards confirmed")
    check_accessibility(page)
    keys.press("Tab")
    expect(status.get_by_role("button", name="Return papers")).to_be_focused()
    removal = Removal.get(Removal.record == record)
    assert removal.state == "out"
    assert len(keys.seen) > 15, keys.seen  # every control passed on the way was checked
    context.close()
