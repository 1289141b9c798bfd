"""The home page's "Waiting for you": the breach cases this person can move on now (as the
breach machine says), the documents waiting for their second check, and what practitioners
already had. Every case is one the person may see (need to know)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from machines import clock
from models.breaches import Breach
from models.dispatches import Dispatch
from tests.http.journeys import Cast
from tests.http.journeys.breaches import (
    AGREE,
    ASSESS,
    CLOSE,
    breach_staff,
    latest,
    outcome_data,
    report,
    send,
    walk,
)


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


@pytest.fixture
def case(cast):
    """A breach reported by Pat, in `reported`."""
    assert report(cast["pat"]).status_code == 303
    return latest()


def home(web) -> str:
    return web.get("/").get_data(as_text=True)


def waiting_rows(html: str) -> dict[str, str]:
    """Reference -> the row's text, from the "Waiting for you" table (none: empty)."""
    table = re.search(r'<table[^>]*id="waiting-breaches".*?</table>', html, re.S)
    if not table:
        return {}
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)[1:]:
        text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        rows[text.split(" ")[0]] = text
    return rows


def bulk_cases(reporter, count: int, state: str, start: int = 0) -> None:
    """Cases written straight to the table (the statement count is what is under test)."""
    now = clock.now()
    for n in range(start, start + count):
        Breach.create(
            reference=f"BR-BULK-{n:04d}",
            state=state,
            team=reporter.team_id,
            reported_by=reporter.id,
            reporter_manager=reporter.line_manager_id,
            reported_at=now,
            what_happened="Letter sent to an old address",
            happened_at=now - dt.timedelta(hours=n + 2),
            discovered_at=now - dt.timedelta(hours=n + 1),
            category="wrong_recipient",
            caldicott_agreed_at=now,  # the decision waits for it
        )


# -- the breach chain ----------------------------------------------------------------------


def test_the_assistant_director_sees_a_case_waiting_for_the_decision(cast, staff):
    assert report(cast["pat"]).status_code == 303
    to_decide = walk(cast, latest(), "service_user_informed")
    # A loss still waiting for its police details: no one may notify yet, the AD included.
    assert report(cast["sam"], category="loss").status_code == 303
    waiting_for_police = latest()
    assert report(cast["pat"]).status_code == 303
    decided = walk(cast, latest(), "decided")

    # The Caldicott Guardian's agreement comes first: it waits for them, not for the AD.
    assert to_decide.reference not in waiting_rows(home(cast["ad"]))
    assert "Record your agreement" in waiting_rows(home(cast["cg"]))[to_decide.reference]
    assert send(cast["cg"], to_decide, "caldicott_agree", **AGREE).status_code == 303
    rows = waiting_rows(home(cast["ad"]))
    assert to_decide.reference in rows
    assert "Service user informed" in rows[to_decide.reference]
    assert "Record the decision" in rows[to_decide.reference]
    assert "ICO clock stopped" in rows[to_decide.reference]  # the ICO was told on the way
    assert waiting_for_police.reference not in rows
    assert decided.reference not in rows  # closing is the records manager's
    html = home(cast["ad"])
    assert f'href="/breaches/{to_decide.id}"' in html


def test_the_machine_lets_the_whole_chain_assess_so_the_ad_is_offered_it_too(cast, case):
    """The guard (may_assess_risk) lets anyone in the breach chain assess: the page follows
    the machine, so a case at risk assessment waits for the AD as for the DPO."""
    notified = walk(cast, case, "notified")
    for person in ("ad", "dpo"):
        rows = waiting_rows(home(cast[person]))
        assert "Record the risk assessment" in rows[notified.reference]
    assert "Record the decision" not in waiting_rows(home(cast["ad"]))[notified.reference]


def test_the_records_manager_sees_a_decided_case_to_close(cast, case):
    decided = walk(cast, case, "decided")
    # Referred to the ICO: its outcome comes first, then closing.
    rows = waiting_rows(home(cast["irm"]))
    assert "Record the ICO&#39;s outcome" in rows[decided.reference]
    assert "Close the case" not in rows[decided.reference]
    assert send(cast["irm"], decided, "record_ico_outcome", **outcome_data()).status_code == 303
    rows = waiting_rows(home(cast["irm"]))
    assert "Close the case" in rows[decided.reference]
    assert "Decided" in rows[decided.reference]
    assert "ICO clock stopped" in rows[decided.reference]  # referred to the ICO
    assert decided.reference not in waiting_rows(home(cast["ad"]))
    assert send(cast["irm"], decided, "close", **CLOSE).status_code == 303
    html = home(cast["irm"])
    assert decided.reference not in html
    assert "No breach cases are waiting for you." in html


def test_the_caldicott_guardian_is_offered_the_exemption_with_telling(cast, case):
    assessed = walk(cast, case, "risk_assessed")
    row = waiting_rows(home(cast["cg"]))[assessed.reference]
    assert "or record the face-to-face meeting" in row and "or approve the exemption" in row
    # Reportable and not referred yet: the ICO referral waits for the breach chain too.
    assert "Record the ICO referral" in row


# -- the reporter, their line manager, and everyone else -----------------------------------


def test_the_reporter_sees_their_case_to_notify_but_not_to_assess(cast, case):
    rows = waiting_rows(home(cast["pat"]))
    assert "Record who was told" in rows[case.reference]
    notified = walk(cast, case, "notified")
    html = home(cast["pat"])
    # They may not assess their own breach: nothing waits for them at this stage.
    assert notified.reference not in waiting_rows(html)
    assert "Waiting for you" not in html  # a practitioner with nothing waiting: as before
    assert send(cast["lina"], notified, "assess_risk", **ASSESS).status_code == 303
    assessed = notified
    assert "Record the face-to-face meeting" in waiting_rows(home(cast["pat"]))[assessed.reference]


def test_a_line_manager_sees_their_reports_case_to_notify_then_assess(cast, case):
    row = waiting_rows(home(cast["lina"]))[case.reference]
    assert "Reported" in row and "Record who was told" in row
    notified = walk(cast, case, "notified")
    row = waiting_rows(home(cast["lina"]))[notified.reference]
    assert "Notified" in row and "Record the risk assessment" in row


@pytest.mark.parametrize("outsider", ["sam", "mo", "alex"])
def test_someone_without_need_to_know_sees_nothing_of_it(cast, case, outsider):
    html = home(cast[outsider])
    assert case.reference not in html
    assert f"/breaches/{case.id}" not in html
    assert "Waiting for you" not in html


def test_the_oldest_ten_are_shown_and_the_rest_are_a_link_away(cast, staff):
    bulk_cases(staff["pat"], 13, "service_user_informed")
    html = home(cast["ad"])
    rows = waiting_rows(html)
    assert len(rows) == 10
    # Oldest discovery first: BR-BULK-0012 was discovered 13 hours ago.
    assert list(rows)[:2] == ["BR-BULK-0012", "BR-BULK-0011"]
    assert "BR-BULK-0000" not in rows
    assert re.search(r'<a class="govuk-link" href="/breaches">and 3 more cases</a>', html)


# -- documents waiting for a second check ----------------------------------------------------


def test_documents_waiting_for_a_second_check_are_a_count_with_a_link(cast, staff):
    for n in range(2):
        Dispatch.create(
            team=staff["pat"].team_id,
            case_id="1000003",
            description=f"Assessment {n}",
            method="special_delivery",
            recipient_organisation="School",
            recipient_role="Head teacher",
            address="1 High Street",
            drafted_by=staff["pat"],
            drafted_at=clock.now(),
        )
    sam = home(cast["sam"])
    assert re.search(
        r'<a class="govuk-link" href="/send">2 documents to send are waiting for your second '
        r"check</a>",
        sam,
    )
    assert "Waiting for you" in sam
    assert "waiting for your second check" not in home(cast["pat"])  # never their own
    assert "waiting for your second check" not in home(cast["alex"])  # another team's
    assert "waiting for your second check" not in home(cast["dpo"])  # not a checker


# -- cost --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "state"),
    [("ad", "service_user_informed"), ("lina", "notified"), ("irm", "decided")],
)
@pytest.mark.postgres
def test_statements_do_not_grow_with_the_cases(cast, staff, statements, person, state):
    web = cast[person]
    web.get("/")  # warm: what a first visit caches is not counted
    counts = {}
    pages = {}
    for total in (5, 60, 130):
        bulk_cases(staff["pat"], total - Breach.select().count(), state, Breach.select().count())
        with statements.counting():
            pages[total] = home(web)
        counts[total] = statements.count
    print(f"\n{person}: home page statements by cases waiting {counts}")
    assert counts[5] == counts[60] == counts[130], statements.report()
    assert len(waiting_rows(pages[5])) == 5 and "more case" not in pages[5]
    assert len(waiting_rows(pages[60])) == 10 and "and 50 more cases</a>" in pages[60]
    # Past the rows the machine is run over (100), the count says so.
    assert len(waiting_rows(pages[130])) == 10 and "and at least 90 more cases</a>" in pages[130]


def test_a_kiosk_account_still_goes_straight_to_the_kiosk(people, staff, cast, case):
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    kiosk = cast["kiosk-north"]
    response = kiosk.client.get("/")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith("/kiosk/")


def test_someone_with_more_open_removals_than_listed_is_told_and_linked_to_the_rest(cast, staff):
    from tests.http.journeys.custody import papers_held
    from views.home import REMOVALS_SHOWN

    pat = staff["pat"]
    for n in range(REMOVALS_SHOWN + 1):
        papers_held(pat, f"Bundle {n:02d}", due_in_days=n)
    html = home(cast["pat"])
    assert html.count(">Bundle ") == REMOVALS_SHOWN
    assert f"Showing the first {REMOVALS_SHOWN}, papers out first." in html
    assert f'href="/records/where?holder={pat.id}">Every record you have out</a>' in html
    # The link's list holds every one of them, the one left off the home page too.
    listed = cast["pat"].get(f"/records/where?holder={pat.id}").get_data(as_text=True)
    assert f"{REMOVALS_SHOWN + 1} records" in listed
    assert f"Bundle {REMOVALS_SHOWN:02d}" in listed
