"""Who approves whom, over HTTP: nobody's request is stranded, nobody approves their own, and
the list of requests waiting for someone holds only what they can open and decide."""

from __future__ import annotations

import pytest

from models.records import Record, Removal
from tests.http.journeys import Cast, Page
from tests.http.journeys.custody import removal_of, request_removal, send


@pytest.fixture
def council(people):
    dana = people.add("dana", "director", team="Directorate")
    ash = people.add("ash", "assistant_director", team="Directorate", manager=dana)
    lina = people.add("lina", "line_manager", manager=dana)
    pat = people.add("pat", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")  # no manager recorded
    # Managed from another team: Mo cannot open North's records.
    jo = people.add("jo", "practitioner", manager=mo)
    kim = people.add("kim", "line_manager", team="Children South", manager=dana)
    rita = people.add("rita", "records_manager", team="Governance")

    def record(owner, description):
        return Record.create(
            case_id="1234567", description=description, team=owner.team, created_by=owner
        )

    return {
        "dana": dana,
        "ash": ash,
        "lina": lina,
        "pat": pat,
        "mo": mo,
        "jo": jo,
        "kim": kim,
        "rita": rita,
        "north": record(pat, "Court bundle, volume 2"),
        "north_2": record(pat, "Assessment and chronology"),
        "east": record(mo, "Care Act assessment"),
        "south": record(kim, "Child protection plan"),
    }


def pats_bundle(council, description: str) -> Record:
    """Another record of Pat's team."""
    return Record.create(
        case_id="7654321",
        description=description,
        team=council["pat"].team,
        created_by=council["pat"],
    )


@pytest.fixture
def cast(new_web):
    return Cast(new_web)


def test_a_line_managers_own_request_goes_to_her_director_who_approves_it(cast, council):
    request_page = Page.of(cast["lina"].get(f"/records/{council['north'].id}/remove"))
    assert "Dana Tester, your line manager, will be asked to agree it." in request_page.text
    assert request_removal(cast["lina"], council["north"]).status_code == 303
    removal = removal_of(council["north"])
    assert removal.state == "requested"
    record_page = Page.of(cast["lina"].get(f"/records/{council['north'].id}"))
    assert "Waiting for Dana Tester (the line manager of the person asking)" in record_page.text
    assert "Approve" not in record_page.buttons  # never her own

    home = Page.of(cast["dana"].get("/"))
    assert "1 request to take papers out is waiting for your approval" in home.text
    approvals = Page.of(cast["dana"].get("/approvals"))
    assert "Court bundle, volume 2" in approvals.text
    assert "Assessment 2025, chronology" in approvals.text  # which papers
    assert "Approve" in Page.of(cast["dana"].get(f"/records/{council['north'].id}")).buttons
    assert send(cast["dana"], removal, "approve").status_code == 303
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"
    assert Removal.get_by_id(removal.id).decided_by_id == council["dana"].id


def test_the_teams_only_manager_without_a_manager_is_agreed_by_an_assistant_director(cast, council):
    page = Page.of(cast["mo"].get(f"/records/{council['east'].id}/remove"))
    assert "an Assistant Director or a Director will be asked: Ash Tester or Dana Tester" in (
        page.text
    )
    request_removal(cast["mo"], council["east"])
    removal = removal_of(council["east"])
    assert removal.approval_route == "fallback"
    assert "Care Act assessment" in Page.of(cast["ash"].get("/approvals")).text
    assert "Care Act assessment" in Page.of(cast["dana"].get("/approvals")).text
    # A line manager of another team is no approver of it.
    assert "Care Act assessment" not in Page.of(cast["lina"].get("/approvals")).text
    assert send(cast["lina"], removal, "approve").status_code == 404  # not even visible
    assert send(cast["ash"], removal, "approve").status_code == 303
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"


def test_a_director_does_not_approve_a_team_members_request_when_the_team_has_a_manager(
    cast, council
):
    request_removal(cast["pat"], council["north"])
    removal = removal_of(council["north"])
    assert "Court bundle" not in Page.of(cast["ash"].get("/approvals")).text
    assert send(cast["ash"], removal, "approve").status_code == 403
    assert send(cast["lina"], removal, "approve").status_code == 303


def test_the_approvals_list_holds_only_requests_the_person_can_open(cast, council):
    """Mo manages Jo, who works in North: Mo may not open North's records, so Jo's request
    goes to North's line manager and is not in Mo's list (it used to be, then 404)."""
    page = Page.of(cast["jo"].get(f"/records/{council['north'].id}/remove"))
    assert "a line manager of the team will be asked to agree it: Lina Tester" in page.text
    request_removal(cast["jo"], council["north"])
    removal = removal_of(council["north"])
    mo_list = Page.of(cast["mo"].get("/approvals"))
    assert "Court bundle" not in mo_list.text and "1234567" not in mo_list.text
    assert "no requests waiting for you" in mo_list.text
    assert "1234567" in Page.of(cast["lina"].get("/approvals")).text
    # Every request in anyone's list opens and can be decided by them.
    for name in ("dana", "ash", "lina", "mo", "kim", "rita"):
        web = cast[name]
        for waiting in Removal.awaiting_approval_for(council[name]):
            web.get(f"/records/{waiting.record_id}")
            assert "Approve" in Page.of(web.get(f"/records/{waiting.record_id}")).buttons
    assert send(cast["lina"], removal, "approve").status_code == 303


def test_the_approvals_link_shows_for_those_who_may_approve(cast, council):
    def nav(name):
        return Page.of(cast[name].get("/")).text

    assert "Approvals" in nav("lina") and "Approvals" in nav("dana")
    assert "Approvals" not in nav("pat") and "Approvals" not in nav("rita")


def test_a_long_approvals_list_pages_and_every_request_can_be_reached(cast, council, app):
    """More requests than a page holds: the caption counts them all and the pages between
    them list each one once (the list used to stop at 100 and say "100 waiting")."""
    page_size = app.config["PAGE_SIZE"]
    asked = page_size + 2
    for n in range(asked):
        record = pats_bundle(council, f"Bundle {n:02d}")
        assert request_removal(cast["pat"], record).status_code == 303

    # Another list's page in the address is kept when this one's changes.
    raw = cast["lina"].get("/approvals?remote=1").get_data(as_text=True)
    assert 'href="/approvals?remote=1&amp;requests=2"' in raw
    first = Page.of(cast["lina"].get("/approvals"))
    assert f"{asked} waiting" in first.text
    shown_first = {f"Bundle {n:02d}" for n in range(asked) if f"Bundle {n:02d}" in first.text}
    assert len(shown_first) == page_size
    assert "Next" in first.text
    second = Page.of(cast["lina"].get("/approvals?requests=2"))
    assert f"{asked} waiting" in second.text
    shown_second = {f"Bundle {n:02d}" for n in range(asked) if f"Bundle {n:02d}" in second.text}
    assert shown_first | shown_second == {f"Bundle {n:02d}" for n in range(asked)}
    assert not shown_first & shown_second
    # A page past the end shows the last page rather than an empty list.
    assert Page.of(cast["lina"].get("/approvals?requests=99")).text.count("Bundle ") == 2


def test_the_home_page_counts_asks_to_a_bound_and_the_approvals_page_counts_them_all(cast, council):
    """The home page stops counting past BOUND (the count would read every request a
    director manages, which grows with the council); the approvals page, which pages them,
    counts each one."""
    from models.waiting_counts import BOUND

    assert request_removal(cast["pat"], council["north"]).status_code == 303
    asked = removal_of(council["north"])
    fields = {k: v for k, v in asked.__data__.items() if k != "id"}

    def ask_more(how_many: int) -> None:
        for n in range(how_many):
            Removal.create(**{**fields, "record": pats_bundle(council, f"Bundle {n:03d}")})

    ask_more(BOUND - 1)
    home = Page.of(cast["lina"].get("/"))
    assert f"{BOUND} requests to take papers out are waiting for your approval" in home.text
    ask_more(1)
    home = Page.of(cast["lina"].get("/"))
    assert f"More than {BOUND} requests to take papers out are waiting" in home.text
    assert f"{BOUND + 1} waiting" in Page.of(cast["lina"].get("/approvals")).text
