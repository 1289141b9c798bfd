"""Custody that fits a working team, in the browser, with axe-core on each page: a line
manager's own request agreed by her director, more time asked and agreed, a destruction
witnessed by a colleague (JavaScript off), the kiosk for a colleague and for court, a remote
working agreement from ask to expiry, the records list filtered and exported, and the end
states nothing else walks to: declined and cancelled requests, a cancelled dispatch and the
Caldicott Guardian's exemption from telling the service user."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from playwright.sync_api import expect

from demo.accounts import DEMO_PIN
from machines import clock
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User
from models.records import Record, Removal
from models.remote_working import RemoteAgreement
from tests.e2e.conftest import check_accessibility, confirm, screenshot, sign_in
from tests.http.journeys.custody import papers_held

SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.travel_reset()
    yield
    clock.travel_reset()


def _person(browser, base_url, username: str, javascript: bool = True):
    context = browser.new_context(
        base_url=base_url, bypass_csp=True, viewport=SCREEN, java_script_enabled=javascript
    )
    page = context.new_page()
    sign_in(page, username, javascript=javascript)
    return context, page


def _record(description: str, owner: str = "pat", case_id: str = "5550303") -> Record:
    person = User.by_username(owner)
    return Record.create(
        case_id=case_id, description=description, team=person.team_id, created_by=person
    )


def _out(description: str, holder: str = "pat", due_in: int = 3, due_kind: str = "return"):
    person = User.by_username(holder)
    five_days_ago = clock.now() - dt.timedelta(days=5)
    return papers_held(
        person,
        description,
        "out",
        due_in,
        case_id="5550303",
        requester_manager=person.line_manager_id,
        approval_route="own_manager",
        papers="Court bundle",
        due_kind=due_kind,
        requested_at=five_days_ago,
        taken_out_at=five_days_ago,
    ).record


def _date(page, days: int, within=None) -> None:
    scope = within or page
    day = clock.uk_today() + dt.timedelta(days=days)
    scope.get_by_label("Day").fill(str(day.day))
    scope.get_by_label("Month").fill(str(day.month))
    scope.get_by_label("Year").fill(str(day.year))


def _ask_for_papers(page, purpose: str, reason: str | None = None) -> None:
    page.get_by_role("button", name="Take papers out of the office").click()
    check_accessibility(page)
    page.get_by_label(purpose).check()
    if reason:
        page.get_by_label("Why do the papers need to leave the office?").fill(reason)
    page.get_by_label("Which papers are you taking?").fill("Chronology and assessment")
    page.get_by_label("Returned to the office").check()
    _date(page, 3)
    page.get_by_role("button", name="Continue").click()


# -- A line manager's own request, agreed by her manager (a director) ----------------------


def test_a_line_managers_own_request_is_agreed_by_her_director(browser, base_url):
    record = _record("Manager's supervision file", owner="lina")
    lina_context, lina = _person(browser, base_url, "lina")
    lina.goto(f"/records/{record.id}")
    lina.get_by_role("button", name="Take papers out of the office").click()
    expect(lina.locator("#who-is-asked")).to_have_text(
        "Dana Whitfield, your line manager, will be asked to agree it."
    )
    lina.go_back()
    _ask_for_papers(lina, "Something else", "Supervision notes for an appraisal at home")
    status = lina.locator("#status")
    expect(status).to_contain_text("Awaiting approval")
    expect(status).to_contain_text("Waiting for Dana Whitfield")
    expect(status.get_by_role("button", name="Approve")).to_have_count(0)  # never her own
    check_accessibility(lina)

    dana_context, dana = _person(browser, base_url, "dana")
    dana.get_by_role("link", name=re.compile(r"waiting for your approval")).click()
    expect(dana.get_by_role("heading", level=1)).to_have_text("Requests to approve")
    expect(dana.locator("main")).to_contain_text("Chronology and assessment")  # which papers
    check_accessibility(dana)
    dana.get_by_role("link", name="Manager's supervision file").click()
    dana.get_by_role("button", name="Approve").click()
    expect(dana.locator("#status")).to_contain_text("Approved to take out")
    running = dana.get_by_label("Copy this into the case's running record")
    assert "Agreed by Dana Whitfield" in running.input_value()
    check_accessibility(dana)
    screenshot(dana, "team-director-approves-manager")
    dana_context.close()

    lina.goto("/")
    expect(lina.locator("main")).to_contain_text("Decisions on your requests")
    expect(lina.locator("main")).to_contain_text("by Dana Whitfield")
    check_accessibility(lina)
    lina_context.close()


# -- More time, asked and agreed ---------------------------------------------------------------


def test_more_time_is_asked_for_and_agreed(browser, base_url):
    record = _out("Overdue care proceedings bundle", due_in=-2)
    pat_context, pat = _person(browser, base_url, "pat")
    pat.goto(f"/records/{record.id}")
    status = pat.locator("#status")
    expect(status).to_contain_text("Overdue by")
    ask = status.locator("details", has_text="Ask for more time")
    ask.locator("summary").click()
    _date(pat, 6, within=ask)
    ask.get_by_label("Why is more time needed?").fill("The final hearing moved to next week")
    check_accessibility(pat)
    ask.get_by_role("button", name="Ask for more time").click()
    expect(status).to_contain_text("More time asked for")
    check_accessibility(pat)
    pat_context.close()

    lina_context, lina = _person(browser, base_url, "lina")
    lina.get_by_role("link", name=re.compile(r"for more time with papers")).click()
    expect(lina.locator("main")).to_contain_text("The final hearing moved to next week")
    check_accessibility(lina)
    lina.get_by_role("link", name="Overdue care proceedings bundle").click()
    lina.get_by_role("button", name=re.compile(r"Agree more time \(until")).click()
    status = lina.locator("#status")
    expect(status).to_contain_text("Return date moved")
    expect(status).not_to_contain_text("Overdue by")
    expect(lina.locator(".app-timeline")).to_contain_text("More time agreed")
    check_accessibility(lina)
    screenshot(lina, "team-more-time-agreed")
    lina_context.close()
    due = Removal.get(Removal.record == record).due_on
    assert due == clock.uk_today() + dt.timedelta(days=6)


# -- A destruction witnessed by a colleague, with JavaScript off --------------------------------


def _axe_html(axe_page, html: str) -> None:
    """Check a page a JavaScript-off browser got from a POST (it has no URL to load again):
    its HTML in a JavaScript-on page of the same site, stylesheets and all."""
    axe_page.goto("/")
    axe_page.set_content(html)
    check_accessibility(axe_page)


def test_a_destruction_is_witnessed_by_a_colleague_without_javascript(browser, base_url):
    record = _out("Duplicate assessment copies", due_kind="destroy")
    context, page = _person(browser, base_url, "pat", javascript=False)
    axe_context, axe_page = _person(browser, base_url, "pat")
    page.goto(f"/records/{record.id}")
    assert "js-enabled" not in (page.locator("body").get_attribute("class") or "")
    page.get_by_text("Record that the papers were destroyed").click()  # <details>, no script
    page.get_by_label("Shredded").check()
    witness = page.get_by_label("Who saw it done?")
    options = witness.locator("option").all_inner_texts()
    assert "Sam Patel" in options and "Pat Reyes" not in options  # never the holder
    witness.select_option(label="Sam Patel")
    _axe_html(axe_page, page.content())
    page.get_by_role("button", name="Record destruction").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Record that the papers were destroyed?"
    )
    expect(page.locator("#confirm-answers")).to_contain_text("Sam Patel")
    _axe_html(axe_page, page.content())
    page.get_by_role("button", name="Record destruction").click()
    expect(page.locator("#status")).to_contain_text("destroyed")
    expect(page.locator("#status")).to_contain_text("witnessed by Sam Patel")
    expect(page.locator(".app-timeline")).to_contain_text("Witness: Sam Patel")
    axe_page.goto(page.url)
    check_accessibility(axe_page)
    axe_context.close()
    context.close()
    removal = Removal.get(Removal.record == record)
    assert (removal.state, removal.witnessed_by.username) == ("destroyed", "sam")


# -- The kiosk: back for a colleague, and out for court -------------------------------------


def _identify(page, staff_number: str) -> None:
    page.get_by_label("Staff number").fill(staff_number)
    page.get_by_label("PIN").fill(DEMO_PIN)
    page.get_by_role("button", name="Continue").click()


def _scan(page, record: Record) -> None:
    page.get_by_label("Scan the record's label").fill(record.label_code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(record.description)


def test_the_kiosk_takes_papers_back_for_a_colleague_and_out_for_court(browser, base_url):
    from models.people import KioskFailure

    KioskFailure.delete().execute()  # other tests' wrong PINs at this kiosk
    away = _out("Pat's conference minutes")
    in_office = _record("Court bundle, final hearing")
    context, page = _person(browser, base_url, "kiosk-north")
    _identify(page, "10003")  # Sam, bringing back Pat's papers
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Sam Patel")
    _scan(page, away)
    check_accessibility(page)
    page.get_by_role("button", name="Return papers for Pat Reyes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are the papers back in the office?")
    confirm(page, "Return papers for Pat Reyes")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Papers returned")
    check_accessibility(page)

    _identify(page, "10002")  # Pat, off to court without her laptop
    _scan(page, in_office)
    expect(page.get_by_role("heading", level=2, name="Take these papers out")).to_be_visible()
    check_accessibility(page)
    page.get_by_label("Court").check()
    page.get_by_label("Which papers are you taking?").fill("Final hearing bundle")
    page.get_by_label("Returned to the office").check()
    _date(page, 2)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status")).to_contain_text("Approved to take out")
    check_accessibility(page)
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Papers taken out")
    screenshot(page, "team-kiosk-court")
    context.close()

    lina_context, lina = _person(browser, base_url, "lina")
    lina.goto(f"/records/{away.id}")
    expect(lina.locator(".app-timeline")).to_contain_text(
        "Papers returned to the office by Sam Patel on behalf of Pat Reyes at Children North kiosk"
    )
    lina.goto(f"/records/{in_office.id}")
    timeline = lina.locator(".app-timeline")
    expect(timeline).to_contain_text("Removal requested by Pat Reyes at Children North kiosk")
    expect(timeline).to_contain_text(
        "Papers taken out, safeguards confirmed by Pat Reyes at Children North kiosk"
    )
    check_accessibility(lina)
    lina_context.close()


# -- Remote working: asked, agreed and expired -------------------------------------------------


def test_remote_working_is_asked_agreed_and_expires(browser, base_url, live_app):
    pat_context, pat = _person(browser, base_url, "pat")
    pat.get_by_role("link", name="Working remotely").click()
    check_accessibility(pat)
    pat.get_by_role("button", name="Ask to work remotely").click()
    expect(pat.locator("#who-is-asked")).to_contain_text("Lina Okafor, your line manager")
    pat.get_by_label("Where will you work from?").fill("Home")
    pat.get_by_label("Why do you need to work there?").fill("Writing the parenting assessment")
    _date(pat, 1)
    check_accessibility(pat)
    pat.get_by_role("button", name="Ask for agreement").click()
    expect(pat.locator("#status")).to_contain_text("Waiting for agreement")
    check_accessibility(pat)
    pat_context.close()

    lina_context, lina = _person(browser, base_url, "lina")
    lina.get_by_role("link", name=re.compile(r"to work remotely (is|are) waiting")).click()
    expect(lina.locator("main")).to_contain_text("Writing the parenting assessment")
    lina.get_by_role("link", name="Pat Reyes").last.click()
    check_accessibility(lina)
    lina.get_by_role("button", name="Agree").click()
    expect(lina.locator("#status")).to_contain_text("Agreed")
    lina.get_by_role("link", name="Board").click()
    expect(lina.locator("#remote-working")).to_contain_text("Pat Reyes")
    check_accessibility(lina)
    lina_context.close()

    agreement = RemoteAgreement.select().order_by(RemoteAgreement.id.desc()).get()
    clock.travel(dt.timedelta(days=2))  # its last day has passed
    result = live_app.test_cli_runner().invoke(args=["expire-agreements"])
    assert result.exit_code == 0, result.output
    assert RemoteAgreement.get_by_id(agreement.id).state == "expired"
    pat_context, pat = _person(browser, base_url, "pat")
    pat.goto(f"/remote-working/{agreement.id}")
    expect(pat.locator("#status")).to_contain_text("Expired")
    expect(pat.locator(".app-timeline")).to_contain_text("Expired: the end date passed")
    check_accessibility(pat)
    screenshot(pat, "team-remote-expired")
    pat_context.close()


# -- Where every record is: filtered and exported ----------------------------------------------


def test_the_records_list_is_filtered_and_exported(browser, base_url):
    _out("Whereabouts test bundle, out")
    context, page = _person(browser, base_url, "rita")
    page.get_by_role("link", name="Records", exact=True).click()
    page.get_by_role("link", name="Where every record is").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where every record is")
    check_accessibility(page)
    page.get_by_label("Where", exact=True).select_option(label="Out of the office")
    page.get_by_label("Out with").select_option(label="Pat Reyes")
    page.get_by_role("button", name="Apply filters").click()
    table = page.locator("#records-list")
    expect(table).to_contain_text("Whereabouts test bundle, out")
    expect(table).to_contain_text("Out with Pat Reyes until")
    expect(table).not_to_contain_text("In the office")
    check_accessibility(page)
    screenshot(page, "team-records-where")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these records as CSV").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))
    assert rows[0][0] == "Case-system ID"
    assert all(row[4] == "out" and row[6] == "Pat Reyes" for row in rows[1:])
    assert "Whereabouts test bundle, out" in {row[1] for row in rows[1:]}
    context.close()


# -- End states no other journey reaches ----------------------------------------------------------


def test_a_request_is_declined_with_a_reason_the_requester_sees(browser, base_url):
    record = _record("Declined request bundle")
    pat_context, pat = _person(browser, base_url, "pat")
    pat.goto(f"/records/{record.id}")
    _ask_for_papers(pat, "Something else", "Reading at home")
    expect(pat.locator("#status")).to_contain_text("Awaiting approval")

    lina_context, lina = _person(browser, base_url, "lina")
    lina.goto(f"/records/{record.id}")
    lina.get_by_text("Decline this request").click()
    lina.get_by_label("Why are you declining?").fill("Read the summary in the office instead")
    lina.get_by_role("button", name="Decline").click()
    expect(lina.get_by_role("heading", level=1)).to_have_text("Decline this request?")
    confirm(lina, "Decline")
    expect(lina.locator("#status")).to_contain_text("declined by Lina Okafor")
    check_accessibility(lina)
    lina_context.close()

    pat.goto("/")
    decisions = pat.locator("main")
    expect(decisions).to_contain_text("Declined")
    expect(decisions).to_contain_text("Why: Read the summary in the office instead")
    check_accessibility(pat)
    pat_context.close()
    assert Removal.get(Removal.record == record).state == "declined"


def test_a_request_is_cancelled_after_a_confirmation(browser, base_url):
    record = _record("Cancelled court bundle")
    context, page = _person(browser, base_url, "pat")
    page.goto(f"/records/{record.id}")
    _ask_for_papers(page, "Court")
    expect(page.locator("#status")).to_contain_text("Approved to take out")
    page.get_by_role("button", name="Cancel request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this request?")
    confirm(page, "Cancel request")
    expect(page.locator("#status")).to_contain_text("In the office")
    expect(page.locator("#status")).to_contain_text("cancelled")
    check_accessibility(page)
    context.close()
    assert Removal.get(Removal.record == record).state == "cancelled"


def test_a_dispatch_is_cancelled_after_a_confirmation(browser, base_url):
    context, page = _person(browser, base_url, "pat")
    page.goto("/send/new")
    page.get_by_label("Case-system ID").fill("5550404")
    page.get_by_label("What are you sending?").fill("Letter to be cancelled")
    page.get_by_label("Secure email").check()
    page.get_by_label("Recipient's organisation").fill("Cafcass")
    page.get_by_label("Recipient's role").fill("Children's guardian")
    page.get_by_label("Email address or postal address").fill("guardian@cafcass.example.org")
    page.get_by_role("button", name=re.compile("Save")).click()
    expect(page.locator("#status")).to_contain_text("Drafted")
    page.get_by_role("button", name="Cancel this dispatch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this dispatch?")
    confirm(page, "Cancel this dispatch")
    expect(page.locator("#status")).to_contain_text("Status: Cancelled")
    expect(page.locator(".app-timeline")).to_contain_text("Dispatch cancelled")
    check_accessibility(page)
    context.close()
    assert Dispatch.select().order_by(Dispatch.id.desc()).get().state == "cancelled"


def _risk_assessed_case() -> Breach:
    """A wrong-recipient case, notified and risk assessed, through the machine (demo steps)."""
    from demo.activity import _breach_step, _told_everyone
    from machines.risk import default_grid
    from models.base import write_transaction

    sam, lina = User.by_username("sam"), User.by_username("lina")
    now = clock.now()
    with write_transaction():
        case = Breach.open_case(
            {
                "what_happened": "A letter went to a previous address on the case record.",
                "happened_at": now - dt.timedelta(hours=6),
                "discovered_at": now - dt.timedelta(hours=5),
                "category": "wrong_recipient",
                "data_categories": ["basic_identifiers"],
                "people_affected": 1,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": False,
                "data_left_control": True,
            },
            sam,
            now - dt.timedelta(hours=5),
            case_id="5550505",
        )
    _breach_step(
        case,
        "notify",
        sam,
        now - dt.timedelta(hours=4),
        {
            "notifications": _told_everyone("wrong_recipient", now - dt.timedelta(hours=4)),
            "media_advised": False,
            "media_reason": "One letter to one household.",
        },
    )
    _breach_step(
        case,
        "assess_risk",
        lina,
        now - dt.timedelta(hours=3),
        {
            "likelihood": 3,
            "severity": 3,
            "likely_outcomes": "Distress if the letter is read by the previous tenant.",
            "actions_taken": "Asked the recipient to return it unopened.",
            "reportable_override": None,
            "reportable_reason": "A letter to one household, asked back unopened.",
            "grid": default_grid(),
        },
    )
    return Breach.get_by_id(case.id)


def test_the_caldicott_guardian_approves_an_exemption_from_telling_the_service_user(
    browser, base_url
):
    case = _risk_assessed_case()
    assert case.state == "risk_assessed"
    context, page = _person(browser, base_url, "cal")
    page.goto(f"/breaches/{case.id}")
    check_accessibility(page)
    page.get_by_text("Record an exemption from telling the service user").click()
    page.get_by_label("Why should the service user not be told?").fill(
        "Telling the family would put the child at risk of harm"
    )
    page.get_by_label("As Caldicott Guardian, I approve this exemption").check()
    page.get_by_role("button", name="Approve the exemption").click()
    expect(page.locator("main")).to_contain_text("Service user informed")
    expect(page.locator(".app-timeline")).to_contain_text(
        "Exemption from telling the service user approved by Cal Mensah"
    )
    check_accessibility(page)
    screenshot(page, "team-caldicott-exemption")
    context.close()
    assert Breach.get_by_id(case.id).state == "service_user_informed"
