"""Personal data typed into free text is refused where it is typed, with a GOV.UK error that
says what was found, and nothing is saved; where a name or address is the point (who was told,
a witness, the address a dispatch goes to) it is accepted. The ICO draft takes the same
patterns out of whatever text a case already holds."""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from models.breaches import Breach
from models.dispatches import Dispatch
from models.records import Record, Removal
from tests.http.journeys import Cast, Page, date_fields
from tests.http.journeys.breaches import breach_staff, fresh, latest, report, send
from tests.http.journeys.custody import papers_out, request_removal
from tests.http.journeys.sending import CHECKS, draft
from tests.http.journeys.sending import latest as latest_dispatch
from tests.http.journeys.sending import send as dispatch_send

NHS = "NHS number 943 476 5919"
ADDRESS = "Left at 14 Acacia Avenue"


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def refused(response, field: str, message: str) -> None:
    page = Page.of(response)
    assert response.status_code == 422
    assert page.field_errors.get(field) == message, page.field_errors


def test_a_breach_report_naming_an_address_is_refused_and_nothing_saved(cast):
    response = report(cast["pat"], what_happened=ADDRESS)
    refused(
        response,
        "what_happened",
        "What happened looks like it contains a house number and street. "
        "Use the case-system ID instead",
    )
    assert Breach.select().count() == 0
    # What was typed comes back to be corrected.
    assert "14 Acacia Avenue" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("Emailed to jane.doe@gmail.com", "an email address"),
        ("Spoke to Mrs Smith", "a person's name"),
        ("DOB 01/02/2010 on the front", "a date of birth"),
        ("Mobile 07700 900123 on the file", "a phone number"),
    ],
)
def test_each_kind_found_is_named_in_the_error(cast, text, what):
    response = report(cast["pat"], what_happened=text)
    instead = "the case-system ID or initials" if "name" in what else "the case-system ID"
    refused(
        response,
        "what_happened",
        f"What happened looks like it contains {what}. Use {instead} instead",
    )
    assert Breach.select().count() == 0


def test_a_step_of_the_case_refuses_personal_data_and_stays_where_it_was(cast):
    report(cast["pat"])
    breach = latest()
    version = fresh(breach).version
    response = send(
        cast["pat"],
        breach,
        "details",
        what_happened="The bundle for " + NHS,
        data_categories=["health"],
        people_affected="1",
        records_affected="1",
    )
    refused(
        response,
        "what_happened",
        "What happened looks like it contains an NHS number. Use the case-system ID instead",
    )
    assert fresh(breach).version == version
    assert NHS not in fresh(breach).what_happened


def test_who_was_told_may_be_a_named_member_of_staff(cast):
    report(cast["pat"])
    breach = latest()
    from tests.http.journeys.breaches import notify_data

    data = notify_data(breach)
    data["director_who"] = "Dr Okafor"
    assert send(cast["pat"], breach, "notify", **data).status_code == 303
    assert fresh(breach).state == "notified"


def test_adding_a_record_described_with_an_nhs_number_is_refused(cast, staff):
    web = cast["pat"]
    web.get("/records/new")
    response = web.post("/records/new", {"case_id": "1234567", "description": NHS})
    refused(
        response,
        "description",
        "Description looks like it contains an NHS number. Use the case-system ID instead",
    )
    assert Record.select().count() == 0


def test_asking_to_take_papers_out_with_a_postcode_is_refused(cast, staff):
    record = Record.create_labelled(
        case_id="1234567",
        description="Court bundle",
        team=staff["pat"].team_id,
        created_by=staff["pat"],
    )
    response = request_removal(cast["pat"], record, purpose_other="Visit the family at SE1 2QH")
    refused(
        response,
        "purpose_other",
        "Why the papers need to leave looks like it contains a postcode. "
        "Use the case-system ID instead",
    )
    assert Removal.select().count() == 0


def test_papers_reported_lost_at_an_address_are_refused_and_stay_out(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    seen = clock.to_uk(clock.now() - dt.timedelta(hours=2))
    response = pat.post(
        f"/removals/{removal.id}/report_lost",
        {
            "version": removal.version,
            "last_seen_where": "Outside 14 Acacia Avenue",
            **date_fields("last_seen_on", seen.date()),
            "last_seen_on-time": seen.strftime("%H:%M"),
            "category": "loss",
            "children_or_vulnerable": "yes",
            "special_category": "no",
        },
    )
    refused(
        response,
        "last_seen_where",
        "Where last seen looks like it contains a house number and street. "
        "Use the case-system ID instead",
    )
    assert Removal.get_by_id(removal.id).state == "out"
    assert Breach.select().count() == 0


def test_a_destruction_witness_is_a_named_colleague(cast, staff):
    pat = cast["pat"]
    removal = papers_out(pat, staff)
    response = pat.post(
        f"/removals/{removal.id}/destroy",
        {
            "version": removal.version,
            "method": "shredded",
            "witness": staff["sam"].id,
            "confirmed": "yes",
        },
    )
    assert response.status_code == 303
    assert Removal.get_by_id(removal.id).witnessed_by_id == staff["sam"].id


def test_a_dispatch_goes_to_an_email_address_but_its_description_may_not_hold_one(cast):
    pat = cast["pat"]
    response = pat.post(
        "/send/new",
        {
            "case_id": "1234567",
            "description": "Assessment for jane.doe@gmail.com",
            "method": "secure_email",
            "recipient_organisation": "Cafcass",
            "recipient_role": "Children's guardian",
            "address": "guardian@cafcass.example.org",
        },
    )
    refused(
        response,
        "description",
        "What is being sent looks like it contains an email address. "
        "Use the case-system ID instead",
    )
    assert Dispatch.select().count() == 0
    assert draft(pat).status_code == 303  # the address field itself holds an email
    assert latest_dispatch().address == "guardian@cafcass.example.org"


def test_a_misdirection_described_with_a_name_is_refused_and_opens_no_case(cast):
    pat = cast["pat"]
    draft(pat)
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
        what_happened="It went to the mother Jane Doe",
        children_or_vulnerable="yes",
        special_category="no",
    )
    refused(
        response,
        "what_happened",
        "What happened looks like it contains a person's name. "
        "Use the case-system ID or initials instead",
    )
    assert latest_dispatch().state == "sent"
    assert Breach.select().count() == 0


def test_text_already_in_a_case_never_reaches_the_ico_draft(cast):
    """Text saved before the entry check (or written by a script) never reaches the ICO: the
    draft carries the case's answers and the summary for the ICO only, and takes the entry
    check's patterns out of the summary too."""
    report(cast["pat"])
    breach = latest()
    identifiers = "Mrs Doe of 14 Acacia Avenue, SE1 2QH, NHS 943 476 5919, mobile 07700 900123"
    Breach.update(
        what_happened=f"Letter for {identifiers}; it was left on the 18:05 train",
        ico_summary=f"A letter for {identifiers} was left on the 18:05 train on 3 March 2026",
    ).where(Breach.id == breach.id).execute()
    draft_page = cast["dpo"].get(f"/breaches/{breach.id}/ico-draft").get_data(as_text=True)
    for identifier in ("Doe", "14 Acacia Avenue", "SE1 2QH", "943 476 5919", "07700 900123"):
        assert identifier not in draft_page, identifier
    assert "it was left on the 18:05 train" not in draft_page  # the report's own words
    assert "was left on the 18:05 train on 3 March 2026" in draft_page  # the summary's
