"""The ICO's follow-through and the actions that prevent the next breach: who may move an
item or an action where, and what each step demands. No Flask, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines.breach_action import Person, breach_action_machine
from machines.common import Actor, InputError, enabled_events
from machines.ico_follow_up import (
    IcoItemMachine,
    ico_item_machine,
    ico_reference_error,
    normalise_ico_reference,
)

NOW = dt.datetime(2026, 3, 10, 10, 30)
TODAY = NOW.date()
OWNER = 20


def _actor(actor_id: int, *roles: str) -> Actor:
    return Actor(id=actor_id, roles=frozenset(roles), team_id=None)


ACTORS = {
    "records_manager": _actor(8, "records_manager"),
    "dpo": _actor(11, "dpo"),
    "assistant_director": _actor(6, "assistant_director"),
    "director": _actor(5, "director"),
    "caldicott": _actor(7, "caldicott_guardian"),
    "practitioner": _actor(1, "practitioner"),
    "owner": _actor(OWNER, "practitioner"),
}


@dataclass
class FakeCase:
    state: str = "decided"
    ico_referred: bool = True
    ico_referred_at: dt.datetime | None = NOW - dt.timedelta(days=5)
    closed_at: dt.datetime | None = None
    ico_outcome: str | None = None


@dataclass
class FakeRow:
    state: str = "draft"
    breach: FakeCase = field(default_factory=FakeCase)
    owner_id: int | None = None
    due_on: dt.date | None = None
    recorded_at: dt.datetime | None = None


def send(machine: Any, event: str, actor: str, **kwargs: Any) -> None:
    machine.send(event, actor=ACTORS[actor], now=NOW, **kwargs)


QUESTION = {
    "kind": "question",
    "asked": "How many of the people affected are children?",
    "received_on": TODAY - dt.timedelta(days=1),
    "due_on": TODAY + dt.timedelta(days=14),
}


# -- the ICO case reference -----------------------------------------------------------------


@pytest.mark.parametrize("reference", ["IC-123456-A1B2", "ic-12345678-zz99", "RFA0123456"])
def test_the_icos_reference_formats_are_accepted(reference: str) -> None:
    assert ico_reference_error(f"  {reference} ", 40) is None
    assert normalise_ico_reference(reference) == reference.upper()


@pytest.mark.parametrize(
    ("reference", "error"),
    [
        ("", "Enter the ICO case reference"),
        ("IC-1234-A1B2", "correct format"),
        ("IC-123456-A1B2 and more", "correct format"),
        ("I" * 41, "40 characters or fewer"),
    ],
)
def test_a_wrong_ico_reference_is_named(reference: str, error: str) -> None:
    assert error in ico_reference_error(reference, 40)


# -- an item the ICO is owed ----------------------------------------------------------------


@pytest.mark.parametrize("actor", ["records_manager", "dpo"])
def test_whoever_handles_the_ico_records_answers_and_closes_an_item(actor: str) -> None:
    row = FakeRow()
    machine = ico_item_machine(row)
    send(machine, "record", actor, **QUESTION)
    assert row.state == "open" and row.due_on == QUESTION["due_on"]
    row.recorded_at = NOW
    send(machine, "change_due", actor, due_on=TODAY + dt.timedelta(days=28), reason="Agreed")
    assert row.due_on == TODAY + dt.timedelta(days=28) and row.state == "open"
    send(machine, "answer", actor, answer="Two of three are children", answered_on=TODAY)
    assert row.state == "answered" and machine.is_terminated


@pytest.mark.parametrize("actor", ["assistant_director", "director", "caldicott", "practitioner"])
def test_no_one_else_follows_up_with_the_ico(actor: str) -> None:
    row = FakeRow()
    assert enabled_events(IcoItemMachine, row, ACTORS[actor], NOW) == []
    with pytest.raises(TransitionNotAllowed):
        send(ico_item_machine(row), "record", actor, **QUESTION)


@pytest.mark.parametrize(
    "case",
    [
        FakeCase(ico_referred=False, ico_referred_at=None),
        FakeCase(state="closed", closed_at=NOW),
        FakeCase(ico_outcome="advice"),
    ],
)
def test_nothing_is_owed_on_a_case_not_referred_closed_or_after_its_outcome(case: FakeCase) -> None:
    row = FakeRow(breach=case)
    assert enabled_events(IcoItemMachine, row, ACTORS["records_manager"], NOW) == []


def test_an_item_needs_its_facts_every_error_at_once() -> None:
    machine = ico_item_machine(FakeRow())
    with pytest.raises(InputError) as refused:
        send(
            machine,
            "record",
            "dpo",
            kind="question",
            asked="",
            received_on=TODAY + dt.timedelta(days=1),
            due_on=TODAY - dt.timedelta(days=30),
        )
    assert set(refused.value.errors) == {"asked", "received_on", "due_on"}


def test_the_follow_up_report_names_what_was_not_yet_known() -> None:
    row = FakeRow()
    with pytest.raises(InputError) as refused:
        send(
            ico_item_machine(row), "record", "dpo", kind="follow_up_report", asked="", due_on=TODAY
        )
    assert refused.value.errors["asked"] == "Enter what was not yet known at 72 hours"
    assert row.state == "draft"


def test_an_answer_cannot_come_before_the_item_was_recorded() -> None:
    row = FakeRow(state="open", due_on=TODAY, recorded_at=NOW)
    with pytest.raises(InputError) as refused:
        send(
            ico_item_machine(row),
            "answer",
            "dpo",
            answer="Sent",
            answered_on=TODAY - dt.timedelta(days=1),
        )
    assert "answered_on" in refused.value.errors


# -- an action that prevents the next breach ------------------------------------------------


ACTION = {
    "category": "equipment",
    "description": "Lockable bags for the team",
    "owner": Person(OWNER, "Olu Owner"),
    "due_on": TODAY + dt.timedelta(days=30),
}


def added(**case: Any) -> tuple[FakeRow, Any]:
    row = FakeRow(breach=FakeCase(**case))
    machine = breach_action_machine(row)
    send(machine, "add", "assistant_director", **ACTION)
    return row, machine


@pytest.mark.parametrize("actor", ["assistant_director", "records_manager"])
def test_the_decision_makers_add_actions(actor: str) -> None:
    row = FakeRow()
    send(breach_action_machine(row), "add", actor, **ACTION)
    assert (row.state, row.owner_id, row.due_on) == ("open", OWNER, ACTION["due_on"])


@pytest.mark.parametrize("state", ["reported", "service_user_informed", "closed"])
def test_actions_are_added_only_while_the_case_is_decided(state: str) -> None:
    closed = NOW if state == "closed" else None
    row = FakeRow(breach=FakeCase(state=state, closed_at=closed))
    with pytest.raises(TransitionNotAllowed):
        send(breach_action_machine(row), "add", "assistant_director", **ACTION)


@pytest.mark.parametrize("actor", ["practitioner", "dpo", "caldicott", "director"])
def test_no_one_else_adds_an_action(actor: str) -> None:
    with pytest.raises(TransitionNotAllowed):
        send(breach_action_machine(FakeRow()), "add", actor, **ACTION)


def test_the_owner_records_it_done_with_evidence() -> None:
    row, machine = added()
    row.owner_id = OWNER
    with pytest.raises(InputError):
        send(machine, "complete", "owner", evidence="  ")
    send(machine, "complete", "owner", evidence="Twelve bags issued, order 4471")
    assert row.state == "done" and row.evidence == "Twelve bags issued, order 4471"


def test_only_the_assistant_director_accepts_an_action_as_not_needed() -> None:
    row, machine = added()
    row.owner_id = OWNER
    for actor in ("owner", "records_manager", "director"):
        assert "accept_not_needed" not in enabled_events(type(machine), row, ACTORS[actor], NOW)
    with pytest.raises(InputError) as refused:
        send(machine, "accept_not_needed", "assistant_director", reason="")
    assert refused.value.errors == {"reason": "Enter why the action is not needed"}
    send(machine, "accept_not_needed", "assistant_director", reason="Bags already replaced")
    assert row.state == "not_needed"


def test_someone_who_is_not_the_owner_cannot_record_it_done() -> None:
    row, machine = added()
    row.owner_id = OWNER
    assert enabled_events(type(machine), row, ACTORS["practitioner"], NOW) == []


def test_an_action_needs_an_owner_a_date_ahead_and_a_description_within_its_limit() -> None:
    machine = breach_action_machine(FakeRow())
    with pytest.raises(InputError) as refused:
        send(
            machine,
            "add",
            "records_manager",
            category="wishful",
            description="x" * 501,
            owner=None,
            due_on=TODAY - dt.timedelta(days=1),
        )
    assert set(refused.value.errors) == {"category", "description", "owner", "due_on"}


def test_reassigning_needs_a_change() -> None:
    row, machine = added()
    row.owner_id = OWNER
    with pytest.raises(InputError):
        send(machine, "reassign", "records_manager", owner=ACTION["owner"], due_on=row.due_on)
    send(machine, "reassign", "records_manager", owner=Person(21, "New"), due_on=row.due_on)
    assert row.owner_id == 21 and row.state == "open"


def test_nothing_moves_on_an_action_once_the_case_is_closed() -> None:
    row, machine = added()
    row.owner_id = OWNER
    row.breach.closed_at = NOW
    for actor in ACTORS:
        assert enabled_events(type(machine), row, ACTORS[actor], NOW) == []
