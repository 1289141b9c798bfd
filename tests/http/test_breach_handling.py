"""Breach handling in the situations a council meets every month (issue: "never loses a report,
never strands a case"): the crime reference days later, the ICO told before the case is
decided, cases opened for someone with the facts asked then, corrections until the risk is
assessed, links both ways, the decision signed by those who decide, and who reads the register.
"""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from models.audit import AuditEvent
from models.breaches import Breach
from models.people import User
from models.records import Removal
from tests.http.journeys import Cast, Page, ago, to_the_minute, typed
from tests.http.journeys.breaches import (
    AGREE,
    ASSESS,
    audit_events,
    breach_staff,
    decide_data,
    fresh,
    has_form,
    latest,
    letter_data,
    meeting_data,
    notify_data,
    page,
    police,
    refer_data,
    report,
    send,
    walk,
)
from tests.http.journeys.custody import papers_out, report_lost
from tests.http.journeys.sending import CHECKS, draft
from tests.http.journeys.sending import latest as latest_dispatch
from tests.http.journeys.sending import send as dispatch_send


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def theft_without_a_reference(cast) -> Breach:
    """Pat reports a theft: the police have been told but give the crime reference later."""
    response = report(
        cast["pat"],
        category="theft",
        no_police_reference_reason="Police will give the crime reference after the interview",
        line_manager_told="yes",
    )
    assert response.status_code == 303
    return latest()


# -- police: the crime reference days later -------------------------------------------------


def test_a_reason_keeps_the_police_form_and_the_flag_until_the_reference_comes(cast, staff):
    breach = theft_without_a_reference(cast)
    assert fresh(breach).line_manager_told_by_id == staff["pat"].id
    assert send(cast["pat"], breach, "notify", **notify_data(breach)).status_code == 303
    clock.travel(dt.timedelta(days=2))
    pat, lina = cast.again("pat"), cast.again("lina")
    html = page(pat, breach)
    # Notified, and the police details are still there to complete.
    assert fresh(breach).state == "notified"
    assert has_form(html, breach, "police")
    assert "No police reference" in html
    assert "No police reference" in pat.get("/breaches").get_data(as_text=True)
    assert "No police reference" in lina.get("/board").get_data(as_text=True)
    # The home page asks the reporter for it.
    assert "Save the police details" in Page.of(pat.get("/")).text

    told = ago(days=1)
    response = police(
        pat,
        breach,
        police_reference="CR/5501/26",
        police_officer="PC 4471, Walworth station",
        police_told_at=told,
        no_police_reference_reason="",
    )
    assert response.status_code == 303
    stored = fresh(breach)
    assert (stored.state, stored.police_reference, stored.police_officer) == (
        "notified",
        "CR/5501/26",
        "PC 4471, Walworth station",
    )
    assert to_the_minute(stored.police_told_at) == told
    assert audit_events(breach)[-1] == "record_police"
    for html in (page(pat, breach), pat.get("/breaches").get_data(as_text=True)):
        assert "No police reference" not in html
    assert "No police reference" not in lina.get("/board").get_data(as_text=True)
    assert "CR/5501/26 (PC 4471, Walworth station)" in page(pat, breach)


@pytest.mark.parametrize("who", ["pat", "lina", "dpo"])
def test_the_crime_reference_is_added_at_any_stage_until_the_case_is_closed(cast, who):
    breach = theft_without_a_reference(cast)
    walk(cast, breach, "service_user_informed")
    web = cast[who]
    assert has_form(page(web, breach), breach, "police")
    response = police(web, breach, police_reference="CR/77/26", police_told_at=ago(minutes=30))
    assert response.status_code == 303
    assert (fresh(breach).state, fresh(breach).police_reference) == (
        "service_user_informed",
        "CR/77/26",
    )
    # Someone without need to know cannot.
    assert police(cast["sam"], breach, police_reference="CR/1").status_code == 404


def test_no_police_details_once_the_case_is_closed(cast):
    breach = theft_without_a_reference(cast)
    walk(cast, breach, "closed")
    assert not has_form(page(cast["pat"], breach), breach, "police")
    before = (fresh(breach).version, len(audit_events(breach)))
    response = police(cast["pat"], breach, police_reference="CR/1", police_told_at=ago(hours=1))
    assert response.status_code == 409
    assert "This case is closed" in Page.of(response).text
    assert (fresh(breach).version, len(audit_events(breach))) == before


def test_a_crime_reference_needs_when_the_police_were_told(cast):
    breach = theft_without_a_reference(cast)
    response = police(cast["pat"], breach, police_reference="CR/1")
    assert response.status_code == 422
    # The error summary links to the field's first box, the day.
    assert Page.of(response).field_errors == {
        "police_told_at-day": "Enter when the police were told"
    }
    assert fresh(breach).police_reference is None


# -- the ICO clock stops when the ICO is told ---------------------------------------------


def test_an_ico_referral_before_the_letter_stops_the_clock_everywhere(cast):
    report(cast["pat"])
    breach = latest()
    walk(cast, breach, "risk_assessed", skip=("refer_to_ico",))
    dpo = cast["dpo"]
    html = page(dpo, breach)
    assert "Tell the ICO" in html and has_form(html, breach, "refer_to_ico")
    # The breach chain records it, not the reporter.
    assert not has_form(page(cast["pat"], breach), breach, "refer_to_ico")
    assert send(cast["pat"], breach, "refer_to_ico", **refer_data()).status_code == 403
    assert send(dpo, breach, "refer_to_ico", **refer_data()).status_code == 303
    stored = fresh(breach)
    assert (stored.state, stored.ico_referred, stored.ico_reference, stored.ico_told_by) == (
        "risk_assessed",
        True,
        "IC-123456-A1B2",
        "Dpo Tester",
    )
    assert audit_events(breach)[-1] == "refer_to_ico"
    again = send(dpo, breach, "refer_to_ico", **refer_data())
    assert again.status_code == 409
    assert "already recorded" in Page.of(again).text

    clock.travel(dt.timedelta(hours=80))  # long past the 72 hours
    dpo, director = cast.again("dpo"), cast.again("dir")
    for html in (
        page(dpo, breach),
        dpo.get("/breaches").get_data(as_text=True),
        director.get("/board").get_data(as_text=True),
    ):
        assert "ICO clock stopped" in html and "ICO deadline passed" not in html
    register = Page.of(cast.again("gov").get("/register")).text
    assert "100% (1 of 1 referrals)" in register and "Referred within 72 hours" in register

    # The letter comes later; the decision refers to the referral and asks nothing about it.
    pat = cast.again("pat")
    assert send(pat, breach, "record_meeting", **meeting_data()).status_code == 303
    assert send(pat, breach, "inform_service_user", **letter_data()).status_code == 303
    assert send(cast.again("cg"), breach, "caldicott_agree", **AGREE).status_code == 303
    ad = cast.again("ad")
    html = page(ad, breach)
    assert "Referred to the ICO on" in html and 'name="not_referred_reason"' not in html
    assert send(ad, breach, "decide", **decide_data()).status_code == 303
    assert fresh(breach).ico_referred is True


def test_the_ico_can_be_told_before_the_risk_is_assessed(cast):
    report(cast["pat"])
    breach = latest()
    dpo = cast["dpo"]
    html = page(dpo, breach)
    assert "Record an ICO referral already made" in html
    assert send(dpo, breach, "refer_to_ico", **refer_data()).status_code == 303
    assert fresh(breach).state == "reported" and fresh(breach).ico_referred
    assert "ICO clock stopped" in page(dpo, breach)


# -- cases opened for someone start with the facts asked then --------------------------------


def test_lost_papers_are_reported_with_the_facts_their_case_needs(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    response = report_lost(
        pat, removal, category="", children_or_vulnerable="", special_category=""
    )
    assert response.status_code == 422
    assert Page.of(response).errors == [
        "Select whether the papers were lost or stolen",
        "Select whether children or vulnerable adults are involved, or 'Not known yet'",
        "Select whether special category data is involved, or 'Not known yet'",
    ]
    assert Removal.get_by_id(removal.id).state == "out" and Breach.select().count() == 0
    response = report_lost(
        pat, removal, category="theft", children_or_vulnerable="yes", special_category="not_known"
    )
    assert response.status_code == 303
    breach = Breach.get(Breach.removal == removal)
    assert (breach.category, breach.children_or_vulnerable, breach.special_category) == (
        "theft",
        True,
        None,
    )
    assert breach.staff_member_id == staff["pat"].id  # the holder of the papers
    assert "Not known yet" in page(pat, breach)


def test_facts_not_known_yet_count_as_children_involved_for_the_severity_floor(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    assert report_lost(pat, removal).status_code == 303  # the facts "not known yet"
    breach = Breach.get(Breach.removal == removal)
    assert (
        police(
            pat,
            breach,
            police_reference="CR/1/26",
            police_told_at=ago(minutes=30),
            line_manager_told="yes",
        ).status_code
        == 303
    )
    clock.travel(dt.timedelta(minutes=10))
    lina = cast.again("lina")
    assert send(lina, breach, "notify", **notify_data(breach)).status_code == 303
    assert "Not yet known whether children or vulnerable adults are involved" in page(lina, breach)
    response = send(lina, breach, "assess_risk", **{**ASSESS, "severity": "1"})
    assert response.status_code == 422
    assert Page.of(response).field_errors["severity"] == (
        "Select a severity of 2 or more: it is not yet known whether children or vulnerable "
        "adults are involved"
    )
    assert fresh(breach).state == "notified"


def misdirected(cast, **facts) -> Breach:
    pat = cast["pat"]
    assert draft(pat).status_code == 303
    assert dispatch_send(cast["sam"], "check", **CHECKS).status_code == 303
    assert (
        dispatch_send(
            pat, "mark_sent", password_protected="yes", password_separate="yes"
        ).status_code
        == 303
    )
    response = dispatch_send(
        pat,
        "report_misdirected",
        what_happened="Autocomplete picked another guardian",
        **{"children_or_vulnerable": "not_known", "special_category": "no", **facts},
    )
    assert response.status_code == 303, Page.of(response).errors
    return Breach.get(Breach.dispatch == latest_dispatch())


def test_a_misdirected_dispatch_is_reported_with_its_facts(cast, staff):
    breach = misdirected(cast, children_or_vulnerable="yes", special_category="not_known")
    assert (breach.children_or_vulnerable, breach.special_category) == (True, None)
    assert breach.staff_member_id == staff["pat"].id  # who sent it


# -- corrections until the risk is assessed -------------------------------------------------


def correct(web, breach, **data):
    stored = fresh(breach)
    values = {
        "version": stored.version,
        "category": stored.category,
        "what_happened": stored.what_happened,
        "happened_at": to_the_minute(stored.happened_at),
        "discovered_at": to_the_minute(stored.discovered_at),
        "data_left_control": "yes" if stored.data_left_control else "no",
        "data_categories": stored.data_category_list or ["not_known"],
        "people_affected": str(stored.people_affected),
        "records_affected": str(stored.records_affected),
        "children_or_vulnerable": "yes",
        "special_category": "no",
        **data,
    }
    return web.post(f"/breaches/{breach.id}/details", typed(values))


def test_a_loss_found_to_be_a_theft_is_corrected_after_notifying_and_audited(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    assert report_lost(pat, removal).status_code == 303
    breach = Breach.get(Breach.removal == removal)
    assert (
        police(
            pat, breach, no_police_reference_reason="Reporting it now", line_manager_told="yes"
        ).status_code
        == 303
    )
    clock.travel(dt.timedelta(minutes=10))
    pat = cast.again("pat")
    assert send(pat, breach, "notify", **notify_data(breach)).status_code == 303
    earlier = ago(hours=5)
    response = correct(
        pat, breach, category="theft", discovered_at=ago(hours=4), happened_at=earlier
    )
    assert response.status_code == 303
    stored = fresh(breach)
    assert (stored.state, stored.category, to_the_minute(stored.happened_at)) == (
        "notified",
        "theft",
        earlier,
    )
    event = (
        AuditEvent.select()
        .where(AuditEvent.entity_id == breach.id)
        .order_by(AuditEvent.id.desc())
        .get()
    )
    assert event.event == "update_report"
    assert event.details["changed"].startswith("category, when it happened, when it was discovered")
    assert "Theft" in Page.of(pat.get(f"/breaches/{breach.id}")).text


def test_once_notified_a_disclosure_cannot_become_a_theft_the_insurers_never_heard_of(cast):
    report(cast["pat"])
    breach = latest()
    walk(cast, breach, "notified")
    response = correct(cast["pat"], breach, category="theft")
    assert response.status_code == 422
    assert (
        Page.of(response)
        .field_errors["category"]
        .startswith("A theft must be reported to the Insurance Section")
    )
    assert fresh(breach).category == "unauthorised_disclosure"


# -- links both ways, and the printed report -------------------------------------------------


def test_a_misdirected_dispatch_and_its_case_name_each_other(cast, staff):
    breach = misdirected(cast)
    dispatch = latest_dispatch()
    html = page(cast["pat"], breach)
    assert "Misdirected dispatch" in html and f'href="/dispatches/{dispatch.id}"' in html
    assert f"Dispatch {dispatch.id}: Assessment and chronology" in html
    back = cast["pat"].get(f"/dispatches/{dispatch.id}").get_data(as_text=True)
    assert f'href="/breaches/{breach.id}"' in back
    printed = Page.of(cast["lina"].get(f"/breaches/{breach.id}/report")).text
    assert f"Dispatch {dispatch.id}: Assessment and chronology" in printed


def test_the_printed_report_names_the_removal_and_who_told_the_line_manager(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    assert report_lost(pat, removal).status_code == 303
    breach = Breach.get(Breach.removal == removal)
    assert (
        police(
            pat,
            breach,
            police_reference="CR/8/26",
            police_told_at=ago(minutes=20),
            police_officer="DC Adeyemi, Peckham",
            line_manager_told="yes",
        ).status_code
        == 303
    )
    printed = Page.of(cast["irm"].get(f"/breaches/{breach.id}/report")).text
    assert f"Removal {removal.id} of Court bundle, volume 2, held by Pat Tester" in printed
    assert "Line manager told Yes: recorded by Pat Tester on" in printed
    assert "CR/8/26 (DC Adeyemi, Peckham), police told" in printed


# -- the decision: the regulator follows the staff member's profession -----------------------


def agreed(cast, breach):
    walk(cast, breach, "service_user_informed")
    assert send(cast["cg"], breach, "caldicott_agree", **AGREE).status_code == 303


@pytest.mark.parametrize(
    ("profession", "regulator"),
    [("social_worker", "social_work_england"), ("occupational_therapist", "hcpc")],
)
def test_the_regulator_follows_the_reporters_recorded_profession(
    cast, staff, profession, regulator
):
    User.update(profession=profession).where(User.id == staff["pat"].id).execute()
    report(cast["pat"])
    breach = latest()
    agreed(cast, breach)
    ad = cast["ad"]
    html = page(ad, breach)
    # The reporter is chosen, with their profession and its regulator shown.
    assert f'<option value="{staff["pat"].id}" selected>Pat Tester (' in html
    response = send(
        ad,
        breach,
        "decide",
        **decide_data(staff_member=str(staff["pat"].id), refer_to_regulator="yes"),
    )
    assert response.status_code == 303
    stored = fresh(breach)
    assert (stored.staff_member_id, stored.regulator) == (staff["pat"].id, regulator)


def test_no_referral_for_someone_whose_profession_is_not_recorded(cast, staff):
    report(cast["pat"])
    breach = latest()
    agreed(cast, breach)
    response = send(
        cast["ad"],
        breach,
        "decide",
        **decide_data(staff_member=str(staff["sam"].id), refer_to_regulator="yes"),
    )
    assert response.status_code == 422
    assert Page.of(response).field_errors["refer_to_regulator"] == (
        "Sam Tester's profession is not recorded: ask an administrator to record it, or select "
        "no referral"
    )
    # Someone from outside the case's team is not offered, and not taken.
    response = send(cast["ad"], breach, "decide", **decide_data(staff_member=str(staff["alex"].id)))
    assert response.status_code == 422
    assert fresh(breach).state == "service_user_informed"


# -- who reads the register -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dir", "ad", "bim"])
def test_the_director_and_the_business_improvement_manager_read_the_register(cast, who):
    report(cast["pat"])
    web = cast[who]
    assert latest().reference in web.get("/register").get_data(as_text=True)
    web.get("/breaches/register.csv", status=403)  # the spreadsheet stays with governance
