"""The remote working machine: its transition table, who may do what, what it asks for, and
expiry by time (only the schedule expires an agreement, and only after its last day)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines.common import SCHEDULE, Actor, InputError
from machines.remote_working import (
    EVENT_LABELS,
    STATE_LABELS,
    RemoteWorkingMachine,
    remote_working_machine,
    shown_state,
)

NOW = dt.datetime(2026, 11, 25, 10, 0)
TODAY = NOW.date()
TEAM, OTHER_TEAM = 1, 2

PERSON = Actor(10, frozenset({"practitioner"}), TEAM, line_manager_id=20)
MANAGER = Actor(20, frozenset({"line_manager"}), TEAM)
TEAM_MANAGER = Actor(21, frozenset({"line_manager"}), TEAM)
COLLEAGUE = Actor(11, frozenset({"practitioner"}), TEAM, line_manager_id=20)
OUTSIDE_MANAGER = Actor(30, frozenset({"line_manager"}), OTHER_TEAM)
DIRECTOR = Actor(40, frozenset({"director"}), None)
ACTORS = {
    "person": PERSON,
    "manager": MANAGER,
    "team_manager": TEAM_MANAGER,
    "colleague": COLLEAGUE,
    "outside_manager": OUTSIDE_MANAGER,
    "director": DIRECTOR,
    "schedule": SCHEDULE,
}
GOOD_INPUT = {
    "ask": {"where": "Home", "why": "Writing court reports", "ends_on": TODAY + dt.timedelta(7)},
    "agree": {"note": "Fine"},
    "decline": {"reason": "Use the office"},
    "withdraw": {},
    "expire": {},
}


def row(state: str, ends_on: dt.date | None = TODAY + dt.timedelta(days=7), **extra):
    fields = {
        "id": 1,
        "state": state,
        "team_id": TEAM,
        "for_user_id": PERSON.id,
        "requested_by_id": PERSON.id,
        "requester_manager_id": MANAGER.id,
        "approval_route": "own_manager",
        "ends_on": ends_on,
        "closed_at": None,
    }
    return SimpleNamespace(**{**fields, **extra})


# (state, event) -> (who may, target); with the end date still to come.
TABLE = {
    ("draft", "ask"): ({"person"}, "asked"),
    ("asked", "agree"): ({"manager", "team_manager"}, "agreed"),
    ("asked", "decline"): ({"manager", "team_manager"}, "declined"),
    ("asked", "withdraw"): ({"person", "manager", "team_manager"}, "withdrawn"),
    ("agreed", "withdraw"): ({"person", "manager", "team_manager"}, "withdrawn"),
    # ("agreed", "expire") needs the end date passed: see below.
}


@pytest.mark.parametrize("who", list(ACTORS))
@pytest.mark.parametrize("event", list(EVENT_LABELS))
@pytest.mark.parametrize("state", list(STATE_LABELS))
def test_transition_table(state, event, who):
    model = row(state)
    allowed, target = TABLE.get((state, event), (set(), None))
    machine = remote_working_machine(model)
    if who in allowed:
        machine.send(event, actor=ACTORS[who], now=NOW, **GOOD_INPUT[event])
        assert model.state == target
    else:
        with pytest.raises(TransitionNotAllowed):
            machine.send(event, actor=ACTORS[who], now=NOW, **GOOD_INPUT[event])
        assert model.state == state


def _enabled(model, actor, now=NOW):
    return {e.id for e in remote_working_machine(model).enabled_events(actor=actor, now=now)}


def test_only_the_schedule_expires_an_agreement_and_only_after_its_last_day():
    model = row("agreed", ends_on=TODAY)
    for actor in ACTORS.values():
        assert "expire" not in _enabled(model, actor)  # the last day is not over
    tomorrow = NOW + dt.timedelta(days=1)
    assert "expire" in _enabled(model, SCHEDULE, tomorrow)
    for name, actor in ACTORS.items():
        if name != "schedule":
            assert "expire" not in _enabled(model, actor, tomorrow)
    remote_working_machine(model).send("expire", actor=SCHEDULE, now=tomorrow)
    assert (model.state, model.closed_at) == ("expired", tomorrow)


def test_an_agreement_past_its_end_shows_as_expired_and_offers_nothing():
    model = row("agreed", ends_on=TODAY - dt.timedelta(days=1))
    assert shown_state(model, NOW) == "expired"
    assert shown_state(row("agreed"), NOW) == "agreed"
    for name in ("person", "manager"):
        assert _enabled(model, ACTORS[name]) == set()


def test_asking_needs_where_why_and_an_end_within_a_year():
    machine = remote_working_machine(row("draft", ends_on=None))
    with pytest.raises(InputError) as refused:
        machine.send("ask", actor=PERSON, now=NOW, where=" ", why="", ends_on=None)
    assert refused.value.errors == {
        "where": "Enter where you will work from",
        "why": "Enter why you need to work there",
        "ends_on": "Enter the date the agreement ends",
    }
    for ends_on, message in (
        (TODAY - dt.timedelta(days=1), "The end date must be today or in the future"),
        (TODAY + dt.timedelta(days=400), "The end date must be within a year"),
    ):
        with pytest.raises(InputError) as refused:
            machine.send("ask", actor=PERSON, now=NOW, where="Home", why="x", ends_on=ends_on)
        assert refused.value.errors == {"ends_on": message}
    machine.send("ask", actor=PERSON, now=NOW, where="  Home \n", why="Reports", ends_on=TODAY)
    model = machine.model
    assert (model.state, model.place, model.ends_on, model.asked_at) == (
        "asked",
        "Home",
        TODAY,
        NOW,
    )


def test_a_decline_needs_a_reason_and_an_agreement_records_who():
    model = row("asked")
    with pytest.raises(InputError) as refused:
        remote_working_machine(model).send("decline", actor=MANAGER, now=NOW, reason="")
    assert refused.value.errors == {"reason": "Enter why you are declining"}
    remote_working_machine(model).send("agree", actor=TEAM_MANAGER, now=NOW)
    assert (model.state, model.decided_by_id, model.decided_at) == ("agreed", TEAM_MANAGER.id, NOW)


def test_an_ask_whose_end_date_has_passed_cannot_be_agreed():
    model = row("asked", ends_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(InputError) as refused:
        remote_working_machine(model).send("agree", actor=MANAGER, now=NOW)
    assert "has passed" in refused.value.errors["note"]


def test_a_line_managers_own_ask_goes_to_her_director():
    model = row("asked", requester_manager_id=DIRECTOR.id)
    model.for_user_id = model.requested_by_id = MANAGER.id
    director = Actor(DIRECTOR.id, DIRECTOR.roles, 9)
    assert "agree" in _enabled(model, director)
    assert "agree" not in _enabled(model, MANAGER)
    assert "agree" in _enabled(model, TEAM_MANAGER)


def test_every_state_and_event_has_a_label():
    assert {s.id for s in RemoteWorkingMachine.states} == set(STATE_LABELS)
    assert {e.id for e in RemoteWorkingMachine.events} == set(EVENT_LABELS)
