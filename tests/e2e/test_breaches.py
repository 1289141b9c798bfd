"""Breach cases in the browser: papers reported lost become a breach case that each role in
the breach chain walks to closed in its own browser; a near miss closes without telling a
service user; the ICO draft holds no identifiers; the 72-hour ICO clock runs out."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from machines import clock
from models.breaches import Breach
from models.people import User
from models.records import Record
from tests.e2e.conftest import (
    REFLOW,
    SCREENSHOTS,
    check_accessibility,
    confirm,
    screenshot,
    sign_in,
)
from tests.e2e.typing import fill_time, uk_minute

SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.travel_reset()
    yield
    clock.travel_reset()


def _context(browser, base_url):
    return browser.new_context(base_url=base_url, bypass_csp=True, viewport=SCREEN)


def _person(browser, base_url, username: str):
    context = _context(browser, base_url)
    page = context.new_page()
    sign_in(page, username)
    return context, page


def _open_case(page, reference: str) -> None:
    """From anywhere: Breaches in the navigation, then the case by its reference."""
    page.get_by_role("link", name="Breaches", exact=True).click()
    check_accessibility(page)
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Breach {reference}")
    check_accessibility(page)


def _next_step(page):
    return page.locator("#next-step")


def _stage(page):
    return page.locator("main .govuk-tag").first


# -- the steps, each done by one person on the case page ------------------------------------


def _notify(page, recipients: list[str], when: dt.datetime) -> None:
    step = _next_step(page)
    for label in recipients:
        group = step.get_by_role("group", name=label, exact=True)
        group.get_by_label("Name of the person told").fill(f"Named {label}")
        fill_time(group, "Date and time told", when)
    step.get_by_role("group", name=re.compile("media office advised")).get_by_label("No").check()
    step.get_by_label("Why?").fill("One bundle, no press interest; reputation not at risk")
    step.get_by_role("button", name="Record who was told").click()


def _assess(page, likelihood: str, severity: str, reportable_text: str) -> None:
    step = _next_step(page)
    step.get_by_role("group", name="Likelihood that harm follows").get_by_label(likelihood).check()
    step.get_by_role("group", name="Severity of the harm").get_by_label(severity).check()
    step.get_by_label("Likely outcomes for the service user(s)").fill(
        "Family's history could be read by a stranger"
    )
    step.get_by_label("Actions taken to minimise the impact").fill(
        "Route retraced, lost property office and transport company asked"
    )
    step.get_by_label("In one line, why is it reportable or not?").fill(
        "Still missing: a stranger may read it"
        if "Reportable" in reportable_text[:10]
        else "Found within minutes, nothing left the team"
    )
    step.get_by_role("button", name="Check the result").click()
    # The preview: the grid's answer shown, nothing saved yet.
    preview = page.locator("#next-step .govuk-inset-text")
    expect(preview).to_contain_text(reportable_text)
    expect(_stage(page)).to_have_text("Notified")
    # The default stays chosen: the grid's result is used unless someone overrides it.
    expect(step.get_by_label("Use the grid's result")).to_be_checked()
    check_accessibility(page)


def _refer_to_ico(page, reference: str = "IC-998877-X1Y2") -> None:
    """The ICO referral, recorded by someone in the breach chain once the ICO is told."""
    fill_time(page, "When was the ICO told?", uk_minute(-dt.timedelta(minutes=1)))
    page.get_by_label("ICO case reference").first.fill(reference)
    page.get_by_role("button", name="Record the ICO referral").first.click()


def _agree(page) -> None:
    step = _next_step(page)
    step.get_by_label("Your advice to the Assistant Director").fill(
        "No investigation; a reminder about the lockable bag to the whole team"
    )
    step.get_by_label("As Caldicott Guardian, I agree the decision may be recorded").check()
    step.get_by_role("button", name="Record your agreement").click()


def _decide(page, refer: bool, not_referred_reason: str | None = None) -> None:
    step = _next_step(page)
    step.get_by_label("Legal advice was taken").check()
    step.get_by_role("group", name="Disciplinary investigation?").get_by_label("No").check()
    if not_referred_reason:
        step.get_by_label("Why was it not referred to the ICO?").fill(not_referred_reason)
    group = step.get_by_role("group", name="Refer them to their professional regulator?")
    group.get_by_label("Yes" if refer else "No").check()
    step.get_by_role("button", name="Record the decision").click()


def _tell_the_service_user(page) -> None:
    """Face to face first, then the letter: two steps, each on its day (today here)."""
    today = clock.uk_today()
    for legend, button in (
        ("Date of the face-to-face meeting", "Record the face-to-face meeting"),
        ("Date of the letter", "Record the letter"),
    ):
        step = _next_step(page)
        group = step.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(str(today.day))
        group.get_by_label("Month").fill(str(today.month))
        group.get_by_label("Year").fill(str(today.year))
        step.get_by_role("button", name=button).click()


def _close(page) -> None:
    """Close the case; a referred one first records the ICO's outcome (no follow-up owed)."""
    outcome = page.locator("form", has=page.get_by_role("button", name="Record the ICO's outcome"))
    if outcome.count():
        outcome.get_by_label("No further action").check()
        today = clock.uk_today()
        group = outcome.get_by_role("group", name="The date of the ICO's outcome")
        group.get_by_label("Day").fill(str(today.day))
        group.get_by_label("Month").fill(str(today.month))
        group.get_by_label("Year").fill(str(today.year))
        outcome.get_by_role("button", name="Record the ICO's outcome").click()
        expect(page.locator("#ico-outcome ~ dl").first).to_contain_text("No further action")
    step = _next_step(page)
    step.get_by_label("My breach report is complete").check()
    step.get_by_label("Lessons learned").fill(
        "Bundles taken to court go in the lockable bag until they are back in the office"
    )
    step.get_by_role("button", name="Close the case").click()


# -- a removal's papers reported lost -------------------------------------------------------


def _papers_out(page, description: str) -> Record:
    pat = User.by_username("pat")
    record = Record.create(
        case_id="5550177", description=description, team=pat.team_id, created_by=pat
    )
    page.goto(f"/records/{record.id}")
    check_accessibility(page)
    page.get_by_role("button", name="Take papers out of the office").click()
    page.get_by_label("Court").check()
    page.get_by_label("Which papers are you taking?").fill("Court bundle with chronology")
    page.get_by_label("Returned to the office").check()
    due = clock.uk_today() + dt.timedelta(days=2)
    page.get_by_label("Day").fill(str(due.day))
    page.get_by_label("Month").fill(str(due.month))
    page.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Continue").click()
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Take out").click()
    expect(page.locator("#status")).to_contain_text("Out of the office")
    return record


def _report_lost(page, where: str, how: str = "Lost") -> None:
    status = page.locator("#status")
    status.get_by_text("Report the papers lost or stolen").click()
    # The panel has other date boxes (asking for more time): the report's own.
    lost = status.locator("details", has_text="Report the papers lost or stolen")
    # After a change made in place the form comes when the details is opened: wait for it, so
    # that the accessibility check sees the form itself.
    expect(lost.get_by_label("Where were they last seen?")).to_be_visible()
    check_accessibility(page)
    lost.get_by_label("Where were they last seen?").fill(where)
    fill_time(lost, "When were they last seen?", uk_minute(-dt.timedelta(minutes=5)))
    # The facts the breach case needs, asked now rather than guessed.
    lost.get_by_role("group", name="Were the papers lost or stolen?").get_by_label(how).check()
    lost.get_by_role("group", name="Do they concern children or vulnerable adults?").get_by_label(
        "Yes"
    ).check()
    lost.get_by_role("group", name=re.compile("special category data")).get_by_label(
        "Not known yet"
    ).check()
    lost.get_by_role("button", name="Report lost").click()
    confirm(page, "Report lost")
    expect(status).to_contain_text("lost")


def _lost_case(page, description: str, where: str) -> tuple[Record, Breach]:
    record = _papers_out(page, description)
    _report_lost(page, where)
    check_accessibility(page)
    breach = Breach.get(Breach.record == record.id)
    return record, breach


# -- 1. a loss, walked to closed by the breach chain ----------------------------------------


def test_lost_papers_open_a_breach_case_that_the_chain_walks_to_closed(browser, base_url):
    pat_context, pat = _person(browser, base_url, "pat")
    record, breach = _lost_case(pat, "Court bundle, volume 3", "On the train back from court")
    screenshot(pat, "breach-record-lost")

    # The case the loss opened: linked to the removal, loss, police details before notifying.
    _open_case(pat, breach.reference)
    expect(pat.locator(".govuk-caption-l")).to_contain_text("Loss")
    expect(_stage(pat)).to_have_text("Reported")
    expect(pat.locator("main")).to_contain_text("hours left to tell the ICO")
    linked = pat.get_by_role(
        "link", name=re.compile(r"Removal \d+ of Court bundle, volume 3, held by Pat Reyes")
    )
    expect(linked).to_be_visible()
    expect(_next_step(pat)).to_contain_text("record the police crime reference")
    expect(pat.locator("main")).to_contain_text("About 1 person, 1 record")
    # An empty reason field really is empty (not the word "None" saved as the reason).
    expect(pat.get_by_label("If there is no crime reference yet, say why")).to_have_value("")
    # The ICO draft is the breach chain's: the practitioner is not offered a page they
    # would be refused.
    expect(pat.get_by_role("link", name="ICO report draft (no personal data)")).to_have_count(0)
    expect(pat.get_by_role("link", name="Breach report (printable)")).to_be_visible()
    screenshot(pat, "breach-loss-reported")
    pat.get_by_label("Police crime reference number").fill("CAD 4471/25NOV")
    fill_time(pat, "When were the police told?", uk_minute(-dt.timedelta(minutes=1)))
    pat.get_by_label("The line manager has been told").check()
    pat.get_by_role("button", name="Save police details").click()
    expect(pat.locator("main")).to_contain_text("CAD 4471/25NOV")
    expect(pat.locator(".app-timeline")).not_to_contain_text("None")
    check_accessibility(pat)
    # Opened automatically, the report is thin: Pat checks and completes it.
    expect(_next_step(pat)).to_contain_text(re.compile("check and complete the report", re.I))
    check = pat.locator("#check-report")
    expect(check).to_contain_text("opened automatically when papers were reported lost")
    screenshot(pat, "breach-loss-check-report")
    check.get_by_label("Health data", exact=True).check()
    check.get_by_label("Basic personal identifiers").check()
    check.get_by_label("Roughly how many people's data?").fill("2")
    check.get_by_role("group", name="Are children or vulnerable adults involved?").get_by_label(
        "Yes"
    ).check()
    check.get_by_role("button", name="Save the report").click()
    expect(pat.locator("main")).to_contain_text("About 2 people, 1 record")
    expect(pat.locator(".app-timeline")).to_contain_text("Report checked and corrected")
    expect(pat.locator("#check-report")).to_contain_text("Correct the report")
    expect(_next_step(pat)).not_to_contain_text(re.compile("check and complete", re.I))
    check_accessibility(pat)
    # The reporter may notify (the machine's "handles the case"); here the line manager does.

    clock.travel(dt.timedelta(minutes=10))  # people are told after the loss was discovered
    lina_context, lina = _person(browser, base_url, "lina")
    _open_case(lina, breach.reference)
    told_at = uk_minute(-dt.timedelta(minutes=2))
    recipients = [
        "Director",
        "Business Improvement Manager",
        "Caldicott Guardian",
        "Information and Records Manager",
        "Governance Team",
        "Data Protection Officer",
        "Insurance Section",
    ]
    _notify(lina, recipients, told_at)
    expect(_stage(lina)).to_have_text("Notified")
    table = lina.get_by_role("table", name="Who was told, and when")
    for label in recipients:
        expect(table).to_contain_text(f"Named {label}")
    expect(table).to_contain_text("Considered, not advised")
    check_accessibility(lina)
    screenshot(lina, "breach-loss-notified")
    lina_context.close()

    # Risk assessment: the DPO checks the grid's result, then confirms it.
    dpo_context, dpo = _person(browser, base_url, "dpo")
    _open_case(dpo, breach.reference)
    # Children are involved: the risk form holds severity to 2 at least.
    expect(_next_step(dpo).get_by_role("group", name="Severity of the harm")).to_contain_text(
        "Children or vulnerable adults involved: at least 2."
    )
    _assess(dpo, "3 – ", "3 – ", "Reportable to the ICO.")
    screenshot(dpo, "breach-loss-risk-preview")
    _next_step(dpo).get_by_role("button", name="Record the risk assessment").click()
    expect(_stage(dpo)).to_have_text("Risk assessed")
    expect(dpo.locator("main")).to_contain_text("3 × 3")
    # The grid itself, with this case's square marked in words.
    expect(dpo.get_by_role("table", name=re.compile("Where this case sits"))).to_contain_text(
        "This case: Yes"
    )
    check_accessibility(dpo)
    # Reportable: telling the ICO is the next step, recorded as soon as it is done.
    expect(_next_step(dpo)).to_contain_text("Tell the ICO")
    _refer_to_ico(dpo)
    expect(dpo.locator("main")).to_contain_text("ICO clock stopped")
    expect(_stage(dpo)).to_have_text("Risk assessed")
    check_accessibility(dpo)
    dpo_context.close()

    # The practitioner tells the service user: face to face, then in writing.
    pat.reload()
    check_accessibility(pat)
    _tell_the_service_user(pat)
    expect(_stage(pat)).to_have_text("Service user informed")
    expect(pat.locator("main")).to_contain_text("Told face to face on")
    check_accessibility(pat)
    # The practitioner cannot decide: the next step is someone else's.
    expect(_next_step(pat)).to_contain_text("Nothing for you to do")
    pat_context.close()

    # The Caldicott Guardian records their agreement, then the Assistant Director decides.
    cal_context, cal = _person(browser, base_url, "cal")
    _open_case(cal, breach.reference)
    _agree(cal)
    expect(cal.locator("main")).to_contain_text("Cal Mensah agreed on")
    check_accessibility(cal)
    cal_context.close()
    ash_context, ash = _person(browser, base_url, "ash")
    expect(ash.get_by_role("heading", name="Waiting for you")).to_be_visible()
    waiting = ash.get_by_role("table", name=re.compile("Breach cases you can move on now"))
    row = waiting.get_by_role("row").filter(has_text=breach.reference)
    expect(row).to_contain_text("Service user informed")
    expect(row).to_contain_text("Record the decision")
    check_accessibility(ash)
    screenshot(ash, "home-waiting-for-you")
    _open_case(ash, breach.reference)
    _decide(ash, refer=True)
    expect(_stage(ash)).to_have_text("Decided")
    expect(ash.locator("main")).to_contain_text("reference IC-998877-X1Y2")
    expect(ash.locator("main")).to_contain_text("Social Work England")
    expect(ash.locator("main")).to_contain_text("ICO clock stopped")
    check_accessibility(ash)
    screenshot(ash, "breach-loss-decided")
    ash_context.close()

    # The Information and Records Manager closes it with the lessons learned.
    rita_context, rita = _person(browser, base_url, "rita")
    _open_case(rita, breach.reference)
    _close(rita)
    expect(_stage(rita)).to_have_text("Closed")
    expect(rita.get_by_role("heading", name="Case closed")).to_be_visible()
    expect(rita.locator("main")).to_contain_text("Lessons learned")
    expect(rita.locator("main")).to_contain_text("Closed on")
    check_accessibility(rita)
    screenshot(rita, "breach-loss-closed")
    rita.get_by_role("link", name="Breach report (printable)").click()
    expect(rita.get_by_role("heading", level=1)).to_have_text(f"Breach {breach.reference}")
    expect(rita.locator("main")).to_contain_text("Stage: Closed")
    check_accessibility(rita)
    screenshot(rita, "breach-loss-report")
    rita_context.close()


# -- 2. a near miss: no one to tell ---------------------------------------------------------


def _report_near_miss(page, data_left: str = "No") -> str:
    page.get_by_role("link", name="Breaches", exact=True).click()
    check_accessibility(page)
    page.get_by_role("button", name="Report a breach or near miss").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a breach or near miss")
    check_accessibility(page)
    page.get_by_label("Near miss").check()
    page.get_by_role("group", name="Did any data leave the council's control?").get_by_label(
        data_left
    ).check()
    page.get_by_label("What happened?").fill(
        "Letter put in the wrong envelope; spotted at the post room before it was sent"
    )
    fill_time(page, "When did it happen?", uk_minute(-dt.timedelta(hours=2)))
    fill_time(page, "When was it discovered?", uk_minute(-dt.timedelta(hours=1)))
    page.get_by_label("Basic personal identifiers").check()
    page.get_by_label("Roughly how many people's data?").fill("1")
    page.get_by_label("Roughly how many records?").fill("1")
    page.get_by_role("button", name="Report", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Breach BR-")
    expect(page.locator(".govuk-caption-l")).to_contain_text("Near miss")
    check_accessibility(page)
    return page.get_by_role("heading", level=1).inner_text().removeprefix("Breach ")


def test_a_near_miss_is_closed_without_telling_a_service_user(browser, base_url):
    sam_context, sam = _person(browser, base_url, "sam")
    reference = _report_near_miss(sam)
    expect(sam.locator("main")).to_contain_text("Data left the council's control")
    # No data left: not a personal data breach, so no 72 hours to tell the ICO.
    expect(sam.locator("main")).to_contain_text("No ICO deadline: near miss")
    expect(sam.locator("main")).not_to_contain_text("hours left to tell the ICO")
    screenshot(sam, "breach-near-miss-reported")
    # No police for a near miss: the reporter can notify at once.
    # A near miss: the Governance Team and the Information and Records Manager, no more.
    _notify(
        sam,
        ["Information and Records Manager", "Governance Team"],
        uk_minute(-dt.timedelta(minutes=30)),
    )
    expect(_stage(sam)).to_have_text("Notified")
    expect(sam.get_by_role("table", name="Who was told, and when")).not_to_contain_text("Insurance")
    check_accessibility(sam)
    # The reporter does not assess their own breach.
    expect(_next_step(sam)).to_contain_text("Nothing for you to do")
    sam_context.close()

    gov_context, gov = _person(browser, base_url, "gov")
    _open_case(gov, reference)
    _assess(gov, "1 – ", "1 – ", "Not reportable to the ICO.")
    _next_step(gov).get_by_role("button", name="Record the risk assessment").click()
    expect(_stage(gov)).to_have_text("Risk assessed")
    # A near miss that kept the data in: no face-to-face meeting, no letter.
    step = _next_step(gov)
    expect(step.get_by_role("button", name="Record that there is no one to tell")).to_be_visible()
    # Two alternatives, each under its own heading: told, or no one to tell.
    expect(step.get_by_role("heading", name="If the service user was told")).to_be_visible()
    expect(step.get_by_role("heading", name="Or, if there is no one to tell")).to_be_visible()
    check_accessibility(gov)
    screenshot(gov, "breach-near-miss-assessed")
    step.get_by_label(re.compile("Why is there no one to tell")).fill(
        "The letter never left the post room"
    )
    step.get_by_role("button", name="Record that there is no one to tell").click()
    expect(_stage(gov)).to_have_text("Service user informed")
    expect(gov.locator("main")).to_contain_text(
        "Not told (near miss, no data left the council's control): The letter never left"
    )
    check_accessibility(gov)
    gov_context.close()

    cal_context, cal = _person(browser, base_url, "cal")
    _open_case(cal, reference)
    _agree(cal)
    cal_context.close()
    ash_context, ash = _person(browser, base_url, "ash")
    _open_case(ash, reference)
    _decide(ash, refer=False)
    expect(_stage(ash)).to_have_text("Decided")
    check_accessibility(ash)
    ash_context.close()

    rita_context, rita = _person(browser, base_url, "rita")
    _open_case(rita, reference)
    _close(rita)
    expect(_stage(rita)).to_have_text("Closed")
    check_accessibility(rita)
    screenshot(rita, "breach-near-miss-closed")
    rita.get_by_role("link", name="ICO report draft (no personal data)").click()
    expect(rita.locator("main")).to_contain_text(
        "No: near miss, no data left the council's control"
    )
    check_accessibility(rita)
    rita_context.close()


# -- 3. the ICO draft holds no identifiers -------------------------------------------------


def test_the_ico_draft_holds_none_of_the_cases_identifiers(browser, base_url):
    pat_context, pat = _person(browser, base_url, "pat")
    record, breach = _lost_case(
        pat,
        "Child protection conference papers",
        "Left in a meeting room; the visit for case 5550177 ran late",
    )
    _open_case(pat, breach.reference)
    # The case page itself shows them: that is where people need them.
    expect(pat.locator("main")).to_contain_text(record.case_id)
    expect(pat.locator("main")).to_contain_text(record.label_code)
    # Only the breach chain drafts the ICO report.
    pat_context.close()

    dpo_context, dpo = _person(browser, base_url, "dpo")
    _open_case(dpo, breach.reference)
    dpo.get_by_role("link", name="ICO report draft (no personal data)").click()
    expect(dpo.get_by_role("heading", level=1)).to_have_text("ICO report draft")
    check_accessibility(dpo)
    screenshot(dpo, "breach-ico-draft")
    draft = dpo.locator("main").inner_text()
    # Built from the case's answers: the report's own words are not on it at all.
    assert "Left in a meeting room" not in draft and "5550177" not in draft
    assert "Not written yet: the Information and Records Manager writes the summary" in draft
    for identifier in (record.case_id, record.label_code, "Pat Reyes", "Reyes"):
        assert identifier.lower() not in draft.lower(), identifier
    assert breach.reference in draft  # the council's own reference is not personal data
    dpo_context.close()


# -- 4. the 72-hour ICO clock -------------------------------------------------------------


def test_the_case_page_counts_down_to_the_ico_deadline_then_shows_it_passed(browser, base_url):
    sam_context, sam = _person(browser, base_url, "sam")
    # A near miss whose data did leave the council's control: a breach, with its 72 hours.
    reference = _report_near_miss(sam, data_left="Yes")
    tag = sam.locator("main").get_by_text(re.compile(r"hours left to tell the ICO"))
    expect(tag).to_have_text(re.compile(r"^(70|71) hours left to tell the ICO$"))
    screenshot(sam, "breach-clock-running")
    sam_context.close()

    clock.travel(dt.timedelta(hours=72))  # discovered an hour before: now 73 hours on
    # Sessions lapse after 30 idle minutes: sign in again, as anyone would.
    sam_context, sam = _person(browser, base_url, "sam")
    _open_case(sam, reference)
    expect(sam.locator("main")).to_contain_text("ICO deadline passed")
    expect(sam.locator("main")).not_to_contain_text("hours left to tell the ICO")
    check_accessibility(sam)
    screenshot(sam, "breach-clock-overdue")
    # The list shows it too.
    sam.get_by_role("link", name="Breach cases").click()
    row = sam.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("ICO deadline passed")
    check_accessibility(sam)
    sam_context.close()


def test_the_records_manager_writes_the_summary_the_ico_draft_carries(browser, base_url):
    pat_context, pat = _person(browser, base_url, "pat")
    _record, breach = _lost_case(pat, "Supervision notes", "Pat Reyes's car, outside the office")
    pat_context.close()

    rita_context, rita = _person(browser, base_url, "rita")
    rita.goto(f"/breaches/{breach.id}/ico-draft")
    rita.get_by_role("button", name="Save the summary for the ICO").click()
    # Nothing saved: the errors say what to do, the summary first.
    expect(rita.locator(".govuk-error-summary")).to_contain_text("Enter what happened")
    expect(rita.locator(".govuk-error-summary")).to_contain_text("Confirm the summary holds")
    rita.get_by_label("Summary for the ICO").fill(
        "Supervision notes were left in a member of staff's car, which was broken into"
    )
    rita.get_by_label("Reported to the police").check()
    rita.get_by_label("I confirm this summary holds no personal data").check()
    rita.get_by_role("button", name="Save the summary for the ICO").click()
    draft = rita.locator("main")
    expect(draft).to_contain_text("left in a member of staff's car, which was broken into")
    expect(draft).to_contain_text("Reported to the police")
    expect(rita.get_by_role("heading", name="Change the summary for the ICO")).to_be_visible()
    check_accessibility(rita)
    screenshot(rita, "breach-ico-summary")
    assert "Reyes" not in draft.inner_text()
    rita_context.close()


# -- 5. a theft reported without a crime reference, the reference two days later ---------


def test_a_theft_without_a_crime_reference_gets_it_two_days_later(browser, base_url):
    pat_context, pat = _person(browser, base_url, "pat")
    pat.get_by_role("link", name="Breaches", exact=True).click()
    pat.get_by_role("button", name="Report a breach or near miss").click()
    pat.get_by_label("Theft", exact=True).check()
    pat.get_by_label("If there is no crime reference yet, say why").fill(
        "Reported on 101; the police will send the crime reference by email"
    )
    pat.get_by_label("My line manager has been told").check()
    pat.get_by_label("What happened?").fill(
        "Laptop bag with a child protection plan taken from the team car"
    )
    fill_time(pat, "When did it happen?", uk_minute(-dt.timedelta(hours=3)))
    fill_time(pat, "When was it discovered?", uk_minute(-dt.timedelta(hours=2)))
    pat.get_by_label("Basic personal identifiers").check()
    pat.get_by_label("Roughly how many people's data?").fill("2")
    pat.get_by_label("Roughly how many records?").fill("1")
    pat.get_by_role("button", name="Report", exact=True).click()
    expect(pat.get_by_role("heading", level=1)).to_contain_text("Breach BR-")
    reference = pat.get_by_role("heading", level=1).inner_text().removeprefix("Breach ")
    expect(pat.locator("main")).to_contain_text("None yet: Reported on 101")
    check_accessibility(pat)
    # The reason lets the case be notified; the police form stays.
    clock.travel(dt.timedelta(minutes=10))
    _notify(
        pat,
        [
            "Director",
            "Business Improvement Manager",
            "Caldicott Guardian",
            "Information and Records Manager",
            "Governance Team",
            "Data Protection Officer",
            "Insurance Section",
        ],
        uk_minute(-dt.timedelta(minutes=2)),
    )
    expect(_stage(pat)).to_have_text("Notified")
    expect(pat.get_by_role("heading", name="Police and line manager")).to_be_visible()
    pat_context.close()

    clock.travel(dt.timedelta(days=2))  # the live server's clock too: it runs in this process
    pat_context, pat = _person(browser, base_url, "pat")
    # Flagged on the home page's list, the breach list and the case until the reference comes.
    pat.get_by_role("link", name="Breaches", exact=True).click()
    row = pat.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("No police reference")
    check_accessibility(pat)
    pat.get_by_role("link", name=reference, exact=True).click()
    expect(pat.locator("main")).to_contain_text("No police reference")
    expect(_next_step(pat)).to_contain_text("Add the police crime reference when the police")
    screenshot(pat, "breach-theft-no-reference-yet")
    pat.get_by_label("Police crime reference number").fill("CAD 6120/27NOV")
    pat.get_by_label("Officer or police station").fill("PC 4471, Walworth police station")
    fill_time(pat, "When were the police told?", uk_minute(-dt.timedelta(days=2, hours=1)))
    pat.get_by_label("If there is no crime reference yet, say why").fill("")
    pat.get_by_role("button", name="Save police details").click()
    main = pat.locator("main")
    expect(main).to_contain_text("CAD 6120/27NOV (PC 4471, Walworth police station)")
    expect(main).not_to_contain_text("No police reference")
    expect(_stage(pat)).to_have_text("Notified")
    expect(pat.locator(".app-timeline")).to_contain_text("Police details recorded")
    check_accessibility(pat)
    screenshot(pat, "breach-theft-reference-added")
    pat.get_by_role("link", name="Breach cases").click()
    row = pat.get_by_role("row").filter(has_text=reference)
    expect(row).not_to_contain_text("No police reference")
    pat_context.close()


# -- 6. the ICO told before the letter: the clock stops on the list ------------------------


def _case_in(state: str, **facts) -> Breach:
    """A case moved on by hand to `state` (the steps before it are the other tests')."""
    from models.base import write_transaction

    pat = User.by_username("pat")
    now = clock.now()
    with write_transaction():
        breach = Breach.open_case(
            {
                "what_happened": "Assessment emailed to another family's social worker",
                "happened_at": now - dt.timedelta(hours=11),
                "discovered_at": now - dt.timedelta(hours=10),
                "category": "unauthorised_disclosure",
                "data_categories": ["basic_identifiers", "health"],
                "people_affected": 2,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": True,
                "data_left_control": True,
            },
            pat,
            now - dt.timedelta(hours=9),
        )
    Breach.update(state=state, **facts).where(Breach.id == breach.id).execute()
    return Breach.get_by_id(breach.id)


def test_an_ico_referral_before_the_letter_stops_the_clock_on_the_list(browser, base_url):
    now = clock.now()
    breach = _case_in(
        "risk_assessed",
        notified_at=now - dt.timedelta(hours=8),
        likelihood=3,
        severity=3,
        reportable=True,
        high_risk=False,
        reportable_reason="Opened by the other family's worker",
        likely_outcomes="Distress",
        actions_taken="Recipient deleted it",
        assessed_at=now - dt.timedelta(hours=7),
    )
    dpo_context, dpo = _person(browser, base_url, "dpo")
    _open_case(dpo, breach.reference)
    expect(_next_step(dpo)).to_contain_text("Tell the ICO")
    _refer_to_ico(dpo, "IC-445566-Z9Y8")
    main = dpo.locator("main")
    expect(main).to_contain_text("ICO case reference")
    expect(main).to_contain_text("IC-445566-Z9Y8")
    expect(main).to_contain_text("ICO clock stopped")
    expect(_stage(dpo)).to_have_text("Risk assessed")  # the letter is still to come
    check_accessibility(dpo)
    screenshot(dpo, "breach-ico-referred-before-the-letter")
    dpo_context.close()

    clock.travel(dt.timedelta(hours=70))  # discovered 80 hours ago: past the 72
    dpo_context, dpo = _person(browser, base_url, "dpo")
    dpo.get_by_role("link", name="Breaches", exact=True).click()
    row = dpo.get_by_role("row").filter(has_text=breach.reference)
    expect(row).to_contain_text("ICO clock stopped")
    expect(row).not_to_contain_text("ICO deadline passed")
    check_accessibility(dpo)
    dpo_context.close()

    # The letter comes later, on its own day; the clock stays stopped.
    pat_context, pat = _person(browser, base_url, "pat")
    _open_case(pat, breach.reference)
    _tell_the_service_user(pat)
    expect(_stage(pat)).to_have_text("Service user informed")
    expect(pat.locator("main")).to_contain_text("ICO clock stopped")
    check_accessibility(pat)
    pat_context.close()


# -- 7. a misdirected dispatch's case links back to it ---------------------------------------


def test_a_misdirected_dispatchs_case_links_back_to_the_dispatch(browser, base_url):
    from models.dispatches import Dispatch

    pat_user, sam = User.by_username("pat"), User.by_username("sam")
    now = clock.now()
    dispatch = Dispatch.create(
        team=pat_user.team_id,
        state="sent",
        case_id="5550199",
        description="Core assessment for the conference",
        method="secure_email",
        recipient_organisation="Cafcass",
        recipient_role="Children's guardian",
        address="guardian@cafcass.example.org",
        drafted_by=pat_user,
        drafted_at=now - dt.timedelta(hours=3),
        checked_by=sam,
        checked_at=now - dt.timedelta(hours=2),
        sent_by=pat_user,
        sent_at=now - dt.timedelta(hours=1),
    )
    pat_context, pat = _person(browser, base_url, "pat")
    pat.goto(f"/dispatches/{dispatch.id}")
    check_accessibility(pat)
    status = pat.locator("#status")
    status.get_by_text("It went to the wrong recipient").click()
    status.get_by_label("What happened?").fill("The guardian's office forwarded it back to us")
    status.get_by_role("group", name="Do they concern children or vulnerable adults?").get_by_label(
        "Yes"
    ).check()
    status.get_by_role("group", name=re.compile("special category data")).get_by_label(
        "No", exact=True
    ).check()
    check_accessibility(pat)
    status.get_by_role("button", name="Report as sent to the wrong recipient").click()
    # It cannot be undone: a page says what will happen and asks first.
    expect(pat.get_by_role("heading", level=1)).to_contain_text("wrong recipient?")
    check_accessibility(pat)
    pat.get_by_role("button", name="Report as sent to the wrong recipient").click()
    expect(status).to_contain_text("Status: Misdirected")
    status.get_by_role("link", name=re.compile("BR-")).click()
    expect(pat.get_by_role("heading", level=1)).to_contain_text("Breach BR-")
    back = pat.get_by_role("link", name=re.compile(f"Dispatch {dispatch.id}: Core assessment"))
    expect(back).to_be_visible()
    check_accessibility(pat)
    screenshot(pat, "breach-misdirected-links-back")
    back.click()
    expect(pat.get_by_role("heading", level=1)).to_contain_text(f"Dispatch {dispatch.id}")
    pat_context.close()


# -- 8. the Caldicott Guardian agrees, then the Assistant Director decides -------------------


def test_the_caldicott_guardian_agrees_and_the_assistant_director_decides(browser, base_url):
    now = clock.now()
    breach = _case_in(
        "service_user_informed",
        notified_at=now - dt.timedelta(hours=8),
        likelihood=3,
        severity=3,
        reportable=True,
        high_risk=False,
        reportable_reason="Opened by the other family's worker",
        likely_outcomes="Distress",
        actions_taken="Recipient deleted it",
        assessed_at=now - dt.timedelta(hours=7),
        ico_referred=True,
        ico_referred_at=now - dt.timedelta(hours=6),
        ico_reference="IC-112233-A1B1",
        ico_told_by="Dee Price",
        informed_in_person_on=clock.uk_today(),
        informed_in_writing_on=clock.uk_today(),
        informed_at=now - dt.timedelta(hours=1),
    )
    # Before the Caldicott Guardian agrees, the decision is not offered.
    ash_context, ash = _person(browser, base_url, "ash")
    _open_case(ash, breach.reference)
    expect(_next_step(ash)).to_contain_text("waits for the Caldicott Guardian")
    expect(_next_step(ash).get_by_role("button", name="Record the decision")).to_have_count(0)
    ash_context.close()

    cal_context, cal = _person(browser, base_url, "cal")
    waiting = cal.get_by_role("table", name=re.compile("Breach cases you can move on now"))
    expect(waiting.get_by_role("row").filter(has_text=breach.reference)).to_contain_text(
        "Record your agreement"
    )
    check_accessibility(cal)
    _open_case(cal, breach.reference)
    _agree(cal)
    expect(cal.locator("main")).to_contain_text("Cal Mensah agreed on")
    check_accessibility(cal)
    cal_context.close()

    ash_context, ash = _person(browser, base_url, "ash")
    _open_case(ash, breach.reference)
    step = _next_step(ash)
    expect(step).to_contain_text("The Caldicott Guardian, Cal Mensah, agreed on")
    expect(step).to_contain_text("Referred to the ICO on")  # the decision refers to it
    # The reporter is the staff member by default, with the regulator their profession gives.
    expect(step.get_by_label("Whose conduct is in question?")).to_contain_text(
        "Pat Reyes (Social worker: Social Work England)"
    )
    check_accessibility(ash)
    screenshot(ash, "breach-decision-after-agreement")
    _decide(ash, refer=True)
    expect(_stage(ash)).to_have_text("Decided")
    main = ash.locator("main")
    expect(main).to_contain_text("Social Work England")
    expect(main).to_contain_text("With the Caldicott Guardian")
    check_accessibility(ash)
    ash_context.close()


# Words of the cells that the browser split over two lines.
BROKEN_WORDS = """(selector) => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.parentElement.closest(".govuk-visually-hidden")) continue;  // not seen
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


def test_the_risk_grid_never_splits_a_word_and_fits_320_pixels(page):
    # At 5 x 5 the marked square holds the grid's longest words ("This case: Yes, high risk").
    now = clock.now()
    assessed = _case_in(
        "risk_assessed",
        notified_at=now - dt.timedelta(hours=8),
        likelihood=5,
        severity=5,
        reportable=True,
        high_risk=True,
        reportable_reason="Sent to the wrong family",
        likely_outcomes="Distress",
        actions_taken="Recipient deleted it",
        assessed_at=now - dt.timedelta(hours=7),
    )
    sign_in(page, "rita")
    page.set_viewport_size(REFLOW)
    page.goto(f"/breaches/{assessed.id}")
    grid = page.locator(".app-risk-grid").first
    grid.scroll_into_view_if_needed()
    assert page.evaluate(BROKEN_WORDS, ".app-risk-grid th, .app-risk-grid td") == []
    assert grid.evaluate("t => t.getBoundingClientRect().right") <= REFLOW["width"]
    # The headers are short on screen and whole to a screen reader.
    expect(grid.get_by_role("columnheader").nth(0)).to_have_text(re.compile("Likelihood 1"))
    expect(grid.get_by_role("rowheader").nth(0)).to_have_text(
        re.compile("Severity 5: Catastrophic")
    )
    grid.screenshot(path=str(SCREENSHOTS / "risk-grid-320.png"))
    # A long page at 320 px: its contents list takes a person straight to a section.
    contents = page.get_by_role("navigation", name="Contents")
    expect(contents.get_by_role("link")).to_have_text(
        ["Next step", "What happened", "Risk assessment", "Reports", "Timeline"]
    )
    contents.screenshot(path=str(SCREENSHOTS / "breach-contents-320.png"))
    contents.get_by_role("link", name="Timeline").click()
    expect(page.get_by_role("heading", name="Timeline", exact=True)).to_be_in_viewport()
    expect(page).to_have_url(re.compile("#timeline$"))
