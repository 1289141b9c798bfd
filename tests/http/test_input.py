"""What people type, read one way everywhere (views/forms): limits refused, never cut; numbers
in ASCII digits only; every error at once; one case-system ID rule. Nothing is saved when
anything is refused."""

from __future__ import annotations

import pytest

from models.breaches import Breach
from models.dispatches import Dispatch
from models.records import Record, Removal
from tests.http.journeys import Cast, Page
from tests.http.journeys.breaches import breach_staff, report
from tests.http.journeys.custody import removal_of, request_removal, send


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


@pytest.fixture
def record(staff):
    pat = staff["pat"]
    return Record.create(
        case_id="1234567", description="Court bundle", team=pat.team, created_by=pat
    )


def rows() -> tuple[int, ...]:
    return tuple(m.select().count() for m in (Breach, Record, Removal, Dispatch))


# -- text over its limit is refused with the limit named, never cut ---------------------------


def test_a_report_over_its_limit_is_refused_not_cut(cast):
    before = rows()
    page = Page.of(report(cast["pat"], what_happened="x" * 2001))
    assert page.status == 422
    assert page.errors == ["What happened must be 2,000 characters or fewer"]
    assert page.title.startswith("Error:")
    assert rows() == before
    assert report(cast["pat"], what_happened="x" * 2000).status_code == 303


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"description": "x" * 121}, "Description must be 120 characters or fewer"),
        ({"case_id": "1" * 21}, "Enter the case-system ID in the correct format"),
    ],
)
def test_a_record_over_its_limits_is_refused(cast, form, message):
    pat = cast["pat"]
    pat.get("/records/new")
    before = rows()
    page = Page.of(
        pat.post("/records/new", {"case_id": "1234567", "description": "Bundle", **form})
    )
    assert page.status == 422 and page.errors[0].startswith(message)
    assert rows() == before


def test_a_removal_request_over_its_limits_is_refused(cast, record):
    before = rows()
    page = Page.of(request_removal(cast["pat"], record, papers="p" * 501, purpose_other="o" * 301))
    assert page.status == 422
    assert page.errors == [
        "Why the papers need to leave must be 300 characters or fewer",
        "Which papers must be 500 characters or fewer",
    ]
    assert rows() == before


def test_a_dispatch_over_its_limits_is_refused(cast):
    pat = cast["pat"]
    pat.get("/send/new")
    before = rows()
    response = pat.post(
        "/send/new",
        {
            "case_id": "1234567",
            "description": "d" * 201,
            "method": "secure_email",
            "recipient_organisation": "Cafcass",
            "recipient_role": "r" * 101,
            "address": "guardian@cafcass.example.org",
        },
    )
    page = Page.of(response)
    assert page.status == 422
    assert page.errors == [
        "What is being sent must be 200 characters or fewer",
        "Recipient's role must be 100 characters or fewer",
    ]
    assert rows() == before


def test_a_decline_over_its_limit_is_refused_and_the_request_waits(cast, record):
    assert request_removal(cast["pat"], record).status_code == 303
    removal = removal_of(record)
    page = Page.of(send(cast["lina"], removal, "decline", reason="r" * 501))
    assert page.status == 422 and page.errors == ["Reason must be 500 characters or fewer"]
    assert removal_of(record).state == "requested"


# -- numbers: ASCII digits, bounded ------------------------------------------------------------


@pytest.mark.parametrize("typed", ["²", "٣", "3.5", "-1", "1e3", "three", "١٢"])
def test_a_count_that_is_not_ascii_digits_is_an_error_not_a_500(cast, typed):
    before = rows()
    page = Page.of(report(cast["pat"], people_affected=typed))
    assert page.status == 422
    assert page.errors == ["Number of people must be a whole number, like 3"]
    assert rows() == before


def test_a_count_too_big_names_the_limit(cast):
    page = Page.of(report(cast["pat"], records_affected="9" * 40))
    assert page.status == 422
    assert page.errors == ["Number of records must be 10,000,000 or fewer"]
    assert report(cast["pat"], people_affected="1,200").status_code == 303
    assert Breach.select().order_by(Breach.id.desc()).get().people_affected == 1200


@pytest.mark.postgres
@pytest.mark.parametrize("team", ["²", "٣", "-1", "99999999999999999999", "1e3"])
def test_query_numbers_are_read_the_same_way(cast, team):
    page = Page.of(cast["gov"].client.get(f"/register?team={team}"))
    assert page.status == 422 and page.errors == ["Select a team from the list"]
    assert cast["gov"].client.get(f"/breaches/register.csv?team={team}").status_code == 400
    assert cast["dir"].client.get(f"/board?team={team}").status_code == 404
    assert cast["pat"].client.get(f"/breaches?page={team}").status_code == 200


# -- every error at once ---------------------------------------------------------------------


def test_an_empty_report_shows_every_error_at_once(cast):
    pat = cast["pat"]
    pat.get("/breaches/new")
    page = Page.of(pat.post("/breaches/new", {}))
    assert page.status == 422
    assert page.errors == [
        "Select what kind of breach it was",
        "Describe what happened",
        "Enter when it happened",
        "Enter when it was discovered",
        "Select the kinds of data involved, or 'Not yet known'",
        "Enter roughly how many people's data was involved",
        "Enter roughly how many records were involved",
    ]


def test_a_badly_typed_date_does_not_hide_the_other_errors(cast):
    pat = cast["pat"]
    pat.get("/breaches/new")
    typed = {"day": "next", "month": "tuesday", "year": "2026", "time": "14:30"}
    data = {f"happened_at-{part}": value for part, value in typed.items()}
    page = Page.of(pat.post("/breaches/new", {**data, "category": "loss"}))
    assert "When it happened must be a real date" in page.errors
    assert "Describe what happened" in page.errors
    assert "Enter when it was discovered" in page.errors


def test_an_empty_loss_report_on_papers_shows_every_error_at_once(cast, record):
    pat = cast["pat"]
    assert request_removal(pat, record, purpose="court").status_code == 303
    removal = removal_of(record)
    safeguards = dict.fromkeys(
        ("lockable_bag", "laptop_protected", "no_usb_stick", "notebook_secure"), "yes"
    )
    assert send(pat, removal, "take_out", **safeguards).status_code == 303
    page = Page.of(send(pat, removal, "report_lost", **{"last_seen_on-time": "25:99"}))
    assert page.status == 422
    assert page.errors == [
        "Enter where the papers were last seen",
        "Enter the day, month and year when the papers were last seen",
        "Select whether the papers were lost or stolen",
        "Select whether children or vulnerable adults are involved, or 'Not known yet'",
        "Select whether special category data is involved, or 'Not known yet'",
    ]
    assert page.field_errors["last_seen_on-day"] == (
        "Enter the day, month and year when the papers were last seen"
    )
    assert removal_of(record).state == "out" and Breach.select().count() == 0


def test_an_empty_removal_request_shows_every_error_at_once(cast, record):
    page = Page.of(
        request_removal(
            cast["pat"], record, purpose="", papers="", due_kind="", **{"due_on-day": ""}
        )
    )
    assert page.errors == [
        "Select why the papers are leaving the office",
        "Enter which papers you are taking",
        "Select whether the papers will be returned or destroyed",
        "The date the papers will be returned or destroyed must include a day",
    ]


# -- one case-system ID rule, everywhere -------------------------------------------------------

BAD_IDS = ["12-34", "A1B2C3", "12", "1234567890-12345678901", "Jane Smith", "١٢٣٤"]
GOOD_IDS = ["1234567", "MOS-1234567", "AB12345"]
RULE = (
    "Enter the case-system ID in the correct format: 3 to 20 characters, digits, which may "
    "follow letters and a hyphen, like 1234567 or MOS-1234567"
)


def add_record(web, case_id):
    web.get("/records/new")
    return web.post("/records/new", {"case_id": case_id, "description": "Court bundle"})


def send_documents(web, case_id):
    web.get("/send/new")
    return web.post(
        "/send/new",
        {
            "case_id": case_id,
            "description": "Assessment",
            "method": "secure_email",
            "recipient_organisation": "Cafcass",
            "recipient_role": "Guardian",
            "address": "guardian@cafcass.example.org",
        },
    )


@pytest.mark.parametrize("case_id", BAD_IDS)
def test_a_bad_case_id_is_refused_alike_by_records_dispatches_and_breaches(cast, case_id):
    pat = cast["pat"]
    before = rows()
    for response in (
        add_record(pat, case_id),
        send_documents(pat, case_id),
        report(pat, case_id=case_id),
    ):
        page = Page.of(response)
        assert page.status == 422
        assert page.field_errors["case_id"] == RULE
    assert rows() == before


@pytest.mark.parametrize("case_id", GOOD_IDS)
def test_a_good_case_id_is_accepted_alike(cast, case_id):
    pat = cast["pat"]
    assert add_record(pat, case_id.lower()).status_code == 303
    assert Record.select().order_by(Record.id.desc()).get().case_id == case_id
    assert send_documents(pat, case_id).status_code == 303
    assert report(pat, case_id=case_id).status_code == 303
    assert Breach.select().order_by(Breach.id.desc()).get().case_id == case_id
