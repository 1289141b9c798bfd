"""Which states the home page's "Waiting for you" reads from the database, per person.

Breach.states_to_act_in asks the machine about probe cases; the SQL prefilter is only safe
while it finds every state where the machine would enable an event on some real case. This
checks that against every combination of the facts the guards read. No database: the cases
are unsaved rows.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from machines.breach import BreachMachine
from machines.breach_report import CATEGORIES
from machines.breach_rules import waiting_events
from machines.common import Actor, enabled_events
from machines.permissions import Can, roles_that
from models.breaches import Breach

ME, OTHER = 7, 8
OPEN_STATES = [s.id for s in BreachMachine.states if not s.final]
RELATIONS = {
    "reporter": {"reported_by": ME, "reporter_manager": OTHER},
    "manager": {"reported_by": OTHER, "reporter_manager": ME},
    "any": {"reported_by": OTHER, "reporter_manager": None},
}
PEOPLE = [(), ("practitioner",), ("line_manager",)] + [
    (role,) for role in sorted(roles_that(Can.HANDLE_EVERY_BREACH))
]


def cases(state: str, people: dict):
    for category, left, reference, told, reportable, met, agreed in itertools.product(
        [key for key, _ in CATEGORIES],
        (True, False),
        (None, "CR/1"),
        (False, True),
        (None, True),
        (None, dt.date(2026, 1, 1)),
        (None, dt.datetime(2026, 1, 1)),
    ):
        yield Breach(
            state=state,
            category=category,
            data_left_control=left,
            police_reference=reference,
            line_manager_told=told,
            reportable=reportable,
            informed_in_person_on=met,
            caldicott_agreed_at=agreed,
            **people,
        )


@pytest.mark.parametrize("roles", PEOPLE, ids=lambda r: "+".join(r) or "none")
def test_every_state_with_an_event_for_some_case_is_read(roles):
    actor = Actor(id=ME, roles=frozenset(roles), team_id=1)
    found = Breach.states_to_act_in(actor)
    for relation, people in RELATIONS.items():
        for state in OPEN_STATES:
            # What the home page lists: the events a case waits for from this person.
            waiting = any(
                waiting_events(
                    enabled_events(BreachMachine, case, actor, dt.datetime(2026, 1, 1)),
                    case,
                    actor,
                )
                for case in cases(state, people)
            )
            if waiting:
                assert state in found[relation], (roles, relation, state)


def test_the_states_follow_the_guards():
    def states(*roles):
        found = Breach.states_to_act_in(Actor(id=ME, roles=frozenset(roles)))
        return {relation: sorted(found[relation]) for relation in found}

    # The breach chain: the ICO referral is waiting from the assessment (a reportable case)
    # until the decision; the Caldicott Guardian's agreement and the decision after telling.
    early = ["notified", "reported", "risk_assessed", "service_user_informed"]
    assert states("assistant_director")["any"] == early
    assert states("caldicott_guardian")["any"] == early
    assert states("records_manager")["any"] == ["decided", *early]
    assert states("director")["any"] == early
    # Outside the chain nothing is theirs by role; a reporter never assesses their own case.
    # A loss or theft waits for its crime reference from the reporter and their manager at
    # any stage until closed.
    every = ["decided", *early]
    assert states("practitioner") == {"reporter": every, "manager": every, "any": []}
