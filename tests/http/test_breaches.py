"""Breach handling over HTTP: need to know, every step, refusals, bad input, races, clocks, reports.

Each test asserts what a person would notice: the status, the page (buttons and error summary),
and that nothing was saved when something was refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading

import pytest

from machines import clock
from models.audit import AuditEvent
from models.breaches import Breach, Notification
from models.records import Removal
from tests.http.journeys import Cast, Page, ago, to_the_minute, typed
from tests.http.journeys.breaches import (
    AGREE,
    ASSESS,
    CHAIN,
    CLOSE,
    EVENTS,
    STATE_AFTER,
    STEPS,
    audit_count,
    audit_events,
    breach_staff,
    decide_data,
    fresh,
    has_form,
    ico_summary,
    latest,
    letter_data,
    meeting_data,
    notify_data,
    outcome_data,
    page,
    police,
    police_done,
    refer_data,
    report,
    send,
    walk,
)
from tests.http.journeys.custody import papers_out, report_lost
from views import paging


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


@pytest.fixture
def case(cast):
    """A breach reported by Pat (Children North, managed by Lina), in `reported`."""
    assert report(cast["pat"]).status_code == 303
    return latest()


# -- reporting -----------------------------------------------------------------------------


def test_anyone_can_report_and_the_case_opens_with_its_audit_event(cast, staff):
    response = report(cast["pat"], case_id="1234567")
    assert response.status_code == 303
    breach = latest()
    assert response.headers["Location"].endswith(f"/breaches/{breach.id}")
    assert breach.state == "reported"
    assert breach.reference == f"BR-{clock.now():%Y}-0001"
    assert breach.reported_by_id == staff["pat"].id
    assert breach.reporter_manager_id == staff["lina"].id
    assert audit_events(breach) == ["report"]
    html = page(cast["pat"], breach)
    assert "Breach BR-" in html and "Reported" in html
    assert "Record who was told" in html  # the reporter may record the notifications


def test_report_with_bad_input_shows_an_error_summary_and_saves_nothing(cast):
    web = cast["pat"]
    web.get("/breaches/new")
    response = web.post(
        "/breaches/new",
        typed(
            {
                "category": "",
                "what_happened": "",
                "happened_at": ago(hours=1),
                "discovered_at": ago(hours=2),
                "people_affected": "lots",
                "records_affected": "",
            }
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "Select what kind of breach it was" in html
    assert "Describe what happened" in html
    assert "must be the same as or after when it happened" in html
    assert "Number of people must be a whole number" in html
    assert Breach.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.entity_type == "breach").count() == 0


def test_report_in_the_future_is_refused(cast):
    response = report(cast["pat"], happened_at=ago(hours=-3), discovered_at=ago(hours=-2))
    assert response.status_code == 422
    assert "must be in the past" in response.get_data(as_text=True)
    assert Breach.select().count() == 0


# -- need to know --------------------------------------------------------------------------


@pytest.mark.parametrize("outsider", ["alex", "mo", "sam"])
def test_someone_without_need_to_know_gets_404_everywhere_and_sees_it_in_no_list(
    cast, case, outsider
):
    web = cast[outsider]
    for url in (
        f"/breaches/{case.id}",
        f"/breaches/{case.id}/report",
        f"/breaches/{case.id}/ico-draft",
    ):
        web.get(url, status=404)
    before = (fresh(case).state, fresh(case).version, audit_count(case))
    for event in EVENTS:
        assert send(web, case, event, **notify_data(case)).status_code == 404, event
    assert (
        web.post(
            f"/breaches/{case.id}/police",
            typed(
                {
                    "police_reference": "CR/1",
                    "police_told_at": ago(minutes=30),
                    "line_manager_told": "yes",
                    "version": case.version,
                }
            ),
        ).status_code
        == 404
    )
    assert (fresh(case).state, fresh(case).version, audit_count(case)) == before
    listing = web.get("/breaches").get_data(as_text=True)
    assert case.reference not in listing
    assert "There are no breach cases you need to know about" in listing
    assert case.reference not in web.get("/").get_data(as_text=True)
    web.get("/register", status=403)
    web.get("/breaches/register.csv", status=403)
    if outsider == "mo":  # another team's line manager: not on their board either
        assert case.reference not in web.get("/board").get_data(as_text=True)


@pytest.mark.parametrize("insider", ["pat", "lina", *CHAIN])
def test_the_reporter_their_manager_and_every_breach_role_can_see_the_case(cast, case, insider):
    web = cast[insider]
    assert case.reference in page(web, case)
    assert case.reference in web.get("/breaches").get_data(as_text=True)
    assert case.reference in web.get(f"/breaches/{case.id}/report").get_data(as_text=True)
    # The ICO draft is the breach chain's working paper.
    web.get(f"/breaches/{case.id}/ico-draft", status=200 if insider in CHAIN else 403)


def test_a_persons_case_list_counts_a_few_pages_ahead_and_says_there_are_more(
    cast, staff, monkeypatch
):
    # A practitioner's own cases pile up with the years: their list counts them only so far
    # past the page asked for (here one page), and says there are more.
    monkeypatch.setattr(paging, "COUNT_AHEAD", 1)
    pat = staff["pat"]
    for n in range(60):
        Breach.create(
            reference=f"BR-2026-{n + 1:04d}",
            team=pat.team_id,
            reported_by=pat,
            reporter_manager=pat.line_manager_id,
            reported_at=clock.now(),
            what_happened="Letter sent to an old address",
            happened_at=clock.now(),
            discovered_at=clock.now() - dt.timedelta(minutes=n),
            category="wrong_recipient",
        )

    def caption(web, url: str) -> str:
        html = web.get(url).get_data(as_text=True)
        return " ".join(re.search(r"<caption[^>]*>(.*?)</caption>", html, re.S).group(1).split())

    assert caption(cast["pat"], "/breaches") == "More than 50 cases you can see"
    assert caption(cast["lina"], "/breaches?page=2") == "60 cases you can see"  # as manager
    third = cast["pat"].get("/breaches?page=3").get_data(as_text=True)
    assert "BR-2026-0060" in third and "BR-2026-0051" in third  # the oldest: every case reached
    # Those who see every case read the tally: exact on any page.
    assert caption(cast["gov"], "/breaches") == "60 cases you can see"


# -- the whole journey ---------------------------------------------------------------------


def test_each_step_moves_the_case_on_and_writes_one_audit_event(cast, case, staff):
    for event, who, form in STEPS:
        before = fresh(case)
        html = page(cast[who], case)
        assert has_form(html, case, event), (who, event)
        response = send(cast[who], case, event, **form(before))
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        after = fresh(case)
        assert after.state == STATE_AFTER[event]
        assert after.version == before.version + 1
        last = (
            AuditEvent.select()
            .where(AuditEvent.entity_type == "breach", AuditEvent.entity_id == case.id)
            .order_by(AuditEvent.id.desc())
            .get()
        )
        assert (last.event, last.source, last.target) == (event, before.state, after.state)
    assert audit_events(case) == [
        "report",
        "notify",
        "assess_risk",
        "refer_to_ico",
        "record_meeting",
        "inform_service_user",
        "caldicott_agree",
        "decide",
        "record_ico_outcome",
        "close",
    ]
    closed = fresh(case)
    assert Notification.select().where(Notification.breach == case).count() == 6
    assert (closed.likelihood, closed.severity, closed.reportable) == (3, 3, True)
    assert closed.reportable_reason == ASSESS["reportable_reason"]
    assert closed.informed_in_person_on == clock.uk_today()
    assert closed.caldicott_agreed_by_id == staff["cg"].id
    assert closed.ico_referred and closed.ico_reference == "IC-123456-A1B2"
    assert closed.report_complete and closed.lessons_learned.startswith("Check the address")
    html = page(cast["irm"], case)
    assert "Case closed" in html and "ICO clock stopped" in html
    assert not any(has_form(html, case, e) for e in EVENTS)
    report_page = cast["dir"].get(f"/breaches/{case.id}/report").get_data(as_text=True)
    assert "Check the address before sending" in report_page


def test_an_htmx_step_answers_with_a_redirect_to_the_fresh_page(cast, case):
    response = send(cast["pat"], case, "notify", htmx=True, **notify_data(case))
    assert response.status_code == 303
    assert fresh(case).state == "notified"


# -- notify --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", ["theft", "loss"])
def test_notify_waits_for_the_police_reference_and_the_line_manager_being_told(
    cast, staff, category
):
    pat = cast["pat"]
    assert report(pat, category=category).status_code == 303
    breach = latest()
    # Insurers are on the list for loss and theft.
    assert "insurance_who" in notify_data(breach)
    for who in ("pat", "dir"):
        html = page(cast[who], breach)
        assert not has_form(html, breach, "notify")
        assert "record the police crime reference" in html
    response = send(cast["dir"], breach, "notify", **notify_data(breach))
    assert response.status_code == 409
    assert "police crime reference" in response.get_data(as_text=True)
    assert fresh(breach).state == "reported" and audit_events(breach) == ["report"]
    assert Notification.select().count() == 0

    # A crime reference alone is not enough: the line manager must be told too.
    assert (
        pat.post(
            f"/breaches/{breach.id}/police",
            typed(
                {
                    "police_reference": "CR/4411/26",
                    "police_told_at": ago(minutes=30),
                    "version": fresh(breach).version,
                }
            ),
        ).status_code
        == 303
    )
    assert send(pat, breach, "notify", **notify_data(breach)).status_code == 409
    assert fresh(breach).state == "reported"

    assert police(pat, breach, **police_done("CR/4411/26")).status_code == 303
    assert has_form(page(pat, breach), breach, "notify")
    assert send(pat, breach, "notify", **notify_data(breach)).status_code == 303
    assert fresh(breach).state == "notified"
    assert Notification.select().where(Notification.breach == breach).count() == 7
    assert audit_events(breach) == ["report", "record_police", "record_police", "notify"]


def test_a_reason_for_no_crime_reference_also_lets_the_case_be_notified(cast):
    pat = cast["pat"]
    report(
        pat,
        category="loss",
        no_police_reference_reason="Police do not log lost property",
        line_manager_told="yes",
    )
    breach = latest()
    assert send(pat, breach, "notify", **notify_data(breach)).status_code == 303
    assert fresh(breach).state == "notified"
    assert fresh(breach).line_manager_told_by_id == fresh(breach).reported_by_id


def test_police_details_with_neither_reference_nor_reason_are_refused(cast):
    pat = cast["pat"]
    report(pat, category="theft")
    breach = latest()
    page(pat, breach)
    response = pat.post(
        f"/breaches/{breach.id}/police",
        typed(
            {
                "police_reference": "",
                "no_police_reference_reason": "",
                "line_manager_told": "yes",
                "version": breach.version,
            }
        ),
    )
    assert response.status_code == 422
    assert "govuk-error-summary" in response.get_data(as_text=True)
    assert fresh(breach).line_manager_told is False and audit_events(breach) == ["report"]


def test_notify_with_bad_input_is_422_and_saves_nothing(cast, case):
    data = notify_data(case)
    data["director_who"] = ""
    data["director_at"] = ""
    data["dpo_at"] = ago(hours=5)  # before the breach was discovered
    data["media_advised"] = ""
    response = send(cast["pat"], case, "notify", **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "Enter the name of the Director who was told" in html
    assert "must be after the breach was discovered" in html
    assert "Select yes if the media office was advised" in html
    assert fresh(case).state == "reported" and fresh(case).version == case.version
    assert audit_events(case) == ["report"]
    assert Notification.select().count() == 0
    assert 'value="Business Improvement Manager on duty"' in html  # what they typed is kept


# -- risk ----------------------------------------------------------------------------------


def test_the_reporter_cannot_assess_the_risk_403_and_sees_no_form(cast, case):
    walk(cast, case, "notified")
    html = page(cast["pat"], case)
    assert not has_form(html, case, "assess_risk")
    assert "Nothing for you to do" in html
    before = audit_count(case)
    assert send(cast["pat"], case, "assess_risk", **ASSESS).status_code == 403
    assert fresh(case).state == "notified" and audit_count(case) == before


def test_risk_assessment_with_bad_input_is_422_and_saves_nothing(cast, case):
    walk(cast, case, "notified")
    before = audit_count(case)
    # Children are involved: severity 1 is below the floor of 2.
    response = send(
        cast["lina"],
        case,
        "assess_risk",
        **{**ASSESS, "severity": "1", "likely_outcomes": "", "reportable_override": "no"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "Select a severity of 2 or more" in html
    assert "Enter the likely outcomes" in html
    assert fresh(case).state == "notified" and fresh(case).likelihood is None
    assert audit_count(case) == before


def test_overriding_the_grid_needs_a_reason(cast, case):
    walk(cast, case, "notified")
    response = send(
        cast["dpo"],
        case,
        "assess_risk",
        **{**ASSESS, "reportable_override": "no", "reportable_reason": ""},
    )
    assert response.status_code == 422
    assert "Enter why you are overriding the grid" in response.get_data(as_text=True)
    assert fresh(case).state == "notified"
    ok = send(
        cast["dpo"],
        case,
        "assess_risk",
        **{**ASSESS, "reportable_override": "no", "reportable_reason": "Recipient is a nurse"},
    )
    assert ok.status_code == 303
    stored = fresh(case)
    assert (stored.reportable, stored.high_risk, stored.override_reason) == (
        False,
        False,
        "Recipient is a nurse",
    )


def test_every_assessment_records_why_it_is_or_is_not_reportable(cast, case):
    walk(cast, case, "notified")
    before = audit_count(case)
    response = send(cast["dpo"], case, "assess_risk", **{**ASSESS, "reportable_reason": ""})
    page_ = Page.of(response)
    assert response.status_code == 422
    assert page_.field_errors["reportable_reason"] == (
        "Enter in one line why the breach is or is not reportable to the ICO"
    )
    assert fresh(case).state == "notified" and audit_count(case) == before


def test_the_risk_grid_is_shown_as_a_table_with_the_result_on_it(cast, case):
    walk(cast, case, "notified")
    html = page(cast["lina"], case)
    assert "Likelihood 3: Likely" in html and "Severity 5: Catastrophic" in html
    assert "It is likely the data was seen or used" in html  # the scale's description
    assert "This case:" not in html
    preview = send(cast["lina"], case, "assess_risk", step="preview", **ASSESS)
    assert preview.get_data(as_text=True).count("This case:") == 1
    walk(cast, case, "risk_assessed")
    html = page(cast["pat"], case)
    assert "Where this case sits on the grid" in html and html.count("This case:") == 1


CONTENTS = re.compile(r'<nav class="app-contents".*?</nav>', re.S)
SECTION_HEADING = re.compile(r'<h2 class="govuk-heading-m"(?: id="([^"]*)")?>([^<]*)</h2>')


def _contents_and_sections(html: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The contents list's links (target, words) and the page's section headings (id, words)."""
    contents = re.findall(
        r'<a class="govuk-link" href="#([^"]+)">([^<]+)</a>', CONTENTS.search(html).group()
    )
    return contents, SECTION_HEADING.findall(html)


def test_a_case_page_has_a_contents_list_of_exactly_its_sections_at_every_step(cast, case):
    seen = set()
    for event, who, form in (*STEPS, (None, None, None)):
        for viewer in ("pat", "lina", "irm"):
            contents, sections = _contents_and_sections(page(cast[viewer], case))
            # Every section is listed, in page order, and every link goes to a heading.
            assert contents == sections, (event, viewer)
            seen.update(words for _, words in contents)
        if event:
            assert send(cast[who], case, event, **form(fresh(case))).status_code == 303
    assert {"Next step", "Notifications", "ICO referral", "Risk assessment", "Service user"} <= seen
    assert {"Decision", "Case closed", "Closed", "Timeline"} <= seen
    # A theft waits for its police details: their section is listed too.
    assert report(cast["pat"], category="theft").status_code == 303
    contents, sections = _contents_and_sections(page(cast["pat"], latest()))
    assert contents == sections and ("police", "Police and line manager") in contents


def test_checking_the_grid_result_shows_it_and_saves_nothing(cast, case):
    walk(cast, case, "notified")
    before = audit_count(case)
    response = send(cast["lina"], case, "assess_risk", step="preview", **ASSESS)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Result on the grid" in html and "Reportable to the ICO." in html
    assert fresh(case).state == "notified" and audit_count(case) == before


# -- telling the service user --------------------------------------------------------------


def test_the_letter_dated_before_the_face_to_face_meeting_is_refused(cast, case):
    walk(cast, case, "risk_assessed")
    today = clock.uk_today()
    assert send(cast["pat"], case, "record_meeting", **meeting_data(today)).status_code == 303
    before = audit_count(case)
    response = send(
        cast["pat"], case, "inform_service_user", **letter_data(today - dt.timedelta(days=1))
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "must be the same as or after the date of the face-to-face meeting" in html
    stored = fresh(case)
    assert stored.state == "risk_assessed" and stored.informed_in_writing_on is None
    assert audit_count(case) == before


def test_missing_or_impossible_dates_are_422(cast, case):
    walk(cast, case, "risk_assessed")
    before = audit_count(case)
    data = {
        "informed_in_person_on-day": "31",
        "informed_in_person_on-month": "2",
        "informed_in_person_on-year": "2026",
    }
    response = send(cast["pat"], case, "record_meeting", **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "must be a real date" in html
    assert fresh(case).informed_in_person_on is None and audit_count(case) == before
    assert send(cast["pat"], case, "record_meeting", **meeting_data()).status_code == 303
    response = send(cast["pat"], case, "inform_service_user")
    assert response.status_code == 422
    assert "Enter the date of the letter" in response.get_data(as_text=True)
    assert fresh(case).state == "risk_assessed"


def test_the_meeting_and_the_letter_are_recorded_on_different_days(cast, case):
    walk(cast, case, "risk_assessed")
    pat = cast["pat"]
    html = page(pat, case)
    # The letter waits for the meeting: only the meeting's form is there.
    assert has_form(html, case, "record_meeting") and not has_form(
        html, case, "inform_service_user"
    )
    response = send(pat, case, "inform_service_user", **letter_data())
    assert response.status_code == 409
    assert "Record the face-to-face meeting first" in response.get_data(as_text=True)
    met = clock.uk_today()
    assert send(pat, case, "record_meeting", **meeting_data(met)).status_code == 303
    stored = fresh(case)
    assert (stored.state, stored.informed_in_person_on) == ("risk_assessed", met)
    assert "Told face to face on" in page(pat, case)
    clock.travel(dt.timedelta(days=1))  # the letter goes a day later
    pat = cast.again("pat")
    assert has_form(page(pat, case), case, "inform_service_user")
    assert send(pat, case, "inform_service_user", **letter_data()).status_code == 303
    stored = fresh(case)
    assert stored.state == "service_user_informed"
    assert (stored.informed_in_person_on, stored.informed_in_writing_on) == (
        met,
        met + dt.timedelta(days=1),
    )
    assert audit_events(case)[-2:] == ["record_meeting", "inform_service_user"]


@pytest.mark.parametrize("who", ["pat", "lina", "dir", "ad", "irm", "dpo"])
def test_only_the_caldicott_guardian_may_approve_an_exemption(cast, case, who):
    walk(cast, case, "risk_assessed")
    before = audit_count(case)
    html = page(cast[who], case)
    assert not has_form(html, case, "record_exemption")
    assert "Approve the exemption" not in html
    response = send(
        cast[who],
        case,
        "record_exemption",
        exemption_reason="Risk to the child",
        approved_by_caldicott="yes",
    )
    assert response.status_code == 403
    assert fresh(case).state == "risk_assessed" and audit_count(case) == before


def test_the_caldicott_guardian_approves_an_exemption_with_a_reason(cast, case):
    walk(cast, case, "risk_assessed")
    cg = cast["cg"]
    assert has_form(page(cg, case), case, "record_exemption")
    before = audit_count(case)
    response = send(cg, case, "record_exemption", exemption_reason="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "Enter why the service user should not be told" in html
    assert "Confirm you approve this exemption" in html
    assert fresh(case).state == "risk_assessed" and audit_count(case) == before
    response = send(
        cg,
        case,
        "record_exemption",
        exemption_reason="Telling the parent would put the child at risk",
        approved_by_caldicott="yes",
    )
    assert response.status_code == 303
    stored = fresh(case)
    assert stored.state == "service_user_informed"
    assert stored.exemption_reason.startswith("Telling the parent")
    assert audit_events(case)[-1] == "record_exemption"


def test_a_near_miss_that_stayed_in_skips_telling_with_a_reason(cast):
    report(
        cast["pat"],
        category="near_miss",
        data_left_control="no",
        what_happened="Letter put in the wrong envelope, caught before posting",
    )
    breach = latest()
    walk(cast, breach, "risk_assessed")
    assert not has_form(page(cast["pat"], breach), breach, "skip_informing")
    assert send(cast["pat"], breach, "skip_informing", skip_reason="Caught").status_code == 403
    lina = cast["lina"]
    assert has_form(page(lina, breach), breach, "skip_informing")
    before = audit_count(breach)
    response = send(lina, breach, "skip_informing", skip_reason="")
    assert response.status_code == 422
    assert "Enter why there is no one to tell" in response.get_data(as_text=True)
    assert fresh(breach).state == "risk_assessed" and audit_count(breach) == before
    assert (
        send(lina, breach, "skip_informing", skip_reason="Caught in the post room").status_code
        == 303
    )
    assert fresh(breach).state == "service_user_informed"
    assert fresh(breach).skip_reason == "Caught in the post room"


@pytest.mark.parametrize("who", ["dir", "lina"])
def test_a_real_breach_cannot_skip_telling_the_service_user_409(cast, case, who):
    walk(cast, case, "risk_assessed")
    html = page(cast[who], case)
    assert not has_form(html, case, "skip_informing")
    before = (fresh(case).version, audit_count(case))
    response = send(cast[who], case, "skip_informing", skip_reason="Too much work")
    # Refused for what the case is, not for who is asking: 409 with why, not 403.
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "govuk-error-summary" in html
    assert (
        "Only a near miss where no data left the council&#39;s control can skip telling "
        "the service user"
    ) in html
    stored = fresh(case)
    assert stored.state == "risk_assessed" and stored.skip_reason is None
    assert (stored.version, audit_count(case)) == before


def test_the_reporter_still_gets_403_for_skipping_on_a_real_breach(cast, case):
    walk(cast, case, "risk_assessed")
    assert send(cast["pat"], case, "skip_informing", skip_reason="Caught").status_code == 403
    assert fresh(case).state == "risk_assessed"


def near_miss_kept_in(web, **extra) -> Breach:
    assert (
        report(
            web,
            category="near_miss",
            data_left_control="no",
            what_happened="Letter put in the wrong envelope, caught before posting",
            **extra,
        ).status_code
        == 303
    )
    return latest()


def test_on_a_near_miss_telling_and_no_one_to_tell_are_shown_as_alternatives(cast, case):
    breach = near_miss_kept_in(cast["pat"])
    walk(cast, breach, "risk_assessed")
    html = page(cast["lina"], breach)
    assert has_form(html, breach, "record_meeting") and has_form(html, breach, "skip_informing")
    told = html.index("If the service user was told")
    skip = html.index("Or, if there is no one to tell")
    assert told < html.index(f'action="/breaches/{breach.id}/record_meeting"') < skip
    assert skip < html.index(f'action="/breaches/{breach.id}/skip_informing"')
    # One green button: the "no one to tell" one is secondary.
    skip_form = html[html.index(f'action="/breaches/{breach.id}/skip_informing"') :]
    skip_form = skip_form[: skip_form.index("</form>")]
    assert "govuk-button govuk-button--secondary" in skip_form
    # A real breach has only the one way: no alternatives headings.
    walk(cast, case, "risk_assessed")
    html = page(cast["lina"], case)
    assert has_form(html, case, "record_meeting")
    assert "Or, if there is no one to tell" not in html
    assert "If the service user was told" not in html


# -- the decision --------------------------------------------------------------------------


def agreed(cast, case):
    """Walk to service_user_informed and record the Caldicott Guardian's agreement."""
    walk(cast, case, "service_user_informed")
    assert send(cast["cg"], case, "caldicott_agree", **AGREE).status_code == 303
    return fresh(case)


@pytest.mark.parametrize("who", ["pat", "lina", "cg", "dir", "irm", "dpo", "gov"])
def test_only_an_assistant_director_may_decide(cast, case, who):
    agreed(cast, case)
    before = audit_count(case)
    html = page(cast[who], case)
    assert not has_form(html, case, "decide")
    assert send(cast[who], case, "decide", **decide_data()).status_code == 403
    assert fresh(case).state == "service_user_informed" and audit_count(case) == before
    assert fresh(case).decided_at is None


def test_the_decision_waits_for_the_caldicott_guardians_own_agreement(cast, case, staff):
    walk(cast, case, "service_user_informed")
    ad, cg = cast["ad"], cast["cg"]
    html = page(ad, case)
    assert not has_form(html, case, "decide")
    assert "The decision waits for the Caldicott Guardian" in html
    before = audit_count(case)
    response = send(ad, case, "decide", **decide_data())
    assert response.status_code == 409
    assert "The Caldicott Guardian records their agreement first" in Page.of(response).text
    assert fresh(case).state == "service_user_informed" and audit_count(case) == before
    # Only the Caldicott Guardian agrees, as themselves.
    for who in ("ad", "dir", "pat"):
        assert not has_form(page(cast[who], case), case, "caldicott_agree")
        assert send(cast[who], case, "caldicott_agree", **AGREE).status_code == 403
    response = send(cg, case, "caldicott_agree", caldicott_advice="")
    assert response.status_code == 422
    assert Page.of(response).errors == [
        "Enter your advice to the Assistant Director",
        "Confirm that, as Caldicott Guardian, you agree the decision may be recorded",
    ]
    assert has_form(page(cg, case), case, "caldicott_agree")
    assert send(cg, case, "caldicott_agree", **AGREE).status_code == 303
    stored = fresh(case)
    assert (stored.state, stored.caldicott_agreed_by_id) == (
        "service_user_informed",
        staff["cg"].id,
    )
    assert audit_events(case)[-1] == "caldicott_agree"
    assert send(cg, case, "caldicott_agree", **AGREE).status_code == 403  # once
    html = page(ad, case)
    assert (
        has_form(html, case, "decide")
        and "Cg Tester, agreed on" in Page.of(ad.get(f"/breaches/{case.id}")).text
    )
    assert send(ad, case, "decide", **decide_data()).status_code == 303
    assert fresh(case).state == "decided"


def test_decide_with_bad_input_is_422_and_saves_nothing(cast, case):
    agreed(cast, case)
    ad = cast["ad"]
    assert has_form(page(ad, case), case, "decide")
    before = audit_count(case)
    response = send(ad, case, "decide", staff_member="", refer_to_regulator="")
    page_ = Page.of(response)
    assert response.status_code == 422
    assert page_.errors == [
        "Select yes if there will be a disciplinary investigation",
        "Select whose conduct is in question, or 'No one'",
        "Select yes if the member of staff will be referred to their regulator",
    ]
    assert fresh(case).state == "service_user_informed" and audit_count(case) == before


def test_referring_to_the_ico_after_72_hours_needs_a_reason_for_the_delay(cast):
    report(cast["pat"], discovered_hours_ago=96)
    breach = latest()
    walk(cast, breach, "risk_assessed")
    dpo = cast["dpo"]
    before = audit_count(breach)
    late = refer_data(ico_referred_at=ago(hours=1))
    response = send(dpo, breach, "refer_to_ico", **late)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert "more than 72 hours after the breach was discovered" in html
    assert not fresh(breach).ico_referred and audit_count(breach) == before
    response = send(dpo, breach, "refer_to_ico", delay_reason="Awaiting the police account", **late)
    assert response.status_code == 303
    stored = fresh(breach)
    assert stored.ico_referred and stored.delay_reason == "Awaiting the police account"
    draft = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "Awaiting the police account" not in draft  # the referral's words stay on the case
    assert "No, reason: not written yet" in draft
    assert (
        ico_summary(cast["irm"], breach, ico_late_reason="Police account awaited").status_code
        == 303
    )
    draft = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "No, reason: Police account awaited" in draft


def test_referring_within_72_hours_needs_no_reason(cast, case):
    walk(cast, case, "risk_assessed")
    assert send(cast["dpo"], case, "refer_to_ico", **refer_data()).status_code == 303
    assert fresh(case).ico_referred and fresh(case).delay_reason is None


def test_reportable_but_not_referred_needs_a_reason(cast, case):
    walk(cast, case, "service_user_informed", skip=("refer_to_ico",))
    assert send(cast["cg"], case, "caldicott_agree", **AGREE).status_code == 303
    assert fresh(case).reportable is True and not fresh(case).ico_referred
    ad = cast["ad"]
    response = send(ad, case, "decide", **decide_data())
    assert response.status_code == 422
    assert "Enter why the breach was not referred to the ICO" in response.get_data(as_text=True)
    assert fresh(case).state == "service_user_informed"
    response = send(
        ad, case, "decide", **decide_data(not_referred_reason="Contained within an hour")
    )
    assert response.status_code == 303
    stored = fresh(case)
    assert (stored.state, stored.ico_referred, stored.not_referred_reason) == (
        "decided",
        False,
        "Contained within an hour",
    )
    assert stored.decided_by_id is not None


# -- closing -------------------------------------------------------------------------------


def test_only_the_records_manager_closes_and_only_with_lessons_learned(cast, case):
    walk(cast, case, "decided")
    assert send(cast["irm"], case, "record_ico_outcome", **outcome_data()).status_code == 303
    for who in ("ad", "cg", "pat"):
        assert not has_form(page(cast[who], case), case, "close")
        assert send(cast[who], case, "close", **CLOSE).status_code == 403
    irm = cast["irm"]
    before = audit_count(case)
    response = send(irm, case, "close", lessons_learned="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Confirm your breach report is complete" in html and "Enter the lessons learned" in html
    assert fresh(case).state == "decided" and audit_count(case) == before
    assert send(irm, case, "close", **CLOSE).status_code == 303
    assert fresh(case).state == "closed"


# -- refused in the wrong state ------------------------------------------------------------


def test_steps_out_of_order_are_409_and_change_nothing(cast, case):
    attempts = (
        ("assess_risk", "lina", ASSESS),
        ("record_meeting", "pat", meeting_data()),
        ("inform_service_user", "pat", letter_data()),
        ("caldicott_agree", "cg", AGREE),
        ("record_exemption", "cg", {"exemption_reason": "x", "approved_by_caldicott": "yes"}),
        ("skip_informing", "lina", {"skip_reason": "x"}),
        ("decide", "ad", decide_data()),
        ("close", "irm", CLOSE),
    )
    before = (fresh(case).version, audit_count(case))
    for event, who, data in attempts:
        response = send(cast[who], case, event, **data)
        assert response.status_code == 409, event
        html = response.get_data(as_text=True)
        assert "This case is reported: it cannot be changed that way now" in html
        assert "govuk-error-summary" in html
        assert fresh(case).state == "reported"
    assert (fresh(case).version, audit_count(case)) == before


def test_nothing_moves_a_closed_case(cast, case):
    walk(cast, case, "closed")
    before = (fresh(case).version, audit_count(case))
    for event, who, form in STEPS:
        assert send(cast[who], case, event, **form(fresh(case))).status_code == 409, event
    assert (fresh(case).state, fresh(case).version, audit_count(case)) == ("closed", *before)


def test_notifying_twice_is_409(cast, case):
    walk(cast, case, "notified")
    response = send(cast["dpo"], case, "notify", **notify_data(case))
    assert response.status_code == 409
    assert Notification.select().where(Notification.breach == case).count() == 6


def test_an_unknown_step_is_404(cast, case):
    assert send(cast["dir"], case, "delete", confirm="yes").status_code == 404
    assert fresh(case).state == "reported"


# -- stale pages and races -----------------------------------------------------------------


@pytest.mark.postgres
def test_a_step_posted_from_a_stale_page_is_409_and_changes_nothing(cast, case):
    old_version = case.version
    walk(cast, case, "notified")
    before = (fresh(case).version, audit_count(case))
    response = send(cast["lina"], case, "assess_risk", version=old_version, **ASSESS)
    assert response.status_code == 409
    assert "Someone else changed this case" in response.get_data(as_text=True)
    stored = fresh(case)
    assert stored.state == "notified" and stored.likelihood is None
    assert (stored.version, audit_count(case)) == before


@pytest.mark.postgres
def test_a_police_update_from_a_stale_page_is_409(cast):
    pat = cast["pat"]
    report(pat, category="theft")
    breach = latest()
    old = breach.version
    assert (
        pat.post(
            f"/breaches/{breach.id}/police",
            typed({"police_reference": "CR/1", "police_told_at": ago(minutes=30), "version": old}),
        ).status_code
        == 303
    )
    response = cast["lina"].post(
        f"/breaches/{breach.id}/police",
        typed(
            {
                "police_reference": "CR/2",
                "police_told_at": ago(minutes=30),
                "line_manager_told": "yes",
                "version": old,
            }
        ),
    )
    assert response.status_code == 409
    assert "Someone else changed this case" in response.get_data(as_text=True)
    assert fresh(breach).police_reference == "CR/1" and not fresh(breach).line_manager_told


def _race(webs, breach, event, data):
    version = fresh(breach).version
    barrier = threading.Barrier(len(webs))
    results = []

    def go(web):
        barrier.wait()
        results.append(send(web, breach, event, version=version, **data).status_code)

    threads = [threading.Thread(target=go, args=(w,)) for w in webs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


@pytest.mark.postgres
def test_two_people_notifying_at_once_exactly_one_wins(cast, case):
    webs = [cast["dir"], cast["dpo"]]
    for web in webs:
        page(web, case)
    assert _race(webs, case, "notify", notify_data(case)) == [303, 409]
    assert fresh(case).state == "notified"
    assert audit_events(case).count("notify") == 1
    # The loser's notification rows went with its transaction.
    assert Notification.select().where(Notification.breach == case).count() == 6


@pytest.mark.postgres
def test_the_same_decision_from_two_tabs_exactly_one_wins(cast, new_web, case):
    agreed(cast, case)
    tabs = [new_web() for _ in range(2)]
    for tab in tabs:
        tab.sign_in("ad")
        page(tab, case)
    assert _race(tabs, case, "decide", decide_data()) == [303, 409]
    assert audit_events(case).count("decide") == 1
    assert fresh(case).state == "decided"


# -- a lost removal opens a case -----------------------------------------------------------


def test_reporting_papers_lost_opens_a_linked_loss_case(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    assert report_lost(pat, removal).status_code == 303
    removal = Removal.get_by_id(removal.id)
    assert removal.state == "lost"
    breach = Breach.get(Breach.removal == removal)
    assert list(removal.breaches) == [breach]  # and back
    assert (breach.state, breach.category) == ("reported", "loss")
    assert breach.record_id == removal.record_id and breach.case_id == "1234567"
    assert breach.reported_by_id == staff["pat"].id
    assert breach.reporter_manager_id == staff["lina"].id
    assert audit_events(breach) == ["report"]
    html = page(pat, breach)
    assert f'href="/records/{removal.record_id}"' in html and "Lost papers" in html
    assert f"Removal {removal.id} of Court bundle, volume 2, held by Pat Tester" in html
    # Loss: the police details come before the case can be notified.
    assert not has_form(html, breach, "notify")
    assert breach.reference in cast["lina"].get("/breaches").get_data(as_text=True)
    cast["alex"].get(f"/breaches/{breach.id}", status=404)


def test_a_lost_removal_and_its_breach_case_are_one_change(cast, staff, monkeypatch):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    audit_before = AuditEvent.select().count()

    def broken(*args, **kwargs):
        raise RuntimeError("the breach case could not be opened")

    monkeypatch.setattr(Breach, "next_reference", classmethod(broken))
    assert report_lost(pat, removal).status_code == 500
    assert Removal.get_by_id(removal.id).state == "out"
    assert Breach.select().count() == 0
    assert AuditEvent.select().count() == audit_before


# -- checking and completing a report opened automatically --------------------------------

DETAILS = {
    "what_happened": "Court bundle with the chronology and the child's health plan",
    "data_categories": ["basic_identifiers", "health"],
    "people_affected": "4",
    "records_affected": "2",
    "children_or_vulnerable": "yes",
    "special_category": "yes",
}


def correct(web, breach, version=None, **data):
    """Post the report's correction form: what is not given is as the case holds it."""
    stored = fresh(breach)
    data.setdefault("version", stored.version if version is None else version)
    data.setdefault("category", stored.category)
    data.setdefault("happened_at", to_the_minute(stored.happened_at))
    data.setdefault("discovered_at", to_the_minute(stored.discovered_at))
    data.setdefault("data_left_control", "yes" if stored.data_left_control else "no")
    return web.post(f"/breaches/{breach.id}/details", typed(data))


def lost_case(cast, staff) -> Breach:
    removal = papers_out(cast["pat"], staff)
    assert report_lost(cast["pat"], removal).status_code == 303
    return Breach.get(Breach.removal == removal)


def test_a_case_opened_by_lost_papers_is_checked_and_completed_then_the_floor_applies(cast, staff):
    breach = lost_case(cast, staff)
    # Asked when the papers were reported: "not known yet" (the journey's answers).
    assert (breach.children_or_vulnerable, breach.data_category_list) == (None, [])
    pat = cast["pat"]
    html = page(pat, breach)
    assert "Check and complete the report" in html
    assert "opened automatically when papers were reported lost" in html
    assert 'href="#check-report"' in html  # the next step points to it
    assert f'action="/breaches/{breach.id}/details"' in html
    response = correct(pat, breach, **DETAILS)
    assert response.status_code == 303
    stored = fresh(breach)
    assert stored.data_category_list == ["basic_identifiers", "health"]
    assert (stored.people_affected, stored.records_affected) == (4, 2)
    assert stored.children_or_vulnerable and stored.special_category  # health is Art. 9 data
    assert stored.what_happened == DETAILS["what_happened"]
    assert stored.version == breach.version + 1
    event = (
        AuditEvent.select()
        .where(AuditEvent.entity_type == "breach", AuditEvent.entity_id == breach.id)
        .order_by(AuditEvent.id.desc())
        .get()
    )
    assert event.event == "update_report" and event.actor_id == staff["pat"].id
    assert event.details == {
        "changed": "what happened, data involved, people affected, "
        "records affected, children or vulnerable adults, "
        "special category data"
    }
    assert "health plan" not in str(event.details)  # field names, not the free text
    html = page(pat, breach)
    assert "opened automatically" not in html  # done: no more prompt
    assert "Report checked and corrected" in html  # the timeline says what happened
    assert "Correct the report" in html  # still correctable until the risk is assessed
    clock.travel(dt.timedelta(minutes=10))  # notifications are typed to the minute
    walk_from_police(cast, breach)  # notified and assessed at 3 × 3
    draft = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "Health data" in draft and "includes children or vulnerable adults" in draft


def test_the_severity_floor_applies_once_children_are_recorded(cast, staff):
    breach = lost_case(cast, staff)
    assert correct(cast["pat"], breach, **DETAILS).status_code == 303
    assert (
        cast["pat"]
        .post(
            f"/breaches/{breach.id}/police",
            typed(
                {
                    "police_reference": "CR/1/26",
                    "police_told_at": ago(minutes=30),
                    "line_manager_told": "yes",
                    "version": fresh(breach).version,
                }
            ),
        )
        .status_code
        == 303
    )
    clock.travel(dt.timedelta(minutes=10))
    lina = cast.again("lina")
    assert send(lina, breach, "notify", **notify_data(breach)).status_code == 303
    assert "Children or vulnerable adults involved: at least 2." in page(lina, breach)
    response = send(lina, breach, "assess_risk", **{**ASSESS, "severity": "1"})
    assert response.status_code == 422
    assert "Select a severity of 2 or more" in response.get_data(as_text=True)
    assert fresh(breach).state == "notified"


def test_correcting_a_report_with_bad_input_is_422_and_saves_nothing(cast, staff):
    breach = lost_case(cast, staff)
    before = (fresh(breach).version, audit_count(breach))
    response = correct(
        cast["lina"],
        breach,
        what_happened="",
        people_affected="lots",
        records_affected="",
        children_or_vulnerable="yes",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    for message in (
        "Describe what happened",
        "Select the kinds of data involved",
        "Number of people must be a whole number",
        "Enter roughly how many records were involved",
    ):
        assert message in html
    assert 'value="lots"' in html  # what was typed is shown again
    stored = fresh(breach)
    assert (stored.version, audit_count(breach)) == before
    assert stored.children_or_vulnerable is None and stored.what_happened.startswith("Papers")
    response = correct(cast["lina"], breach, **{**DETAILS, "data_categories": ["made_up"]})
    assert response.status_code == 422
    assert "Select the kinds of data involved from the list" in response.get_data(as_text=True)
    assert (fresh(breach).version, audit_count(breach)) == before


@pytest.mark.postgres
def test_correcting_a_report_from_a_stale_page_is_409_and_saves_nothing(cast, staff):
    breach = lost_case(cast, staff)
    old = breach.version
    assert correct(cast["pat"], breach, version=old, **DETAILS).status_code == 303
    before = (fresh(breach).version, audit_count(breach))
    response = correct(cast["lina"], breach, version=old, **{**DETAILS, "people_affected": "40"})
    assert response.status_code == 409
    assert "Someone else changed this case" in response.get_data(as_text=True)
    assert fresh(breach).people_affected == 4
    assert (fresh(breach).version, audit_count(breach)) == before


def test_a_report_cannot_be_corrected_once_the_risk_is_assessed(cast, case):
    walk(cast, case, "notified")
    html = page(cast["pat"], case)
    assert f'action="/breaches/{case.id}/details"' in html  # notified: still correctable
    walk(cast, case, "risk_assessed")
    html = page(cast["pat"], case)
    assert f'action="/breaches/{case.id}/details"' not in html
    before = (fresh(case).version, audit_count(case))
    response = correct(cast["pat"], case, **DETAILS)
    assert response.status_code == 409
    assert (fresh(case).version, audit_count(case)) == before


@pytest.mark.parametrize("outsider", ["alex", "mo", "sam"])
def test_someone_without_need_to_know_cannot_correct_a_report(cast, case, outsider):
    before = (fresh(case).version, audit_count(case))
    response = correct(cast[outsider], case, **DETAILS)
    assert response.status_code == 404
    assert (fresh(case).version, audit_count(case)) == before


def test_a_reported_case_can_be_corrected_by_the_breach_chain_without_a_prompt(cast, case):
    dpo = cast["dpo"]
    html = page(dpo, case)
    assert "opened automatically" not in html  # typed in by a person: nothing to prompt
    assert "Correct the report" in html
    assert correct(dpo, case, **{**DETAILS, "children_or_vulnerable": "no"}).status_code == 303
    stored = fresh(case)
    assert stored.children_or_vulnerable is False and stored.people_affected == 4
    # Saving the same again changes nothing and writes nothing.
    before = (stored.version, audit_count(case))
    assert correct(dpo, case, **{**DETAILS, "children_or_vulnerable": "no"}).status_code == 303
    assert (fresh(case).version, audit_count(case)) == before


def test_a_misdirected_dispatch_case_is_checked_and_completed(cast, staff):
    breach = misdirected(cast)
    assert breach.data_category_list == []
    html = page(cast["pat"], breach)
    assert "opened automatically when documents were reported sent to the wrong recipient" in html
    assert (
        correct(
            cast["lina"], breach, **{**DETAILS, "what_happened": breach.what_happened}
        ).status_code
        == 303
    )
    event = (
        AuditEvent.select()
        .where(AuditEvent.entity_type == "breach", AuditEvent.entity_id == breach.id)
        .order_by(AuditEvent.id.desc())
        .get()
    )
    assert event.event == "update_report"
    assert "what happened" not in event.details["changed"]  # unchanged: not listed
    assert fresh(breach).children_or_vulnerable


# -- times opened automatically are to the minute ------------------------------------------


def test_a_notification_typed_in_the_minute_a_lost_removal_opened_the_case_is_accepted(cast, staff):
    breach = lost_case(cast, staff)
    assert breach.discovered_at.second == 0 and breach.discovered_at.microsecond == 0
    assert breach.happened_at <= breach.discovered_at
    pat = cast["pat"]
    assert police(pat, breach, **police_done("CR/1/26")).status_code == 303
    data = notify_data(breach)
    data.update({k: to_the_minute(breach.discovered_at) for k in data if k.endswith("_at")})
    response = send(pat, breach, "notify", **data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert fresh(breach).state == "notified"


def test_a_misdirected_dispatch_case_is_discovered_to_the_minute(cast, staff):
    breach = misdirected(cast)
    assert breach.discovered_at.second == 0 and breach.discovered_at.microsecond == 0
    assert breach.happened_at <= breach.discovered_at
    data = notify_data(breach)
    data.update({k: to_the_minute(breach.discovered_at) for k in data if k.endswith("_at")})
    assert send(cast["pat"], breach, "notify", **data).status_code == 303


# -- clocks --------------------------------------------------------------------------------


def test_the_ico_clock_counts_down_then_shows_the_deadline_passed(cast, case):
    dpo = cast["dpo"]
    assert "70 hours left to tell the ICO" in page(dpo, case)
    assert "70 hours left to tell the ICO" in dpo.get("/breaches").get_data(as_text=True)
    clock.travel(dt.timedelta(hours=60))
    dpo = cast.again("dpo")
    assert "10 hours left to tell the ICO" in page(dpo, case)
    clock.travel(dt.timedelta(hours=12))
    dpo = cast.again("dpo")
    for html in (page(dpo, case), dpo.get("/breaches").get_data(as_text=True)):
        assert "ICO deadline passed" in html
        assert "hours left to tell the ICO" not in html


def test_the_ico_clock_stops_once_referred(cast, case):
    walk(cast, case, "decided")
    clock.travel(dt.timedelta(hours=80))
    html = page(cast.again("dpo"), case)
    assert "ICO clock stopped" in html and "ICO deadline passed" not in html


def test_a_near_miss_that_kept_the_data_in_has_no_ico_deadline(cast):
    breach = near_miss_kept_in(cast["pat"])
    leaked = report(cast["sam"], category="near_miss", data_left_control="yes")
    assert leaked.status_code == 303
    leaked = latest()
    lina = cast["lina"]
    html = page(lina, breach)
    assert "No ICO deadline: near miss" in html
    assert "hours left to tell the ICO" not in html
    assert "not a personal data breach" in html  # the deadline row says why there is none
    # A near miss whose data did leave is a breach: its clock runs.
    assert "70 hours left to tell the ICO" in page(lina, leaked)
    clock.travel(dt.timedelta(hours=80))
    lina = cast.again("lina")
    listing = lina.get("/breaches").get_data(as_text=True)
    board = lina.get("/board").get_data(as_text=True)
    case_page = page(lina, breach)
    assert "No ICO deadline: near miss" in case_page
    assert "ICO deadline passed" not in case_page
    assert "ICO deadline passed" in page(lina, leaked)
    for html in (listing, board):  # both cases listed: only the one that leaked is late
        assert "No ICO deadline: near miss" in html
        assert html.count("ICO deadline passed") == 1
    report_html = lina.get(f"/breaches/{breach.id}/report").get_data(as_text=True)
    assert "None: near miss" in report_html
    draft = cast.again("dpo").get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "Not applicable: a near miss" in draft and "Yes, if sent before" not in draft


def test_a_loss_without_a_police_reference_is_flagged_once_its_day_has_passed(cast):
    pat = cast["pat"]
    report(pat, category="loss", discovered_hours_ago=0)
    breach = latest()
    if clock.to_uk(breach.discovered_at).date() == clock.uk_today():
        assert "No police reference" not in page(pat, breach)
    clock.travel(dt.timedelta(days=1))
    pat = cast.again("pat")
    assert "No police reference" in page(pat, breach)
    assert "No police reference" in pat.get("/breaches").get_data(as_text=True)
    assert police(pat, breach, **police_done("CR/77/26")).status_code == 303
    assert "No police reference" not in page(pat, breach)


def test_a_disclosure_is_never_flagged_for_the_police(cast, case):
    clock.travel(dt.timedelta(days=2))
    assert "No police reference" not in page(cast.again("pat"), case)


# -- reports -------------------------------------------------------------------------------


def test_the_ico_draft_holds_no_case_id_label_code_or_reporter_name(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    report_lost(pat, removal)
    breach = Breach.get(Breach.removal == removal)
    label = removal.record.label_code
    assert label in breach.what_happened  # the case itself does hold it
    clock.travel(dt.timedelta(minutes=10))  # notifications are typed to the minute
    walk_from_police(cast, breach)
    draft = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "ICO report draft" in draft and breach.reference in draft
    assert "1234567" not in draft
    assert label not in draft and label.lower() not in draft.lower()
    assert "Pat Tester" not in draft and "pat@council.example" not in draft
    assert "Lina Tester" not in draft
    assert "Director on duty" not in draft  # who was told is named by role only
    # A second net under the entry check: the case's own label and staff names typed into the
    # summary for the ICO are taken out of the draft.
    written = f"Bundle {label} was in Pat Tester's bag on the train"
    assert ico_summary(cast["irm"], breach, ico_summary=written).status_code == 303
    draft = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "Bundle [removed] was in [removed] bag on the train" in draft


def walk_from_police(cast, breach, reporter="pat"):
    pat = cast[reporter]
    assert police(pat, breach, **police_done("CR/1/26")).status_code == 303
    walk(cast, breach, "risk_assessed", reporter)


def draft_of(web, breach) -> str:
    return web.get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)


def test_the_ico_draft_is_built_from_answers_never_from_the_reporters_words(cast):
    """A bare name and street pass the entry check (nothing marks them as personal data):
    the draft is safe because the report's words never flow into it, not because they are
    found and taken out."""
    report(
        cast["pat"],
        case_id="7654321",
        what_happened="The child Olivia Brennan of Marsh Lane: chronology left on a train",
    )
    breach = latest()
    draft = draft_of(cast["dpo"], breach)
    for words in ("Olivia", "Brennan", "Marsh Lane", "left on a train", "7654321"):
        assert words not in draft, words
    assert "Not written yet: the Information and Records Manager writes the summary" in draft
    assert "Health data" in draft and "Approximately how many people?" in draft


def test_the_records_manager_writes_the_summary_the_ico_draft_carries(cast):
    report(cast["pat"])
    breach = latest()
    before = audit_count(breach)
    irm = cast["irm"]
    assert "Write the summary for the ICO" in draft_of(irm, breach)
    response = ico_summary(
        irm,
        breach,
        ico_summary="An assessment was e-mailed to a colleague outside the team by mistake",
        containment_actions=["recipient_asked_to_delete", "staff_reminded"],
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/breaches/{breach.id}/ico-draft")
    draft = draft_of(cast["dpo"], breach)
    assert "e-mailed to a colleague outside the team by mistake" in draft
    assert "Recipient asked to return or delete the information" in draft
    assert "Staff involved reminded of the procedure" in draft
    stored = fresh(breach)
    assert stored.ico_summary_by_id == irm_id(cast) and stored.state == "reported"
    assert audit_events(breach)[before:] == ["write_ico_summary"]
    # The audit trail says a summary was written and which steps were chosen, not its text.
    event = AuditEvent.get(AuditEvent.event == "write_ico_summary")
    assert "colleague" not in event.summary and "staff_reminded" in event.summary


def irm_id(cast) -> int:
    from models.people import User

    return User.get(User.username == "irm").id


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"no_personal_data": ""}, "no_personal_data", "Confirm the summary holds no personal"),
        ({"ico_summary": ""}, "ico_summary", "Enter what happened, as the ICO should be told"),
        ({"ico_summary": "x" * 2001}, "ico_summary", "must be 2,000 characters or fewer"),
        ({"ico_summary": "Letter for Mrs Doe lost"}, "ico_summary", "Mrs Doe"),
        ({"containment_actions": ["burn_it"]}, "containment_actions", "from the list"),
    ],
)
def test_a_summary_that_is_not_fit_for_the_ico_is_refused_and_nothing_saved(
    cast, data, field, message
):
    report(cast["pat"])
    breach = latest()
    before = audit_count(breach)
    response = ico_summary(cast["irm"], breach, **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in html and message in html
    assert f'href="#{field}' in html
    assert fresh(breach).ico_summary is None and audit_count(breach) == before


def test_only_the_records_manager_writes_the_summary_and_not_for_a_near_miss_kept_in(cast):
    report(cast["pat"])
    breach = latest()
    dpo = cast["dpo"]
    assert "Save the summary for the ICO" not in draft_of(dpo, breach)
    assert ico_summary(dpo, breach).status_code == 403
    assert fresh(breach).ico_summary is None
    report(cast["pat"], category="near_miss", data_left_control="no")
    kept_in = latest()
    assert "Save the summary for the ICO" not in draft_of(cast["irm"], kept_in)
    response = ico_summary(cast["irm"], kept_in)
    assert response.status_code == 409  # the records manager's to write, but not this case
    assert "not a breach to report to the ICO" in response.get_data(as_text=True)
    assert fresh(kept_in).ico_summary is None


def test_a_summary_saved_over_a_newer_case_is_refused_as_changed_meanwhile(cast):
    report(cast["pat"])
    breach = latest()
    stale = fresh(breach).version
    assert ico_summary(cast["irm"], breach).status_code == 303
    response = ico_summary(cast["irm"], breach, version=stale, ico_summary="Second go")
    assert response.status_code == 409
    assert fresh(breach).ico_summary == "Assessment papers left on a train; not recovered"


def misdirected(cast) -> Breach:
    """A dispatch Pat drafted, Sam checked and Pat sent, reported misdirected: its case."""
    pat = cast["pat"]
    pat.get("/send/new")
    assert (
        pat.post(
            "/send/new",
            {
                "case_id": "1234567",
                "description": "Assessment and chronology",
                "method": "secure_email",
                "recipient_organisation": "Cafcass",
                "recipient_role": "Children's guardian",
                "address": "guardian@cafcass.example.org",
            },
        ).status_code
        == 303
    )
    from models.dispatches import Dispatch

    dispatch = Dispatch.select().order_by(Dispatch.id.desc()).get()

    def dispatch_step(web, event, **data):
        data.setdefault("version", Dispatch.get_by_id(dispatch.id).version)
        data.setdefault("confirmed", "yes")  # past the confirmation page, as its button sends
        response = web.post(f"/dispatches/{dispatch.id}/{event}", data)
        assert response.status_code == 303, (event, response.status_code)

    dispatch_step(
        cast["sam"],
        "check",
        address_source="case_record",
        address_confirmed="yes",
        addressee_confirmed="yes",
        right_to_information_confirmed="yes",
        lawful_basis="Court direction to share the assessment",
    )
    dispatch_step(pat, "mark_sent", password_protected="yes", password_separate="yes")
    dispatch_step(
        pat,
        "report_misdirected",
        what_happened="Autocomplete picked another guardian with a similar name",
        children_or_vulnerable="yes",
        special_category="not_known",
    )
    return Breach.get(Breach.dispatch == dispatch)


def test_the_ico_draft_of_a_misdirected_dispatch_has_no_recipient_address(cast, staff):
    breach = misdirected(cast)
    draft = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    assert "Sent to the wrong recipient" in draft
    assert "guardian@cafcass.example.org" not in draft
    assert "1234567" not in draft and "Pat Tester" not in draft


def test_the_register_csv_lists_every_breach_and_near_miss(cast, staff):
    report(cast["pat"])
    report(cast["alex"], category="near_miss", data_left_control="no")
    report(cast["sam"], category="theft", police_reference="CR/9/26", police_told_at=ago(hours=1))
    walk_from_police(cast, latest(), reporter="sam")
    for who in ("pat", "lina", "alex", "mo", "bim"):
        cast[who].get("/breaches/register.csv", status=403)
    response = cast["gov"].get("/breaches/register.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["Reference"] for r in rows) == sorted(b.reference for b in Breach.select())
    assert len(rows) == 3
    by_category = {r["Category"]: r for r in rows}
    assert by_category["near_miss"]["Near miss"] == "yes"
    assert by_category["theft"]["Near miss"] == "no"
    assert by_category["theft"]["Stage"] == "risk_assessed"
    assert {r["Team"] for r in rows} == {"Children North", "Adults East"}


@pytest.mark.parametrize(
    "page_arg", ["0", "-3", "abc", "2", "400000000000000000", "99999999999999999999"]
)
@pytest.mark.postgres
def test_any_page_number_shows_a_page_of_the_list_not_a_500(cast, case, page_arg):
    # A huge page number used to overflow the SQL OFFSET: a 500 on both databases.
    html = cast["dpo"].get(f"/breaches?page={page_arg}").get_data(as_text=True)
    assert case.reference in html


@pytest.mark.parametrize("breach_id", ["3000000000", "99999999999999999999"])
def test_an_id_out_of_range_is_404_not_a_500(cast, case, breach_id):
    web = cast["dpo"]
    web.get(f"/breaches/{breach_id}", status=404)
    assert web.post(f"/breaches/{breach_id}/notify", typed({"version": "1"})).status_code == 404


@pytest.mark.postgres
def test_the_list_of_cases_pages_with_numbered_links(app, cast, case):
    assert report(cast["sam"], discovered_hours_ago=30).status_code == 303
    older = latest()
    app.config["PAGE_SIZE"] = 1
    html = cast["dpo"].get("/breaches").get_data(as_text=True)
    nav = re.search(
        r'<nav class="govuk-pagination"[^>]*aria-label="Pages of breach cases".*?</nav>', html, re.S
    )
    assert nav, "no labelled pagination"
    assert re.findall(r'govuk-pagination__link" href="/breaches\?page=(\d)"', nav[0])[:2] == [
        "1",
        "2",
    ]
    first = Page.of(cast["dpo"].get("/breaches"))
    assert case.reference in first.text and older.reference not in first.text
    second = Page.of(cast["dpo"].get("/breaches?page=2"))
    assert older.reference in second.text and case.reference not in second.text
