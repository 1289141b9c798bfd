"""Who approves whom: a request for papers (or remote working) always has an approver who is
not the requester (machines.removal.approvers_for and may_approve)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from machines.common import Actor
from machines.removal import (
    FALLBACK,
    NOBODY,
    OWN_MANAGER,
    TEAM_MANAGERS,
    approvers_for,
    may_approve,
    may_decide,
)

TEAM, OTHER_TEAM, DIRECTORATE = 1, 2, 9

# The people of a small council, by what they are to the requester.
PEOPLE = {
    "practitioner": Actor(10, frozenset({"practitioner"}), TEAM),
    "line_manager": Actor(20, frozenset({"line_manager"}), TEAM),
    "other_line_manager": Actor(21, frozenset({"line_manager"}), TEAM),
    "colleague": Actor(11, frozenset({"practitioner"}), TEAM),
    "outside_line_manager": Actor(30, frozenset({"line_manager"}), OTHER_TEAM),
    "director": Actor(40, frozenset({"director"}), DIRECTORATE),
    "assistant_director": Actor(41, frozenset({"assistant_director"}), DIRECTORATE),
    "caldicott_guardian": Actor(42, frozenset({"caldicott_guardian"}), DIRECTORATE),
    "records_manager": Actor(43, frozenset({"records_manager"}), DIRECTORATE),
}


def who(name: str, manager: str | None) -> Actor:
    person = PEOPLE[name]
    return Actor(person.id, person.roles, person.team_id, PEOPLE[manager].id if manager else None)


# (requester, their line manager, the team's line managers) -> the route, who is asked, and
# everyone who may approve (any other line manager of the team may, besides the one asked).
CASES = {
    "practitioner managed in the team": (
        ("practitioner", "line_manager", ["line_manager", "other_line_manager"]),
        OWN_MANAGER,
        {"line_manager"},
        {"line_manager", "other_line_manager"},
    ),
    "practitioner with no manager recorded": (
        ("practitioner", None, ["line_manager", "other_line_manager"]),
        TEAM_MANAGERS,
        {"line_manager", "other_line_manager"},
        {"line_manager", "other_line_manager"},
    ),
    "practitioner managed from another team, who cannot open the papers": (
        ("practitioner", "outside_line_manager", ["line_manager"]),
        TEAM_MANAGERS,
        {"line_manager"},
        {"line_manager"},
    ),
    "line manager managed by a director": (
        ("line_manager", "director", ["line_manager"]),
        OWN_MANAGER,
        {"director"},
        {"director"},
    ),
    "line manager managed by an assistant director, with a second manager in the team": (
        ("line_manager", "assistant_director", ["line_manager", "other_line_manager"]),
        OWN_MANAGER,
        {"assistant_director"},
        {"assistant_director", "other_line_manager"},
    ),
    "line manager with no manager, and another manager in the team": (
        ("line_manager", None, ["line_manager", "other_line_manager"]),
        TEAM_MANAGERS,
        {"other_line_manager"},
        {"other_line_manager"},
    ),
    "the team's only line manager, with no manager recorded": (
        ("line_manager", None, ["line_manager"]),
        FALLBACK,
        {"director", "assistant_director"},
        {"director", "assistant_director"},
    ),
    "a practitioner whose recorded manager is a colleague (whatever their role)": (
        ("practitioner", "colleague", ["line_manager"]),
        OWN_MANAGER,
        {"colleague"},
        {"colleague", "line_manager"},
    ),
}


def _resolve(requester_name, manager_name, team_managers):
    requester = who(requester_name, manager_name)
    staff = [PEOPLE[name] for name in {*team_managers, "colleague", "practitioner"}]
    seniors = list(PEOPLE.values())
    manager = PEOPLE[manager_name] if manager_name else None
    return requester, approvers_for(requester, TEAM, manager, staff, seniors)


def _request(requester: Actor, route: str) -> SimpleNamespace:
    return SimpleNamespace(
        team_id=TEAM,
        for_user_id=requester.id,
        requested_by_id=requester.id,
        requester_manager_id=requester.line_manager_id,
        approval_route=route,
    )


@pytest.mark.parametrize("case", list(CASES))
def test_who_is_asked(case):
    (requester_name, manager_name, team_managers), route, asked, _ = CASES[case]
    requester, approvers = _resolve(requester_name, manager_name, team_managers)
    assert approvers.route == route
    assert {n for n, p in PEOPLE.items() if p.id in approvers.ids} == asked
    assert requester.id not in approvers.ids


@pytest.mark.parametrize("approver", list(PEOPLE))
@pytest.mark.parametrize("case", list(CASES))
def test_who_may_approve(case, approver):
    """The table: requester x approver role -> may approve. Only those listed may."""
    (requester_name, manager_name, team_managers), _, asked, allowed = CASES[case]
    requester, approvers = _resolve(requester_name, manager_name, team_managers)
    actor = PEOPLE[approver]
    if approver not in team_managers and "line_manager" in actor.roles and actor.team_id == TEAM:
        # In this case the team has no such manager: they work elsewhere.
        actor = Actor(actor.id, actor.roles, OTHER_TEAM + 1)
    request = _request(requester, approvers.route)
    expected = approver in allowed and approver != requester_name
    assert may_decide(request, actor) is expected
    assert asked <= allowed  # whoever is asked may approve


@pytest.mark.parametrize("case", list(CASES))
def test_someone_is_always_asked_and_never_the_requester(case):
    (requester_name, manager_name, team_managers), *_ = CASES[case]
    requester, approvers = _resolve(requester_name, manager_name, team_managers)
    assert approvers.ids and requester.id not in approvers.ids
    request = _request(requester, approvers.route)
    assert not may_decide(request, requester)
    assert all(may_decide(request, p) for p in PEOPLE.values() if p.id in approvers.ids)


def test_with_nobody_senior_in_the_council_nobody_is_asked():
    requester = who("line_manager", None)
    approvers = approvers_for(requester, TEAM, None, [requester], [requester])
    assert approvers.route == NOBODY and approvers.ids == ()


def test_a_requester_who_is_their_own_manager_is_not_asked():
    requester = who("line_manager", "line_manager")  # a data error: managed by herself
    approvers = approvers_for(requester, TEAM, requester, [requester], list(PEOPLE.values()))
    assert approvers.route == FALLBACK and requester.id not in approvers.ids


def test_the_fallback_approves_only_fallback_requests():
    director = PEOPLE["director"]
    requester = who("practitioner", "line_manager")
    assert not may_approve(
        director,
        requester_ids=(requester.id,),
        team_id=TEAM,
        manager_id=requester.line_manager_id,
        route=OWN_MANAGER,
    )
    assert may_approve(
        director,
        requester_ids=(requester.id,),
        team_id=TEAM,
        manager_id=requester.line_manager_id,
        route=FALLBACK,
    )
