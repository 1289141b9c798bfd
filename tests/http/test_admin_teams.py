"""Teams (issue 12): added, renamed and retired by administrators, each change audited; a team
is retired only when nothing is left in it, and a retired team takes no one new."""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from models.people import Team, User
from models.records import Record
from models.remote_working import RemoteAgreement
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import events, new_person


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    lina = people.add("lina", "line_manager")
    people.team("Adults West")  # empty
    return {"ada": ada, "lina": lina}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def test_an_admin_adds_and_renames_a_team_each_audited(cast):
    web = cast["ada"]
    web.get("/admin/teams")
    assert web.post("/admin/teams", {"name": "Fostering"}).status_code == 303
    team = Team.get(Team.name == "Fostering")
    (added,) = events("team", team.id, "add_team")
    assert added.details == {"name": "Fostering"} and added.actor_id is not None
    web.get(f"/admin/teams/{team.id}/rename")
    assert (
        web.post(f"/admin/teams/{team.id}/rename", {"name": "Fostering and Adoption"}).status_code
        == 303
    )
    (renamed,) = events("team", team.id, "rename_team")
    assert renamed.details == {"name": ["Fostering", "Fostering and Adoption"]}
    assert "Fostering and Adoption" in Page.of(web.get("/admin/teams")).text


def test_team_names_are_unique_whatever_the_case_and_never_cut(cast):
    web = cast["ada"]
    web.get("/admin/teams")
    page = Page.of(web.post("/admin/teams", {"name": "children north"}))
    assert page.status == 422 and page.errors == ["There is already a team called Children North"]
    long = Page.of(web.post("/admin/teams", {"name": "x" * 81}))
    assert long.errors == ["Team name must be 80 characters or fewer"]
    empty = Page.of(web.post("/admin/teams", {"name": "  "}))
    assert empty.errors == ["Enter the team's name"]


def test_a_team_with_people_or_records_cannot_be_retired(cast, staff, people):
    web = cast["ada"]
    north = staff["lina"].team
    page = Page.of(web.get(f"/admin/teams/{north.id}/retire"))
    assert "1 active member" in page.text and "Retire team" not in page.buttons
    refused = web.post(f"/admin/teams/{north.id}/retire", {})
    assert refused.status_code == 409
    assert "cannot be retired while it has 1 active member" in refused.get_data(as_text=True)
    west = people.team("Adults West")
    Record.create(case_id="1234567", description="Bundle", team=west, created_by=staff["lina"])
    assert "1 record" in Page.of(web.get(f"/admin/teams/{west.id}/retire")).text
    assert Team.get_by_id(north.id).retired_at is None


@pytest.mark.parametrize(
    ("state", "days_left", "blocks"),
    [("asked", 30, True), ("agreed", 30, True), ("agreed", -1, False), ("withdrawn", 30, False)],
)
def test_remote_working_in_force_or_waiting_keeps_a_team(
    cast, staff, people, state, days_left, blocks
):
    """Someone who has moved on may still be agreed to work on the team's records remotely."""
    web, lina = cast["ada"], staff["lina"]
    west = people.team("Adults West")
    RemoteAgreement.create(
        team=west,
        state=state,
        for_user=lina,
        requested_by=lina,
        place="Home",
        why="Court work",
        ends_on=clock.uk_today() + dt.timedelta(days=days_left),
    )
    page = Page.of(web.get(f"/admin/teams/{west.id}/retire"))
    said = "1 remote working agreement in force or waiting"
    assert (said in page.text) is blocks
    assert ("Retire team" in page.buttons) is not blocks
    response = web.post(f"/admin/teams/{west.id}/retire", {})
    assert response.status_code == (409 if blocks else 303)
    assert (Team.get_by_id(west.id).retired_at is None) is blocks


def test_an_empty_team_is_retired_and_takes_no_one_new(cast, staff, people):
    web = cast["ada"]
    west = people.team("Adults West")
    page = Page.of(web.get(f"/admin/teams/{west.id}/retire"))
    assert "Retire team" in page.buttons
    assert web.post(f"/admin/teams/{west.id}/retire", {}).status_code == 303
    assert Team.get_by_id(west.id).retired_at is not None
    assert events("team", west.id, "retire_team")
    # Not offered, and refused, for a new person.
    form = Page.of(web.get("/admin/people/new"))
    assert "Adults West" not in form.text
    refused = Page.of(web.post("/admin/people/new", new_person(west)))
    assert refused.field_errors["team_id"] == "Adults West has been retired: select a current team"
    assert User.by_username("jbloggs") is None
    again = web.post(f"/admin/teams/{west.id}/retire", {})
    assert again.status_code == 409
