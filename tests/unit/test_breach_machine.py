"""The breach machine: who may move a case where, and what each step demands.

No Flask, no database: the row is a dataclass that records calls to its notifications seam.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines.breach import EVENT_LABELS, STATE_LABELS, BreachMachine, breach_machine
from machines.breach_clocks import (
    case_clock,
    clock_status,
    ico_deadline,
    police_flag,
    police_reminder_due,
    working_day_after,
)
from machines.breach_report import (
    CATEGORIES,
    DATA_CATEGORIES,
    emailed_roles,
    required_recipients,
    validate_report,
)
from machines.breach_rules import NO_ONE, StaffMember, may_read_case, next_steps
from machines.common import Actor, InputError
from machines.risk import load_grid

NOW = dt.datetime(2025, 3, 4, 10, 30)
DISCOVERED = dt.datetime(2025, 3, 3, 9, 0)
TOLD = DISCOVERED + dt.timedelta(hours=1)
GRID = load_grid()

REPORTER, MANAGER = 1, 2


def _actor(actor_id: int, *roles: str, team_id: int | None = None, **kw: Any) -> Actor:
    return Actor(id=actor_id, roles=frozenset(roles), team_id=team_id, **kw)


ACTORS = {
    "reporter": _actor(REPORTER, "practitioner", team_id=10, line_manager_id=MANAGER),
    "manager": _actor(MANAGER, "line_manager", team_id=10),
    "colleague": _actor(3, "practitioner", team_id=10, line_manager_id=MANAGER),
    "other_manager": _actor(4, "line_manager", team_id=11),
    "director": _actor(5, "director"),
    "assistant_director": _actor(6, "assistant_director"),
    "caldicott": _actor(7, "caldicott_guardian"),
    "records_manager": _actor(8, "records_manager"),
    "business_improvement": _actor(9, "business_improvement"),
    "governance": _actor(10, "governance"),
    "dpo": _actor(11, "dpo"),
    "admin": _actor(12, "admin"),
}

CHAIN = {
    "director",
    "assistant_director",
    "caldicott",
    "records_manager",
    "business_improvement",
    "governance",
    "dpo",
}
HANDLERS = CHAIN | {"reporter", "manager"}  # the case's own people and the breach chain
REVIEWERS = CHAIN | {"manager"}  # judgements the reporter does not make alone

STATES = ["reported", "notified", "risk_assessed", "service_user_informed", "decided", "closed"]
EVENTS = [
    "record_police",
    "update_report",
    "refer_to_ico",
    "write_ico_summary",
    "notify",
    "assess_risk",
    "record_meeting",
    "inform_service_user",
    "record_exemption",
    "skip_informing",
    "caldicott_agree",
    "decide",
    "record_ico_outcome",
    "close",
]

# (state, event) -> (target, who may), for a wrong-recipient breach. Every pair not listed is
# refused for everyone. In-state transitions keep the case where it is (record_police is for
# a loss or theft only).
ALLOWED: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("reported", "update_report"): ("reported", HANDLERS),
    ("notified", "update_report"): ("notified", HANDLERS),
    **{(state, "refer_to_ico"): (state, CHAIN) for state in STATES[:4]},
    **{(state, "write_ico_summary"): (state, {"records_manager"}) for state in STATES[:5]},
    ("reported", "notify"): ("notified", HANDLERS),
    ("notified", "assess_risk"): ("risk_assessed", REVIEWERS),
    ("risk_assessed", "record_meeting"): ("risk_assessed", HANDLERS),
    ("risk_assessed", "inform_service_user"): ("service_user_informed", HANDLERS),
    ("risk_assessed", "record_exemption"): ("service_user_informed", {"caldicott"}),
    ("service_user_informed", "caldicott_agree"): ("service_user_informed", {"caldicott"}),
    ("service_user_informed", "decide"): ("decided", {"assistant_director"}),
    **{(state, "record_ico_outcome"): (state, {"records_manager", "dpo"}) for state in STATES[:5]},
    ("decided", "close"): ("closed", {"records_manager"}),
}
# Facts a step waits for: the letter for the meeting, the decision for the agreement.
NEEDS = {
    "inform_service_user": {"informed_in_person_on": dt.date(2025, 3, 3)},
    "decide": {"caldicott_agreed_at": NOW - dt.timedelta(hours=1)},
    "record_ico_outcome": {"ico_referred": True, "ico_referred_at": TOLD},
}


def told(category: str = "wrong_recipient", at: dt.datetime = TOLD) -> dict[str, dict]:
    return {
        key: {"who": f"{label} on duty", "at": at} for key, label in required_recipients(category)
    }


GOOD_KWARGS: dict[str, dict[str, Any]] = {
    "record_police": {
        "police_reference": "CR/123/25",
        "police_told_at": DISCOVERED,
        "police_officer": "PC 1234, Walworth",
        "line_manager_told": True,
    },
    "update_report": {
        "category": "wrong_recipient",
        "what_happened": "Email with an assessment sent to the wrong school",
        "happened_at": DISCOVERED - dt.timedelta(hours=1),
        "discovered_at": DISCOVERED,
        "data_left_control": True,
        "data_categories": ["basic_identifiers", "health"],
        "people_affected": 2,
        "records_affected": 1,
        "children_or_vulnerable": "yes",
        "special_category": "no",
    },
    "refer_to_ico": {
        "ico_referred_at": DISCOVERED + dt.timedelta(hours=20),
        "ico_reference": "IC-123456-A1B2",
        "ico_told_by": "D. Protection",
    },
    "write_ico_summary": {
        "ico_summary": "Assessment e-mailed to the wrong school; recipient deleted it",
        "ico_late_reason": "",
        "containment_actions": ["recipient_asked_to_delete"],
        "no_personal_data": "yes",
    },
    "notify": {
        "notifications": told(),
        "media_advised": False,
        "media_reason": "No risk to the council's reputation",
    },
    "assess_risk": {
        "likelihood": 3,
        "severity": 3,
        "likely_outcomes": "Distress; the recipient may know the family",
        "actions_taken": "Recipient asked to delete the email and confirmed it",
        "reportable_override": None,
        "reportable_reason": "The school opened it",
        "grid": GRID,
    },
    "record_meeting": {"informed_in_person_on": dt.date(2025, 3, 3)},
    "inform_service_user": {"informed_in_writing_on": dt.date(2025, 3, 4)},
    "record_exemption": {
        "exemption_reason": "Telling the parent would put the child at risk",
        "approved_by_caldicott": True,
    },
    "skip_informing": {"skip_reason": "The email was recalled before it was opened"},
    "caldicott_agree": {"caldicott_advice": "No investigation", "agreed": True},
    "decide": {
        "legal_advice": False,
        "disciplinary": False,
        "not_referred_reason": "Recalled before it was read",
        "staff_member": NO_ONE,
        "refer_to_regulator": False,
    },
    "record_ico_outcome": {
        "ico_outcome": "advice",
        "ico_outcome_on": dt.date(2025, 3, 4),
        "ico_outcome_note": "Check addresses before sending",
    },
    "close": {"report_complete": True, "lessons_learned": "Check the address book entry"},
}


@dataclass
class FakeBreach:
    state: str = "reported"
    id: int = 7
    category: str = "wrong_recipient"
    reported_by_id: int = REPORTER
    reporter_manager_id: int | None = MANAGER
    discovered_at: dt.datetime = DISCOVERED
    happened_at: dt.datetime = DISCOVERED - dt.timedelta(hours=1)
    children_or_vulnerable: bool | None = False
    data_left_control: bool = True
    police_reference: str | None = None
    no_police_reference_reason: str | None = None
    police_recorded_at: dt.datetime | None = None
    line_manager_told: bool = False
    reportable: bool | None = True
    ico_referred: bool | None = None
    informed_in_person_on: dt.date | None = None
    caldicott_agreed_at: dt.datetime | None = None
    # The line manager of the person whose papers they were (models.breaches).
    holder_manager_id: int | None = None
    ico_referred_at: dt.datetime | None = None
    ico_outcome: str | None = None
    open_actions: int = 0  # actions to prevent the next breach, neither done nor not needed
    open_ico_items: int = 0  # questions and follow-up reports the ICO is still owed
    told: set[str] = field(default_factory=set)  # already on the notification list
    recorded: list[dict] = field(default_factory=list)

    def open_action_count(self) -> int:
        return self.open_actions

    def open_ico_item_count(self) -> int:
        return self.open_ico_items

    def record_notifications(self, notifications: dict, actor: Actor, now: dt.datetime) -> None:
        self.recorded.append({"notifications": notifications, "actor": actor, "now": now})

    def told_recipients(self) -> set[str]:
        return set(self.told)


def build(state: str = "reported", **attrs: Any) -> tuple[FakeBreach, BreachMachine]:
    row = FakeBreach(state=state, **attrs)
    return row, breach_machine(row)


def fire(machine: BreachMachine, event: str, actor: str, **kwargs: Any) -> None:
    machine.send(event, actor=ACTORS[actor], now=NOW, **kwargs)


def shown(machine: BreachMachine, actor: str) -> set[str]:
    return {e.id for e in machine.enabled_events(actor=ACTORS[actor], now=NOW)}


def refused_fields(machine: BreachMachine, event: str, actor: str, **kwargs: Any) -> dict:
    with pytest.raises(InputError) as refused:
        fire(machine, event, actor, **kwargs)
    return refused.value.errors


# -- the transition table ------------------------------------------------------------------


def _outcome(state: str, event: str, actor: str) -> str:
    """What happens when `actor` sends `event` in `state`: the state reached, or "refused"."""
    row, machine = build(state, **NEEDS.get(event, {}))
    if actor in ALLOWED.get((state, event), (None, set()))[1]:
        try:
            fire(machine, event, actor, **GOOD_KWARGS[event])
        except Exception as error:  # noqa: BLE001 - reported as this cell's answer
            return f"raised {error!r}"
        if machine.configuration_values != {row.state}:
            return f"{row.state}, but the machine is in {machine.configuration_values}"
        return row.state
    # Refused before any form is looked at: no InputError even with nothing filled in.
    try:
        fire(machine, event, actor)
    except TransitionNotAllowed:
        if row.state != state or row.recorded:
            return f"refused, but moved to {row.state} or recorded {row.recorded}"
        return "refused"
    except Exception as error:  # noqa: BLE001
        return f"raised {error!r}"
    return f"sent, reaching {row.state}"


# The whole state x event x actor table, one test per state: every cell is still tried,
# and a failure lists every wrong cell of that state at once.
@pytest.mark.parametrize("state", STATES)
def test_transition_table(state: str) -> None:
    wrong = []
    for event in EVENTS:
        target, who = ALLOWED.get((state, event), (None, set()))
        for actor in ACTORS:
            expected = target if actor in who else "refused"
            answer = _outcome(state, event, actor)
            if answer != expected:
                wrong.append(f"{state} --{event}--> by {actor}: {answer}, expected {expected}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("actor", list(ACTORS))
def test_enabled_events_are_the_buttons(state: str, actor: str) -> None:
    _, machine = build(state)
    expected = {
        event
        for (s, event), (_, who) in ALLOWED.items()
        if s == state and actor in who and event not in NEEDS
    }
    assert shown(machine, actor) == expected


def test_no_buttons_without_an_actor() -> None:
    for state in STATES:
        _, machine = build(state)
        assert machine.enabled_events(now=NOW) == []


def test_a_whole_case_from_report_to_closed() -> None:
    row, machine = build()
    path = [
        ("notify", "reporter"),
        ("assess_risk", "manager"),
        ("refer_to_ico", "dpo"),
        ("record_meeting", "reporter"),
        ("inform_service_user", "manager"),
        ("caldicott_agree", "caldicott"),
        ("decide", "assistant_director"),
        ("record_ico_outcome", "records_manager"),
        ("close", "records_manager"),
    ]
    for event, actor in path:
        fire(machine, event, actor, **GOOD_KWARGS[event])
    assert row.state == "closed"
    assert machine.is_terminated


def test_a_reporter_without_a_line_manager_on_record() -> None:
    row, machine = build(reporter_manager_id=None)
    assert shown(machine, "manager") == set()
    fire(machine, "notify", "reporter", **GOOD_KWARGS["notify"])
    assert row.state == "notified"


def test_the_reporter_does_not_assess_their_own_breach() -> None:
    _, machine = build("notified")
    assert "assess_risk" not in shown(machine, "reporter")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "assess_risk", "reporter", **GOOD_KWARGS["assess_risk"])


# -- notify --------------------------------------------------------------------------------


def test_notify_records_every_recipient_and_the_media_decision() -> None:
    row, machine = build()
    notifications = told()
    notifications["director"]["who"] = "  D. Director  "
    notifications["stranger"] = {"who": "Not on the list", "at": TOLD}
    fire(
        machine,
        "notify",
        "manager",
        notifications=notifications,
        media_advised=True,
        media_reason=" Local paper has asked ",
    )
    assert row.state == "notified"
    assert (row.notified_at, row.media_advised, row.media_reason) == (
        NOW,
        True,
        "Local paper has asked",
    )
    [call] = row.recorded
    assert call["actor"] == ACTORS["manager"] and call["now"] == NOW
    assert list(call["notifications"]) == [key for key, _ in required_recipients("wrong_recipient")]
    assert call["notifications"]["director"] == {"who": "D. Director", "at": TOLD}


def test_notify_with_nothing_filled_in_lists_every_error() -> None:
    row, machine = build()
    errors = refused_fields(machine, "notify", "reporter")
    keys = [key for key, _ in required_recipients("wrong_recipient")]
    assert set(errors) == (
        {f"{k}_who" for k in keys} | {f"{k}_at" for k in keys} | {"media_advised", "media_reason"}
    )
    assert errors["director_who"] == "Enter the name of the Director who was told"
    assert errors["director_at"] == "Enter when the Director was told"
    assert (
        errors["governance_who"]
        == "Enter the name of the person in the Governance Team who was told"
    )
    assert errors["media_advised"] == "Select yes if the media office was advised"
    assert errors["media_reason"] == "Enter why the media office was or was not advised"
    assert (row.state, row.recorded) == ("reported", [])


def test_each_missing_recipient_gives_its_own_error() -> None:
    _, machine = build()
    notifications = told()
    del notifications["dpo"]
    errors = refused_fields(
        machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "notifications": notifications}
    )
    assert errors == {
        "dpo_who": "Enter the name of the Data Protection Officer who was told",
        "dpo_at": "Enter when the Data Protection Officer was told",
    }


def test_the_media_office_is_considered_either_way() -> None:
    _, machine = build()
    errors = refused_fields(
        machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "media_advised": None}
    )
    assert set(errors) == {"media_advised"}
    errors = refused_fields(
        machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "media_reason": "  "}
    )
    assert set(errors) == {"media_reason"}


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (NOW + dt.timedelta(minutes=1), "When the Director was told must be in the past"),
        (
            DISCOVERED - dt.timedelta(minutes=1),
            "When the Director was told must be after the breach was discovered",
        ),
    ],
)
def test_a_notification_time_must_be_between_discovery_and_now(
    at: dt.datetime, message: str
) -> None:
    _, machine = build()
    notifications = told()
    notifications["director"]["at"] = at
    errors = refused_fields(
        machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "notifications": notifications}
    )
    assert errors == {"director_at": message}


@pytest.mark.parametrize("category", ["loss", "theft"])
def test_loss_or_theft_waits_for_the_police_details_and_the_line_manager(category: str) -> None:
    kwargs = {
        **GOOD_KWARGS["notify"],
        "notifications": told(category),
    }
    for attrs in (
        {},
        {"police_reference": "CR/1234/25"},  # line manager not told
        {"line_manager_told": True},  # no police reference, nor why not
        {"police_reference": "   ", "line_manager_told": True},
    ):
        row, machine = build(category=category, **attrs)
        assert "notify" not in shown(machine, "manager")
        with pytest.raises(TransitionNotAllowed):
            fire(machine, "notify", "manager", **kwargs)
        assert (row.state, row.recorded) == ("reported", [])

    for attrs in (
        {"police_reference": "CR/1234/25", "line_manager_told": True},
        {
            "no_police_reference_reason": "Police give none for lost property",
            "line_manager_told": True,
        },
    ):
        row, machine = build(category=category, **attrs)
        assert "notify" in shown(machine, "manager")
        fire(machine, "notify", "manager", **kwargs)
        assert row.state == "notified"


def test_theft_notifies_the_insurance_section_too() -> None:
    _, machine = build(category="theft", police_reference="CR/1", line_manager_told=True)
    errors = refused_fields(machine, "notify", "reporter", **GOOD_KWARGS["notify"])
    assert errors == {
        "insurance_who": "Enter the name of the person in the Insurance Section who was told",
        "insurance_at": "Enter when the Insurance Section was told",
    }


def test_other_categories_need_no_police_details() -> None:
    for category in ("wrong_recipient", "unauthorised_disclosure", "other", "near_miss"):
        _, machine = build(category=category)
        assert "notify" in shown(machine, "reporter")


def test_a_failing_notifications_seam_leaves_the_case_where_it_was() -> None:
    row, machine = build()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    row.record_notifications = fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        fire(machine, "notify", "reporter", **GOOD_KWARGS["notify"])
    assert row.state == "reported"
    assert not hasattr(row, "notified_at")


# -- assess_risk ---------------------------------------------------------------------------


def assess_kwargs(**changes: Any) -> dict[str, Any]:
    return {**GOOD_KWARGS["assess_risk"], **changes}


def test_assessment_stores_the_grids_answer() -> None:
    row, machine = build("notified")
    fire(machine, "assess_risk", "dpo", **assess_kwargs(likelihood=4, severity=4))
    assert (row.likelihood, row.severity, row.reportable, row.high_risk) == (4, 4, True, True)
    assert row.override_reason is None
    assert row.assessed_at == NOW
    assert row.likely_outcomes == "Distress; the recipient may know the family"
    assert row.actions_taken == "Recipient asked to delete the email and confirmed it"


def test_assessment_below_the_threshold_is_not_reportable() -> None:
    row, machine = build("notified")
    fire(machine, "assess_risk", "dpo", **assess_kwargs(likelihood=2, severity=5))
    assert (row.reportable, row.high_risk) == (False, False)


def test_assessment_uses_the_shipped_grid_when_none_is_passed() -> None:
    row, machine = build("notified")
    fire(machine, "assess_risk", "dpo", **assess_kwargs(grid=None, likelihood=3, severity=2))
    assert (row.reportable, row.high_risk) == (True, False)


def test_assessment_with_nothing_filled_in_lists_every_error() -> None:
    row, machine = build("notified")
    errors = refused_fields(machine, "assess_risk", "manager")
    assert errors == {
        "likelihood": "Select how likely it is that harm follows",
        "severity": "Select how severe the harm would be",
        "likely_outcomes": "Enter the likely outcomes for the service user",
        "actions_taken": "Enter the actions taken to minimise the impact",
        "reportable_reason": "Enter in one line why the breach is or is not reportable to the ICO",
    }
    assert row.state == "notified"


@pytest.mark.parametrize("reason", ["x" * 301, "first line\nsecond line"])
def test_the_rationale_is_one_line(reason: str) -> None:
    _, machine = build("notified")
    errors = refused_fields(
        machine, "assess_risk", "dpo", **assess_kwargs(reportable_reason=reason)
    )
    assert errors == {
        "reportable_reason": "Why it is or is not reportable must be one line of 300 "
        "characters or fewer"
    }


def test_the_rationale_is_kept_whatever_the_answer() -> None:
    row, machine = build("notified")
    fire(
        machine,
        "assess_risk",
        "dpo",
        **assess_kwargs(likelihood=1, severity=1, reportable_reason=" Recovered unopened "),
    )
    assert (row.reportable, row.reportable_reason, row.override_reason) == (
        False,
        "Recovered unopened",
        None,
    )


def test_unknown_children_or_vulnerable_adults_count_as_involved_for_the_floor() -> None:
    row, machine = build("notified", children_or_vulnerable=None)
    errors = refused_fields(machine, "assess_risk", "dpo", **assess_kwargs(severity=1))
    assert errors == {
        "severity": "Select a severity of 2 or more: it is not yet known whether children or "
        "vulnerable adults are involved"
    }
    fire(machine, "assess_risk", "dpo", **assess_kwargs(likelihood=3, severity=2))
    assert (row.severity, row.reportable) == (2, True)


@pytest.mark.parametrize("bad", [0, 6, "3", True])
def test_values_off_the_grid_are_refused(bad: Any) -> None:
    _, machine = build("notified")
    errors = refused_fields(machine, "assess_risk", "dpo", **assess_kwargs(likelihood=bad))
    assert set(errors) == {"likelihood"}


def test_children_or_vulnerable_adults_need_severity_two_at_least() -> None:
    row, machine = build("notified", children_or_vulnerable=True)
    errors = refused_fields(machine, "assess_risk", "dpo", **assess_kwargs(severity=1))
    assert errors == {
        "severity": "Select a severity of 2 or more: children or vulnerable adults are involved"
    }
    fire(machine, "assess_risk", "dpo", **assess_kwargs(likelihood=3, severity=2))
    assert (row.severity, row.reportable) == (2, True)


def test_severity_one_is_fine_without_children_or_vulnerable_adults() -> None:
    row, machine = build("notified")
    fire(machine, "assess_risk", "dpo", **assess_kwargs(likelihood=5, severity=1))
    assert (row.severity, row.reportable) == (1, False)


def test_overriding_the_grid_needs_a_reason() -> None:
    row, machine = build("notified")
    # 3 x 3 is reportable on the grid; saying it is not is an override.
    errors = refused_fields(
        machine,
        "assess_risk",
        "dpo",
        **assess_kwargs(reportable_override=False, reportable_reason=""),
    )
    assert errors == {"reportable_reason": "Enter why you are overriding the grid's result"}
    assert row.state == "notified"

    fire(
        machine,
        "assess_risk",
        "dpo",
        **assess_kwargs(reportable_override=False, reportable_reason=" Data was encrypted "),
    )
    assert (row.reportable, row.high_risk, row.override_reason) == (
        False,
        False,
        "Data was encrypted",
    )


def test_overriding_to_reportable_keeps_the_grids_high_risk_answer() -> None:
    row, machine = build("notified")
    fire(
        machine,
        "assess_risk",
        "dpo",
        **assess_kwargs(
            likelihood=2, severity=4, reportable_override=True, reportable_reason="Press interest"
        ),
    )
    assert (row.reportable, row.high_risk, row.override_reason) == (True, False, "Press interest")


def test_confirming_the_grids_answer_is_not_an_override() -> None:
    row, machine = build("notified")
    fire(
        machine,
        "assess_risk",
        "dpo",
        **assess_kwargs(reportable_override=True, reportable_reason="I agree"),
    )
    assert (row.reportable, row.override_reason, row.reportable_reason) == (True, None, "I agree")


def test_an_unknown_override_answer_is_refused() -> None:
    _, machine = build("notified")
    errors = refused_fields(
        machine, "assess_risk", "dpo", **assess_kwargs(reportable_override="maybe")
    )
    assert errors == {"reportable_override": "Select whether the breach is reportable to the ICO"}


# -- telling the service user, the exemption, the near-miss skip ---------------------------


MET = dt.date(2025, 3, 3)


def test_the_meeting_is_recorded_first_and_keeps_the_case_where_it_is() -> None:
    row, machine = build("risk_assessed")
    assert "inform_service_user" not in shown(machine, "reporter")  # the letter waits
    fire(machine, "record_meeting", "reporter", informed_in_person_on=MET)
    assert (row.state, row.informed_in_person_on) == ("risk_assessed", MET)
    assert not hasattr(row, "informed_at")
    assert "inform_service_user" in shown(machine, "reporter")


def test_the_letter_is_recorded_on_its_own_day_after_the_meeting() -> None:
    row, machine = build("risk_assessed", informed_in_person_on=MET)
    fire(machine, "inform_service_user", "reporter", informed_in_writing_on=dt.date(2025, 3, 4))
    assert (row.informed_in_person_on, row.informed_in_writing_on, row.informed_at) == (
        MET,
        dt.date(2025, 3, 4),
        NOW,
    )
    assert row.state == "service_user_informed"


def test_the_letter_cannot_come_before_the_meeting() -> None:
    row, machine = build("risk_assessed", informed_in_person_on=dt.date(2025, 3, 4))
    errors = refused_fields(machine, "inform_service_user", "reporter", informed_in_writing_on=MET)
    assert errors == {
        "informed_in_writing_on": (
            "The date of the letter must be the same as or after the date of the "
            "face-to-face meeting"
        )
    }
    assert row.state == "risk_assessed"


def test_no_letter_without_the_meeting() -> None:
    row, machine = build("risk_assessed")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "inform_service_user", "reporter", informed_in_writing_on=MET)
    assert row.state == "risk_assessed"


def test_meeting_and_letter_on_the_same_day_is_fine() -> None:
    row, machine = build("risk_assessed", informed_in_person_on=dt.date(2025, 3, 4))
    fire(machine, "inform_service_user", "reporter", informed_in_writing_on=dt.date(2025, 3, 4))
    assert row.state == "service_user_informed"


def test_each_date_missing_is_its_own_error() -> None:
    _, machine = build("risk_assessed", informed_in_person_on=MET)
    assert refused_fields(machine, "record_meeting", "manager") == {
        "informed_in_person_on": "Enter the date of the face-to-face meeting",
    }
    assert refused_fields(machine, "inform_service_user", "manager") == {
        "informed_in_writing_on": "Enter the date of the letter",
    }


def test_informing_dates_cannot_be_in_the_future_or_before_discovery() -> None:
    _, machine = build("risk_assessed", informed_in_person_on=MET)
    assert refused_fields(
        machine, "record_meeting", "manager", informed_in_person_on=dt.date(2025, 3, 2)
    ) == {
        "informed_in_person_on": (
            "The date of the face-to-face meeting must be on or after the day the breach was "
            "discovered"
        ),
    }
    assert refused_fields(
        machine, "record_meeting", "manager", informed_in_person_on=dt.date(2025, 3, 5)
    ) == {
        "informed_in_person_on": "The date of the face-to-face meeting must be today or in the past"
    }
    assert refused_fields(
        machine, "inform_service_user", "manager", informed_in_writing_on=dt.date(2025, 3, 5)
    ) == {"informed_in_writing_on": "The date of the letter must be today or in the past"}


def test_today_is_the_uk_day() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): a meeting "today" is 1 July.
    late = dt.datetime(2025, 6, 30, 23, 30)
    row, machine = build("risk_assessed", discovered_at=dt.datetime(2025, 6, 28, 9, 0))
    for event, date_field in (
        ("record_meeting", "informed_in_person_on"),
        ("inform_service_user", "informed_in_writing_on"),
    ):
        machine.send(event, actor=ACTORS["manager"], now=late, **{date_field: dt.date(2025, 7, 1)})
    assert row.state == "service_user_informed"


def test_exemption_needs_the_caldicott_guardians_approval_and_a_reason() -> None:
    row, machine = build("risk_assessed")
    assert refused_fields(machine, "record_exemption", "caldicott") == {
        "exemption_reason": "Enter why the service user should not be told",
        "approved_by_caldicott": "Confirm you approve this exemption as Caldicott Guardian",
    }
    errors = refused_fields(
        machine,
        "record_exemption",
        "caldicott",
        exemption_reason="Would put the child at risk",
        approved_by_caldicott="",
    )
    assert set(errors) == {"approved_by_caldicott"}
    assert row.state == "risk_assessed"

    fire(
        machine,
        "record_exemption",
        "caldicott",
        exemption_reason=" Would put the child at risk ",
        approved_by_caldicott="yes",
    )
    assert (row.state, row.exemption_reason, row.informed_at) == (
        "service_user_informed",
        "Would put the child at risk",
        NOW,
    )


@pytest.mark.parametrize("actor", sorted(set(ACTORS) - {"caldicott"}))
def test_nobody_else_approves_an_exemption(actor: str) -> None:
    row, machine = build("risk_assessed")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "record_exemption", actor, **GOOD_KWARGS["record_exemption"])
    assert row.state == "risk_assessed"


@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_near_miss_that_stayed_in_may_skip_informing(actor: str) -> None:
    row, machine = build("risk_assessed", category="near_miss", data_left_control=False)
    if actor in REVIEWERS:
        assert "skip_informing" in shown(machine, actor)
        fire(machine, "skip_informing", actor, skip_reason=" Recalled unopened ")
        assert (row.state, row.skip_reason, row.informed_at) == (
            "service_user_informed",
            "Recalled unopened",
            NOW,
        )
    else:
        assert "skip_informing" not in shown(machine, actor)
        with pytest.raises(TransitionNotAllowed):
            fire(machine, "skip_informing", actor, **GOOD_KWARGS["skip_informing"])


@pytest.mark.parametrize(
    "attrs",
    [
        {"category": "near_miss", "data_left_control": True},
        {"category": "wrong_recipient", "data_left_control": False},
        {"category": "loss", "data_left_control": False},
    ],
)
def test_no_skip_unless_a_near_miss_kept_the_data_in(attrs: dict) -> None:
    row, machine = build("risk_assessed", **attrs)
    assert "skip_informing" not in shown(machine, "records_manager")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "skip_informing", "records_manager", **GOOD_KWARGS["skip_informing"])
    assert row.state == "risk_assessed"


def test_skipping_needs_the_reason() -> None:
    _, machine = build("risk_assessed", category="near_miss", data_left_control=False)
    assert refused_fields(machine, "skip_informing", "manager", skip_reason=" ") == {
        "skip_reason": "Enter why there is no one to tell"
    }


def test_a_near_miss_may_still_tell_the_service_user() -> None:
    row, machine = build("risk_assessed", category="near_miss", data_left_control=False)
    assert {"record_meeting", "skip_informing"} <= shown(machine, "manager")
    fire(machine, "record_meeting", "manager", informed_in_person_on=MET)
    fire(machine, "inform_service_user", "manager", informed_in_writing_on=MET)
    assert row.state == "service_user_informed"


# -- the ICO referral ----------------------------------------------------------------------


def refer(**changes: Any) -> dict[str, Any]:
    return {**GOOD_KWARGS["refer_to_ico"], **changes}


@pytest.mark.parametrize("state", STATES[:4])
def test_the_ico_referral_is_recorded_where_the_case_is_and_stops_the_clock(state: str) -> None:
    row, machine = build(state)
    assert case_clock(row, DISCOVERED + dt.timedelta(hours=80)).overdue
    assert not case_clock(row, DISCOVERED + dt.timedelta(hours=80)).stopped
    fire(machine, "refer_to_ico", "dpo", **refer(ico_told_by=" D. Protection "))
    assert row.state == state
    assert (row.ico_referred, row.ico_referred_at, row.ico_reference, row.ico_told_by) == (
        True,
        DISCOVERED + dt.timedelta(hours=20),
        "IC-123456-A1B2",
        "D. Protection",
    )
    assert (row.ico_recorded_by_id, row.delay_reason) == (11, None)
    assert case_clock(row, DISCOVERED + dt.timedelta(hours=80)).stopped
    # Once: recorded, the referral is not offered again.
    assert "refer_to_ico" not in shown(machine, "dpo")


def test_a_near_miss_that_kept_the_data_in_has_nothing_to_refer() -> None:
    _, machine = build("risk_assessed", category="near_miss", data_left_control=False)
    assert "refer_to_ico" not in shown(machine, "dpo")
    _, machine = build("risk_assessed", category="near_miss", data_left_control=True)
    assert "refer_to_ico" in shown(machine, "dpo")


@pytest.mark.parametrize("state", ["decided", "closed"])
def test_no_referral_is_recorded_after_the_decision(state: str) -> None:
    _, machine = build(state)
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "refer_to_ico", "dpo", **refer())


def test_the_referral_is_the_next_step_once_the_assessment_says_reportable() -> None:
    for reportable, expected in ((True, ["refer_to_ico"]), (False, []), (None, [])):
        row = FakeBreach(state="risk_assessed", reportable=reportable)
        assert next_steps(["refer_to_ico"], row) == expected
    referred = FakeBreach(state="risk_assessed", reportable=True, ico_referred=True)
    assert next_steps(["refer_to_ico"], referred) == []


def test_a_referral_with_nothing_filled_in_lists_every_error() -> None:
    _, machine = build("risk_assessed")
    assert refused_fields(machine, "refer_to_ico", "dpo") == {
        "ico_referred_at": "Enter when the ICO was told",
        "ico_reference": "Enter the ICO case reference",
        "ico_told_by": "Enter the name of the person who told the ICO",
    }


@pytest.mark.parametrize(
    ("referred_at", "message"),
    [
        (NOW + dt.timedelta(minutes=1), "When the ICO was told must be in the past"),
        (
            DISCOVERED - dt.timedelta(minutes=1),
            "When the ICO was told must be after the breach was discovered",
        ),
    ],
)
def test_the_ico_referral_time_must_be_possible(referred_at: dt.datetime, message: str) -> None:
    _, machine = build("risk_assessed")
    errors = refused_fields(machine, "refer_to_ico", "dpo", **refer(ico_referred_at=referred_at))
    assert errors == {"ico_referred_at": message}


def test_a_referral_after_72_hours_needs_the_reason_for_delay() -> None:
    discovered = dt.datetime(2025, 2, 20, 9, 0)
    late = discovered + dt.timedelta(hours=72, minutes=1)
    row, machine = build("risk_assessed", discovered_at=discovered)
    errors = refused_fields(machine, "refer_to_ico", "dpo", **refer(ico_referred_at=late))
    assert errors == {
        "delay_reason": (
            "Enter why the ICO was told more than 72 hours after the breach was discovered"
        )
    }
    fire(
        machine,
        "refer_to_ico",
        "dpo",
        **refer(ico_referred_at=late, delay_reason=" Awaiting facts from the recipient "),
    )
    assert (row.ico_referred_at, row.delay_reason) == (late, "Awaiting facts from the recipient")


def test_a_referral_at_exactly_72_hours_is_in_time() -> None:
    discovered = dt.datetime(2025, 2, 20, 9, 0)
    row, machine = build("risk_assessed", discovered_at=discovered)
    fire(
        machine,
        "refer_to_ico",
        "dpo",
        **refer(ico_referred_at=discovered + dt.timedelta(hours=72), delay_reason="Not needed"),
    )
    assert row.ico_referred and row.delay_reason is None  # in time: no reason kept


# -- the Caldicott Guardian's agreement and the decision --------------------------------------


def decision(**changes: Any) -> dict[str, Any]:
    return {**GOOD_KWARGS["decide"], **changes}


AGREED = {"caldicott_agreed_at": NOW - dt.timedelta(hours=1)}
SOCIAL_WORKER = StaffMember(id=1, name="Pat Reyes", profession="social_worker")


def test_the_caldicott_guardian_records_their_own_agreement_once() -> None:
    row, machine = build("service_user_informed")
    assert refused_fields(machine, "caldicott_agree", "caldicott") == {
        "caldicott_advice": "Enter your advice to the Assistant Director",
        "agreed": "Confirm that, as Caldicott Guardian, you agree the decision may be recorded",
    }
    fire(machine, "caldicott_agree", "caldicott", caldicott_advice=" Refer ", agreed="yes")
    assert row.state == "service_user_informed"
    assert (row.caldicott_agreed_by_id, row.caldicott_agreed_at, row.caldicott_advice) == (
        7,
        NOW,
        "Refer",
    )
    assert "caldicott_agree" not in shown(machine, "caldicott")
    assert "decide" in shown(machine, "assistant_director")


def test_the_decision_waits_for_the_caldicott_guardian() -> None:
    row, machine = build("service_user_informed")
    assert "decide" not in shown(machine, "assistant_director")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "decide", "assistant_director", **decision())
    assert row.state == "service_user_informed"


@pytest.mark.parametrize("actor", sorted(set(ACTORS) - {"assistant_director"}))
def test_only_an_assistant_director_decides(actor: str) -> None:
    row, machine = build("service_user_informed", **AGREED)
    assert "decide" not in shown(machine, actor)
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "decide", actor, **GOOD_KWARGS["decide"])
    assert row.state == "service_user_informed"


def test_decision_records_everything() -> None:
    row, machine = build("service_user_informed", ico_referred=True, **AGREED)
    fire(
        machine,
        "decide",
        "assistant_director",
        **decision(
            legal_advice=True,
            disciplinary=True,
            staff_member=SOCIAL_WORKER,
            refer_to_regulator=True,
        ),
    )
    assert row.state == "decided"
    assert (row.decided_by_id, row.decided_at) == (6, NOW)
    assert (row.legal_advice, row.disciplinary) == (True, True)
    # Referred already: the decision refers to it, and asks nothing about it.
    assert row.ico_referred is True and not hasattr(row, "not_referred_reason")
    assert (row.staff_member_id, row.regulator) == (1, "social_work_england")


def test_decision_with_nothing_filled_in_lists_every_error() -> None:
    _, machine = build("service_user_informed", **AGREED)
    assert refused_fields(machine, "decide", "assistant_director") == {
        "disciplinary": "Select yes if there will be a disciplinary investigation",
        "not_referred_reason": (
            "Enter why the breach was not referred to the ICO: the risk assessment found it "
            "reportable"
        ),
        "staff_member": "Select whose conduct is in question, or 'No one'",
        "refer_to_regulator": (
            "Select yes if the member of staff will be referred to their regulator"
        ),
    }


def test_reportable_but_not_referred_keeps_the_reason() -> None:
    row, machine = build("service_user_informed", reportable=True, **AGREED)
    fire(
        machine,
        "decide",
        "assistant_director",
        **decision(not_referred_reason="Recovered unopened the same day"),
    )
    assert (row.ico_referred, row.not_referred_reason) == (False, "Recovered unopened the same day")


def test_not_reportable_and_not_referred_needs_no_reason() -> None:
    row, machine = build("service_user_informed", reportable=False, **AGREED)
    fire(machine, "decide", "assistant_director", **decision(not_referred_reason=""))
    assert (row.state, row.ico_referred, row.not_referred_reason) == ("decided", False, None)


@pytest.mark.parametrize(
    ("profession", "regulator"),
    [
        ("social_worker", "social_work_england"),
        ("occupational_therapist", "hcpc"),
        ("other_hcpc", "hcpc"),
    ],
)
def test_the_regulator_follows_the_staff_members_profession(
    profession: str, regulator: str
) -> None:
    row, machine = build("service_user_informed", **AGREED)
    staff = StaffMember(id=3, name="Sam Okoye", profession=profession)
    fire(
        machine,
        "decide",
        "assistant_director",
        **decision(staff_member=staff, refer_to_regulator=True),
    )
    assert (row.staff_member_id, row.regulator) == (3, regulator)


@pytest.mark.parametrize(
    ("staff", "message"),
    [
        (
            StaffMember(id=3, name="Sam Okoye", profession=None),
            "Sam Okoye's profession is not recorded: ask an administrator to record it, or "
            "select no referral",
        ),
        (
            StaffMember(id=3, name="Sam Okoye", profession="unregistered"),
            "Sam Okoye is not in a regulated profession: select no referral",
        ),
        (NO_ONE, "Select whose conduct is in question to refer them to a regulator"),
    ],
)
def test_no_referral_without_a_regulated_profession(staff: Any, message: str) -> None:
    row, machine = build("service_user_informed", **AGREED)
    errors = refused_fields(
        machine,
        "decide",
        "assistant_director",
        **decision(staff_member=staff, refer_to_regulator=True),
    )
    assert errors == {"refer_to_regulator": message}
    fire(machine, "decide", "assistant_director", **decision(staff_member=staff))
    assert row.regulator == "none"


# -- close ---------------------------------------------------------------------------------


def test_close_needs_the_report_complete_and_the_lessons() -> None:
    row, machine = build("decided")
    assert refused_fields(machine, "close", "records_manager") == {
        "report_complete": "Confirm your breach report is complete",
        "lessons_learned": "Enter the lessons learned",
    }
    errors = refused_fields(
        machine, "close", "records_manager", report_complete="", lessons_learned="Check twice"
    )
    assert set(errors) == {"report_complete"}
    assert row.state == "decided"

    fire(
        machine, "close", "records_manager", report_complete="yes", lessons_learned=" Check twice "
    )
    assert (row.state, row.closed_by_id, row.closed_at) == ("closed", 8, NOW)
    assert (row.report_complete, row.lessons_learned) == (True, "Check twice")


@pytest.mark.parametrize("actor", sorted(set(ACTORS) - {"records_manager"}))
def test_only_the_records_manager_closes(actor: str) -> None:
    row, machine = build("decided")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "close", actor, **GOOD_KWARGS["close"])
    assert row.state == "decided"


def test_free_text_is_kept_within_its_limit() -> None:
    _, machine = build("decided")
    errors = refused_fields(
        machine, "close", "records_manager", report_complete=True, lessons_learned="x" * 4001
    )
    assert errors == {"lessons_learned": "Lessons learned must be 4,000 characters or fewer"}


def test_the_machine_never_reads_the_clock() -> None:
    row, machine = build()
    with pytest.raises(TypeError):
        machine.send("notify", actor=ACTORS["reporter"], **GOOD_KWARGS["notify"])
    assert row.state == "reported"


# -- the factory, the labels and the diagram -----------------------------------------------


@pytest.mark.parametrize("stored", ["", "open", None, "REPORTED"])
def test_factory_refuses_an_unknown_stored_state(stored: Any) -> None:
    with pytest.raises(ValueError):
        breach_machine(FakeBreach(state=stored))


def test_factory_attaches_listeners() -> None:
    seen: list[tuple[str, str, str]] = []

    class Listener:
        def after_transition(self, event: str, source: Any, target: Any) -> None:
            seen.append((str(event), source.id, target.id))

    row = FakeBreach(state="decided")
    machine = breach_machine(row, listeners=[Listener()])
    fire(machine, "close", "records_manager", **GOOD_KWARGS["close"])
    assert seen == [("close", "decided", "closed")]


def test_labels_cover_every_state_and_event() -> None:
    assert set(STATE_LABELS) == {s.id for s in BreachMachine.states} == set(STATES)
    assert set(EVENT_LABELS) == {e.id for e in BreachMachine.events} == set(EVENTS)
    assert "send" not in EVENT_LABELS


def test_categories_include_those_other_machines_open() -> None:
    # models/records.py opens "loss"; models/dispatches.py opens "wrong_recipient".
    ids = [value for value, _ in CATEGORIES]
    assert ids == [
        "loss",
        "theft",
        "wrong_recipient",
        "unauthorised_disclosure",
        "other",
        "near_miss",
    ]
    assert dict(CATEGORIES)["wrong_recipient"] == "Sent to the wrong recipient"


def test_mermaid_diagram_renders() -> None:
    text = f"{BreachMachine:mermaid}"
    assert text.startswith("stateDiagram-v2")
    assert "reported --> notified" in text
    assert "decided --> closed" in text


# -- recipients, the ICO clock, the police flag --------------------------------------------


def test_recipients_are_the_procedures_list() -> None:
    assert required_recipients("wrong_recipient") == [
        ("director", "Director"),
        ("business_improvement", "Business Improvement Manager"),
        ("caldicott_guardian", "Caldicott Guardian"),
        ("records_manager", "Information and Records Manager"),
        ("governance", "Governance Team"),
        ("dpo", "Data Protection Officer"),
    ]
    for category in ("loss", "theft"):
        assert required_recipients(category)[-1] == ("insurance", "Insurance Section")
        assert len(required_recipients(category)) == 7
    for category in ("unauthorised_disclosure", "other", "near_miss"):
        assert "insurance" not in dict(required_recipients(category))
    # A near miss: the Governance Team and the Information and Records Manager (the procedure).
    assert required_recipients("near_miss") == [
        ("records_manager", "Information and Records Manager"),
        ("governance", "Governance Team"),
    ]
    # Media office: considered (yes/no and why), never a recipient.
    assert all("media" not in key for key, _ in required_recipients("theft"))


def test_the_breach_roles_are_emailed_and_outsiders_told_by_people() -> None:
    assert emailed_roles("theft") == [
        "director",
        "business_improvement",
        "caldicott_guardian",
        "records_manager",
        "governance",
        "dpo",
    ]
    assert emailed_roles("near_miss") == ["records_manager", "governance"]


def test_notify_asks_only_for_those_not_on_the_list_yet() -> None:
    row, machine = build(told={"director", "dpo"})
    notifications = told()
    del notifications["director"], notifications["dpo"]
    fire(machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "notifications": notifications})
    [call] = row.recorded
    assert set(call["notifications"]) == {
        "business_improvement",
        "caldicott_guardian",
        "records_manager",
        "governance",
    }


def test_a_near_miss_is_notified_with_the_governance_team_and_the_records_manager() -> None:
    row, machine = build(category="near_miss")
    errors = refused_fields(
        machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "notifications": {}}
    )
    assert set(errors) == {
        "records_manager_who",
        "records_manager_at",
        "governance_who",
        "governance_at",
    }
    fire(
        machine,
        "notify",
        "reporter",
        **{**GOOD_KWARGS["notify"], "notifications": told("near_miss")},
    )
    assert row.state == "notified"


def test_the_ico_deadline_runs_through_the_weekend() -> None:
    friday = dt.datetime(2025, 3, 7, 16, 0)
    assert ico_deadline(friday) == dt.datetime(2025, 3, 10, 16, 0)  # Monday, same time


def test_the_ico_deadline_counts_real_hours_across_the_clock_change() -> None:
    # Naive UTC: the clocks going forward on 30 March 2025 do not shorten the 72 hours.
    assert ico_deadline(dt.datetime(2025, 3, 29, 12, 0)) == dt.datetime(2025, 4, 1, 12, 0)


@pytest.mark.parametrize(
    ("after", "hours_left", "overdue"),
    [
        (dt.timedelta(0), 72.0, False),
        (dt.timedelta(hours=48), 24.0, False),
        (dt.timedelta(hours=71, minutes=59), 1 / 60, False),
        (dt.timedelta(hours=72), 0.0, False),
        (dt.timedelta(hours=72, minutes=1), -1 / 60, True),
        (dt.timedelta(hours=100), -28.0, True),
    ],
)
def test_clock_status_around_the_72_hour_boundary(
    after: dt.timedelta, hours_left: float, overdue: bool
) -> None:
    left, late = clock_status(DISCOVERED, DISCOVERED + after)
    assert left == pytest.approx(hours_left)
    assert late is overdue


@pytest.mark.parametrize("category", ["loss", "theft"])
def test_police_flag_goes_up_after_the_day_of_discovery(category: str) -> None:
    discovered = dt.datetime(2025, 3, 3, 9, 0)
    same_evening = dt.datetime(2025, 3, 3, 23, 59)
    next_morning = dt.datetime(2025, 3, 4, 0, 1)
    assert police_flag(category, None, discovered, same_evening) is False
    assert police_flag(category, None, discovered, next_morning) is True
    assert police_flag(category, "  ", discovered, next_morning) is True
    assert police_flag(category, "CR/1234/25", discovered, next_morning) is False


def test_a_reason_for_no_reference_does_not_take_the_flag_down() -> None:
    row = FakeBreach(category="theft", no_police_reference_reason="Police will call back")
    assert case_clock(row, DISCOVERED + dt.timedelta(days=2)).police_flag is True
    row.police_reference = "CR/1/25"
    assert case_clock(row, DISCOVERED + dt.timedelta(days=2)).police_flag is False


@pytest.mark.parametrize("state", STATES)
def test_police_flag_stays_up_at_every_stage_until_closed(state: str) -> None:
    later = DISCOVERED + dt.timedelta(days=5)
    assert police_flag("loss", None, DISCOVERED, later, state) is (state != "closed")


@pytest.mark.parametrize(
    "category", ["wrong_recipient", "unauthorised_disclosure", "other", "near_miss"]
)
def test_police_flag_is_only_for_loss_or_theft(category: str) -> None:
    assert police_flag(category, None, DISCOVERED, DISCOVERED + dt.timedelta(days=5)) is False


def test_police_flag_uses_the_uk_day() -> None:
    # 23:30 UTC on 1 July is 00:30 on 2 July in London; 22:00 UTC on 2 July is still 2 July.
    discovered = dt.datetime(2025, 7, 1, 23, 30)
    assert police_flag("theft", None, discovered, dt.datetime(2025, 7, 2, 22, 0)) is False
    assert police_flag("theft", None, discovered, dt.datetime(2025, 7, 2, 23, 0)) is True


@pytest.mark.parametrize(
    ("discovered", "reminded"),
    [
        # Monday 10:00 (GMT) -> Tuesday 10:00.
        (dt.datetime(2025, 3, 3, 10, 0), dt.datetime(2025, 3, 4, 10, 0)),
        # Friday 15:00 -> Monday 15:00: the weekend is not a working day.
        (dt.datetime(2025, 3, 7, 15, 0), dt.datetime(2025, 3, 10, 15, 0)),
        # Saturday -> Monday.
        (dt.datetime(2025, 3, 8, 11, 0), dt.datetime(2025, 3, 10, 11, 0)),
        # Friday 9:00 BST (8:00 UTC) -> Monday 9:00 BST.
        (dt.datetime(2025, 6, 6, 8, 0), dt.datetime(2025, 6, 9, 8, 0)),
    ],
)
def test_one_working_day_after_discovery(discovered: dt.datetime, reminded: dt.datetime) -> None:
    assert working_day_after(discovered) == reminded


def test_the_police_reminder_is_due_after_a_working_day_without_a_reference() -> None:
    friday = dt.datetime(2025, 3, 7, 15, 0)
    row = FakeBreach(category="loss", discovered_at=friday, state="notified")
    assert not police_reminder_due(row, dt.datetime(2025, 3, 9, 15, 0))  # Sunday
    assert police_reminder_due(row, dt.datetime(2025, 3, 10, 15, 0))  # Monday
    row.police_reference = "CR/1/25"
    assert not police_reminder_due(row, dt.datetime(2025, 3, 10, 15, 0))
    for attrs in ({"category": "wrong_recipient"}, {"state": "closed"}):
        other = FakeBreach(discovered_at=friday, **{"category": "loss", **attrs})
        assert not police_reminder_due(other, dt.datetime(2025, 3, 12, 15, 0))


# -- the report form -----------------------------------------------------------------------

GOOD_REPORT: dict[str, Any] = {
    "what_happened": " Email with the assessment sent to the wrong school ",
    "category": "wrong_recipient",
    "happened_at": dt.datetime(2025, 3, 3, 8, 0),
    "discovered_at": dt.datetime(2025, 3, 3, 9, 0),
    "data_categories": ["basic_identifiers", "health"],
    "people_affected": "3",
    "records_affected": "1,200",
    "children_or_vulnerable": True,
    "special_category": False,
    "data_left_control": True,
    "line_manager_told": False,
    "police_reference": "",
    "no_police_reference_reason": "",
    "case_id": "",
    "happened_at_raw": "2025-03-03T08:00",
}


def test_validate_report_cleans_good_input() -> None:
    cleaned = validate_report(GOOD_REPORT, NOW)
    assert cleaned == {
        "what_happened": "Email with the assessment sent to the wrong school",
        "happened_at": dt.datetime(2025, 3, 3, 8, 0),
        "discovered_at": dt.datetime(2025, 3, 3, 9, 0),
        "category": "wrong_recipient",
        "data_categories": ["basic_identifiers", "health"],
        "people_affected": 3,
        "records_affected": 1200,
        "children_or_vulnerable": True,
        "special_category": True,  # health data is special category, ticked or not
        "data_left_control": True,
        "police_reference": None,
        "no_police_reference_reason": None,
        "police_officer": None,
        "police_told_at": None,
        "line_manager_told": False,
    }


def test_validate_report_with_nothing_filled_in() -> None:
    with pytest.raises(InputError) as refused:
        validate_report({}, NOW)
    assert refused.value.errors == {
        "category": "Select what kind of breach it was",
        "what_happened": "Describe what happened",
        "happened_at": "Enter when it happened",
        "discovered_at": "Enter when it was discovered",
        "data_categories": "Select the kinds of data involved, or 'Not yet known'",
        "people_affected": "Enter roughly how many people's data was involved",
        "records_affected": "Enter roughly how many records were involved",
    }


def test_discovery_cannot_come_before_it_happened() -> None:
    with pytest.raises(InputError) as refused:
        validate_report({**GOOD_REPORT, "discovered_at": dt.datetime(2025, 3, 3, 7, 59)}, NOW)
    assert refused.value.errors == {
        "discovered_at": "When it was discovered must be the same as or after when it happened"
    }


def test_report_times_cannot_be_in_the_future() -> None:
    later = NOW + dt.timedelta(minutes=1)
    with pytest.raises(InputError) as refused:
        validate_report({**GOOD_REPORT, "happened_at": later, "discovered_at": later}, NOW)
    assert refused.value.errors == {
        "happened_at": "When it happened must be in the past",
        "discovered_at": "When it was discovered must be in the past",
    }


@pytest.mark.parametrize("bad", ["lots", "-1", "2.5"])
def test_counts_must_be_whole_numbers(bad: str) -> None:
    with pytest.raises(InputError) as refused:
        validate_report({**GOOD_REPORT, "people_affected": bad}, NOW)
    assert refused.value.errors == {
        "people_affected": "Number of people must be a whole number, like 3"
    }


def test_zero_people_is_a_possible_answer_for_a_near_miss() -> None:
    cleaned = validate_report(
        {
            **GOOD_REPORT,
            "category": "near_miss",
            "people_affected": "0",
            "data_left_control": False,
        },
        NOW,
    )
    assert (cleaned["people_affected"], cleaned["data_left_control"]) == (0, False)


def test_only_a_near_miss_can_keep_the_data_in() -> None:
    cleaned = validate_report({**GOOD_REPORT, "data_left_control": False}, NOW)
    assert cleaned["data_left_control"] is True
    cleaned = validate_report(
        {**GOOD_REPORT, "category": "near_miss", "data_left_control": "no"}, NOW
    )
    assert cleaned["data_left_control"] is False


def test_unknown_data_categories_are_refused() -> None:
    with pytest.raises(InputError) as refused:
        validate_report({**GOOD_REPORT, "data_categories": ["health", "names"]}, NOW)
    assert refused.value.errors == {
        "data_categories": "Select the kinds of data involved from the list"
    }


def test_data_categories_keep_the_forms_order_once_each() -> None:
    cleaned = validate_report(
        {**GOOD_REPORT, "data_categories": ["not_known", "location", "location"]}, NOW
    )
    assert cleaned["data_categories"] == ["location", "not_known"]
    assert cleaned["special_category"] is False
    assert [key for key, _ in DATA_CATEGORIES][-1] == "not_known"


def test_police_details_are_optional_when_reporting_a_theft() -> None:
    cleaned = validate_report({**GOOD_REPORT, "category": "theft"}, NOW)
    assert (cleaned["police_reference"], cleaned["line_manager_told"]) == (None, False)
    told_at = dt.datetime(2025, 3, 3, 9, 30)
    cleaned = validate_report(
        {
            **GOOD_REPORT,
            "category": "theft",
            "police_reference": " CR/1234/25 ",
            "police_told_at": told_at,
            "line_manager_told": True,
        },
        NOW,
    )
    assert (cleaned["police_reference"], cleaned["line_manager_told"]) == ("CR/1234/25", True)
    assert cleaned["police_told_at"] == told_at


def test_a_crime_reference_comes_with_when_the_police_were_told() -> None:
    with pytest.raises(InputError) as refused:
        validate_report({**GOOD_REPORT, "category": "theft", "police_reference": "CR/1"}, NOW)
    assert refused.value.errors == {"police_told_at": "Enter when the police were told"}


def test_case_id_is_checked_but_not_returned() -> None:
    with pytest.raises(InputError) as refused:
        validate_report({**GOOD_REPORT, "case_id": "12 34"}, NOW)
    assert set(refused.value.errors) == {"case_id"}
    # The caller passes the case-system ID to Breach.open_case itself.
    assert "case_id" not in validate_report({**GOOD_REPORT, "case_id": "mos-1234567"}, NOW)


def test_validate_report_needs_the_time() -> None:
    with pytest.raises(TypeError):
        validate_report(GOOD_REPORT, None)  # type: ignore[arg-type]


# -- facts recorded as they arrive: in-state transitions, audited like any other change ----


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("actor", list(ACTORS))
def test_police_details_are_recorded_by_whoever_handles_the_case_until_it_is_closed(
    state: str, actor: str
) -> None:
    row, machine = build(state, category="loss")
    if actor in HANDLERS and state != "closed":
        assert "record_police" in shown(machine, actor)
        fire(machine, "record_police", actor, **GOOD_KWARGS["record_police"])
        assert row.state == state
        assert (row.police_reference, row.police_officer, row.police_told_at) == (
            "CR/123/25",
            "PC 1234, Walworth",
            DISCOVERED,
        )
        assert (row.line_manager_told, row.line_manager_told_by_id, row.line_manager_told_at) == (
            True,
            ACTORS[actor].id,
            NOW,
        )
        assert row.police_recorded_at == NOW
    else:
        with pytest.raises(TransitionNotAllowed):
            fire(machine, "record_police", actor, **GOOD_KWARGS["record_police"])


def test_a_reason_first_keeps_the_police_details_open_for_the_reference_later() -> None:
    row, machine = build(category="theft")
    fire(
        machine,
        "record_police",
        "reporter",
        no_police_reference_reason="Police will give it after the interview",
        line_manager_told=True,
    )
    assert "record_police" in shown(machine, "reporter")  # the form stays
    fire(machine, "notify", "reporter", **{**GOOD_KWARGS["notify"], "notifications": told("theft")})
    assert "record_police" in shown(machine, "reporter")  # and after notifying too
    fire(
        machine, "record_police", "reporter", police_reference="CR/9/25", police_told_at=DISCOVERED
    )
    assert (row.state, row.police_reference) == ("notified", "CR/9/25")
    # Told once, the line manager stays told: a later save without the box does not undo it.
    assert row.line_manager_told is True and row.line_manager_told_by_id == REPORTER


def test_police_details_need_a_reference_or_why_not_and_keep_their_limits() -> None:
    _, machine = build(category="theft")
    assert refused_fields(machine, "record_police", "reporter") == {
        "police_reference": "Enter the police crime reference number, or why there is none yet"
    }
    assert refused_fields(
        machine, "record_police", "reporter", police_reference="x" * 41, police_told_at=DISCOVERED
    ) == {"police_reference": "Police crime reference must be 40 characters or fewer"}
    assert refused_fields(machine, "record_police", "reporter", police_reference="CR/1") == {
        "police_told_at": "Enter when the police were told"
    }
    assert refused_fields(
        machine,
        "record_police",
        "reporter",
        police_reference="CR/1",
        police_told_at=DISCOVERED - dt.timedelta(hours=2),
    ) == {"police_told_at": "When the police were told must be after it happened"}


UPDATE = GOOD_KWARGS["update_report"]


@pytest.mark.parametrize("state", ["reported", "notified"])
def test_the_report_is_corrected_until_the_risk_is_assessed(state: str) -> None:
    row, machine = build(state, category="loss", told={"insurance"})
    earlier = DISCOVERED - dt.timedelta(hours=3)
    fire(
        machine,
        "update_report",
        "manager",
        **{
            **UPDATE,
            "category": "theft",
            "happened_at": earlier,
            "children_or_vulnerable": "not_known",
        },
    )
    assert row.state == state
    assert (row.category, row.happened_at, row.discovered_at) == ("theft", earlier, DISCOVERED)
    assert row.data_categories == "basic_identifiers,health"
    assert row.special_category is True  # health data is Art. 9 data, whatever the answer
    assert (row.people_affected, row.children_or_vulnerable) == (2, None)


def test_a_correction_needs_every_answer() -> None:
    _, machine = build()
    assert refused_fields(machine, "update_report", "reporter", what_happened="") == {
        "category": "Select what kind of breach it was",
        "what_happened": "Describe what happened",
        "data_categories": "Select the kinds of data involved, or 'Not yet known'",
        "people_affected": "Enter roughly how many people's data was involved",
        "records_affected": "Enter roughly how many records were involved",
        "happened_at": "Enter when it happened",
        "discovered_at": "Enter when it was discovered",
        "children_or_vulnerable": (
            "Select whether children or vulnerable adults are involved, or 'Not known yet'"
        ),
        "special_category": "Select whether special category data is involved, or 'Not known yet'",
    }


def test_once_notified_a_category_needing_insurers_not_told_is_refused() -> None:
    row, machine = build("notified")
    errors = refused_fields(machine, "update_report", "manager", **{**UPDATE, "category": "theft"})
    assert errors == {
        "category": "A theft must be reported to the Insurance Section, and this case was "
        "notified without them: keep the category, or ask the Information and Records Manager"
    }
    assert row.state == "notified"
    # A near miss found to be a breach: the breach roles are emailed by Safekeep.
    fire(machine, "update_report", "manager", **{**UPDATE, "category": "unauthorised_disclosure"})
    assert row.category == "unauthorised_disclosure"


def test_a_near_miss_keeps_the_data_in_only_while_it_is_one() -> None:
    row, machine = build()
    fire(
        machine,
        "update_report",
        "manager",
        **{**UPDATE, "category": "near_miss", "data_left_control": False},
    )
    assert (row.category, row.data_left_control) == ("near_miss", False)
    fire(machine, "update_report", "manager", **{**UPDATE, "data_left_control": False})
    assert (row.category, row.data_left_control) == ("wrong_recipient", True)


# -- the holder's line manager reads a loss or theft (issue 22) -----------------------------


@pytest.mark.parametrize("state", STATES)
def test_the_holders_line_manager_reads_a_loss_or_theft_and_acts_on_nothing(state):
    holders_manager = ACTORS["other_manager"]
    for category in ("loss", "theft"):
        row, machine = build(state, category=category, holder_manager_id=holders_manager.id)
        assert may_read_case(holders_manager, row)
        assert machine.enabled_events(actor=holders_manager, now=NOW) == []
    # Told of losses and thefts only: a wrongly sent letter stays with whoever handles it.
    row, _ = build(state, category="wrong_recipient", holder_manager_id=holders_manager.id)
    assert not may_read_case(holders_manager, row)
    assert not may_read_case(ACTORS["colleague"], build(state, category="loss")[0])


# -- the follow-through: the ICO's outcome and the actions hold the close ----------------


def test_a_referred_case_closes_only_once_the_ico_outcome_is_on_record() -> None:
    row, machine = build("decided", ico_referred=True, ico_referred_at=TOLD)
    assert "close" not in shown(machine, "records_manager")
    with pytest.raises(TransitionNotAllowed):
        fire(machine, "close", "records_manager", **GOOD_KWARGS["close"])
    fire(machine, "record_ico_outcome", "dpo", **GOOD_KWARGS["record_ico_outcome"])
    assert row.ico_outcome == "advice" and row.ico_outcome_on == dt.date(2025, 3, 4)
    assert "close" in shown(machine, "records_manager")


def test_a_case_with_an_open_action_cannot_close() -> None:
    row, machine = build("decided", open_actions=1)
    assert "close" not in shown(machine, "records_manager")
    row.open_actions = 0
    assert "close" in shown(machine, "records_manager")


def test_the_outcome_waits_for_what_the_ico_is_owed_and_is_recorded_once() -> None:
    row, machine = build("decided", ico_referred=True, ico_referred_at=TOLD, open_ico_items=1)
    assert "record_ico_outcome" not in shown(machine, "records_manager")
    row.open_ico_items = 0
    fire(machine, "record_ico_outcome", "records_manager", **GOOD_KWARGS["record_ico_outcome"])
    assert "record_ico_outcome" not in shown(machine, "records_manager")


def test_the_outcome_is_one_of_the_icos_and_dated_after_the_referral() -> None:
    _, machine = build("decided", ico_referred=True, ico_referred_at=TOLD)
    errors = refused_fields(
        machine,
        "record_ico_outcome",
        "dpo",
        ico_outcome="a fine of a million",
        ico_outcome_on=dt.date(2025, 3, 1),
        ico_outcome_note="x" * 2_001,
    )
    assert set(errors) == {"ico_outcome", "ico_outcome_on", "ico_outcome_note"}
