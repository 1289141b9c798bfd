"""The dispatch machine: who may move a dispatch where, and what each step demands.

No Flask, no database: the row is a dataclass that records calls to its breach seam.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines.common import Actor, InputError
from machines.dispatch import (
    ADDRESS_SOURCES,
    EVENT_LABELS,
    METHODS,
    STATE_LABELS,
    DispatchMachine,
    checkers_above,
    dispatch_machine,
    validate_draft,
)
from machines.training import Training

NOW = dt.datetime(2025, 3, 4, 10, 30)
TEAM = 10

ACTORS = {
    "drafter": Actor(id=1, roles=frozenset({"practitioner"}), team_id=TEAM),
    "colleague": Actor(id=2, roles=frozenset({"practitioner"}), team_id=TEAM),
    "other_team": Actor(id=3, roles=frozenset({"practitioner"}), team_id=11),
    "line_manager": Actor(id=4, roles=frozenset({"line_manager"}), team_id=TEAM),
    "other_line_manager": Actor(id=5, roles=frozenset({"line_manager"}), team_id=11),
}

STATES = ["drafted", "checked", "sent", "delivered", "misdirected", "cancelled"]
EVENTS = ["check", "mark_sent", "confirm_delivered", "report_misdirected", "cancel"]

# (state, event) -> (target, who may). Every pair not listed is refused for everyone.
ALLOWED: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("drafted", "check"): ("checked", {"colleague", "line_manager"}),
    ("drafted", "cancel"): ("cancelled", {"drafter", "line_manager"}),
    ("checked", "mark_sent"): ("sent", {"drafter"}),
    ("checked", "cancel"): ("cancelled", {"drafter", "line_manager"}),
    ("sent", "confirm_delivered"): ("delivered", {"drafter", "colleague", "line_manager"}),
    ("sent", "report_misdirected"): (
        "misdirected",
        {"drafter", "colleague", "line_manager", "other_line_manager"},
    ),
    ("delivered", "report_misdirected"): (
        "misdirected",
        {"drafter", "colleague", "line_manager", "other_line_manager"},
    ),
}

GOOD_CHECK = {
    "address_source": "case_record",
    "address_confirmed": "yes",
    "addressee_confirmed": "yes",
    "right_to_information_confirmed": "yes",
    "lawful_basis": "Court order to share the assessment",
}

GOOD_KWARGS: dict[str, dict[str, Any]] = {
    "check": GOOD_CHECK,
    "mark_sent": {"tracking_reference": "AB123456789GB"},
    "confirm_delivered": {"delivery_evidence": "tracking_delivered"},
    "report_misdirected": {
        "what_happened": "The recipient phoned: it was not for them",
        "children_or_vulnerable": "yes",
        "special_category": "no",
    },
    "cancel": {"reason": "Hearing adjourned"},
}


@dataclass
class FakeDispatch:
    state: str = "drafted"
    id: int = 7
    drafted_by_id: int = 1
    team_id: int = TEAM
    method: str = "special_delivery"
    # Who may check from above the team: nobody while a colleague may (models.dispatches).
    checkers_above: frozenset[int] = frozenset()
    drafter_training: Training = field(default_factory=lambda: Training(NOW.date()))
    breaches_opened: list[dict] = field(default_factory=list)

    def open_breach_for_misdirection(self, **kwargs: Any) -> None:
        self.breaches_opened.append(kwargs)


def build(state: str = "drafted", **attrs: Any) -> tuple[FakeDispatch, DispatchMachine]:
    row = FakeDispatch(state=state, **attrs)
    return row, dispatch_machine(row)


def fire(machine: DispatchMachine, event: str, actor: str, **kwargs: Any) -> None:
    machine.send(event, actor=ACTORS[actor], now=NOW, **kwargs)


# -- the transition table ------------------------------------------------------------------


TABLE = [
    pytest.param(state, event, actor, id=f"{state}-{event}-{actor}")
    for state in STATES
    for event in EVENTS
    for actor in ACTORS
]


@pytest.mark.parametrize(("state", "event", "actor"), TABLE)
def test_transition_table(state: str, event: str, actor: str) -> None:
    row, machine = build(state)
    target, who = ALLOWED.get((state, event), (None, set()))
    if actor in who:
        fire(machine, event, actor, **GOOD_KWARGS[event])
        assert row.state == target
        assert machine.configuration_values == {target}
    else:
        # Refused before any form is looked at: no InputError even with nothing filled in.
        with pytest.raises(TransitionNotAllowed):
            fire(machine, event, actor)
        assert row.state == state
        assert row.breaches_opened == []


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("actor", list(ACTORS))
def test_enabled_events_are_the_buttons(state: str, actor: str) -> None:
    _, machine = build(state)
    expected = {event for (s, event), (_, who) in ALLOWED.items() if s == state and actor in who}
    shown = {e.id for e in machine.enabled_events(actor=ACTORS[actor], now=NOW)}
    assert shown == expected


def test_no_buttons_without_an_actor() -> None:
    _, machine = build("sent")
    assert machine.enabled_events(now=NOW) == []


def test_the_drafter_never_sees_check() -> None:
    drafter_who_manages = Actor(
        id=1, roles=frozenset({"line_manager", "practitioner"}), team_id=TEAM
    )
    _, machine = build("drafted")
    assert "check" not in {e.id for e in machine.enabled_events(actor=drafter_who_manages)}
    with pytest.raises(TransitionNotAllowed):
        machine.send("check", actor=drafter_who_manages, now=NOW, **GOOD_CHECK)


def test_checker_needs_a_practitioner_or_line_manager_role() -> None:
    clerk = Actor(id=9, roles=frozenset({"governance"}), team_id=TEAM)
    row, machine = build("drafted")
    with pytest.raises(TransitionNotAllowed):
        machine.send("check", actor=clerk, now=NOW, **GOOD_CHECK)
    assert row.state == "drafted"


def test_actor_without_a_team_is_not_the_team() -> None:
    row, machine = build("sent", team_id=None)
    teamless = Actor(id=9, roles=frozenset({"practitioner"}), team_id=None)
    with pytest.raises(TransitionNotAllowed):
        machine.send("confirm_delivered", actor=teamless, now=NOW, delivery_evidence="x")


# -- a team with nobody else to check (issue 22) -------------------------------------------

PAT = Actor(id=1, roles=frozenset({"practitioner"}), team_id=TEAM, line_manager_id=40)
LINA_ELSEWHERE = Actor(id=40, roles=frozenset({"line_manager"}), team_id=11)
AD = Actor(id=50, roles=frozenset({"assistant_director"}), team_id=None)
AD_AS_MANAGER = Actor(id=40, roles=frozenset({"assistant_director"}), team_id=None)


def test_a_colleague_left_in_the_team_checks_and_nobody_from_above() -> None:
    sam = Actor(id=2, roles=frozenset({"practitioner"}), team_id=TEAM)
    assert checkers_above(PAT, TEAM, [PAT, sam], AD_AS_MANAGER, [AD, AD_AS_MANAGER]) == set()


def test_with_no_colleague_left_the_drafters_own_manager_checks() -> None:
    # Their manager may see the team's records (an Assistant Director sees every team).
    assert checkers_above(PAT, TEAM, [PAT], AD_AS_MANAGER, [AD, AD_AS_MANAGER]) == {40}


def test_a_manager_who_cannot_see_the_team_leaves_it_to_the_seniors() -> None:
    # A line manager of another team cannot open the dispatch: the seniors are asked.
    assert checkers_above(PAT, TEAM, [PAT], LINA_ELSEWHERE, [AD, LINA_ELSEWHERE]) == {50}


def test_a_colleague_without_work_with_papers_is_not_a_checker() -> None:
    clerk = Actor(id=9, roles=frozenset({"governance"}), team_id=TEAM)
    assert checkers_above(PAT, TEAM, [PAT, clerk], None, [AD]) == {50}


def test_someone_from_above_checks_only_when_the_row_names_them() -> None:
    row, machine = build("drafted", checkers_above=frozenset({50}))
    assert "check" not in {e.id for e in machine.enabled_events(actor=AD_AS_MANAGER)}
    with pytest.raises(TransitionNotAllowed):
        machine.send("check", actor=AD_AS_MANAGER, now=NOW, **GOOD_CHECK)
    machine.send("check", actor=AD, now=NOW, **GOOD_CHECK)
    assert (row.state, row.checked_by_id) == ("checked", 50)


def test_the_drafter_never_checks_even_when_named_from_above() -> None:
    _, machine = build("drafted", checkers_above=frozenset({1}))
    with pytest.raises(TransitionNotAllowed):
        machine.send("check", actor=ACTORS["drafter"], now=NOW, **GOOD_CHECK)


# -- check ---------------------------------------------------------------------------------


def test_check_records_who_when_and_why() -> None:
    row, machine = build("drafted")
    fire(machine, "check", "colleague", **{**GOOD_CHECK, "lawful_basis": "Court\n order  "})
    assert (row.checked_by_id, row.checked_at) == (2, NOW)
    assert row.address_source == "case_record"
    assert row.address_source_other is None
    assert row.lawful_basis == "Court order"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("address_confirmed", "Confirm the address or email matches the source"),
        ("addressee_confirmed", "Confirm the addressee is the right person"),
        ("right_to_information_confirmed", "Confirm the recipient has a right to this information"),
        ("lawful_basis", "Enter the lawful basis or purpose for sharing"),
        ("address_source", "Select where you checked the address"),
    ],
)
def test_each_check_item_missing_gives_exactly_its_own_error(missing: str, message: str) -> None:
    row, machine = build("drafted")
    kwargs = {k: v for k, v in GOOD_CHECK.items() if k != missing}
    with pytest.raises(InputError) as refused:
        fire(machine, "check", "colleague", **kwargs)
    assert refused.value.errors == {missing: message}
    assert row.state == "drafted"
    assert not hasattr(row, "checked_by_id")


@pytest.mark.parametrize("unticked", ["", "no", None, False])
def test_an_unticked_confirmation_is_not_a_confirmation(unticked: Any) -> None:
    _, machine = build("drafted")
    with pytest.raises(InputError) as refused:
        fire(machine, "check", "colleague", **{**GOOD_CHECK, "addressee_confirmed": unticked})
    assert set(refused.value.errors) == {"addressee_confirmed"}


def test_check_with_nothing_filled_in_lists_every_error() -> None:
    _, machine = build("drafted")
    with pytest.raises(InputError) as refused:
        fire(machine, "check", "colleague")
    assert set(refused.value.errors) == {
        "address_source",
        "address_confirmed",
        "addressee_confirmed",
        "right_to_information_confirmed",
        "lawful_basis",
    }


def test_address_source_other_needs_saying_where() -> None:
    row, machine = build("drafted")
    with pytest.raises(InputError) as refused:
        fire(machine, "check", "colleague", **{**GOOD_CHECK, "address_source": "other"})
    assert refused.value.errors == {"address_source_other": "Enter where you checked the address"}
    fire(
        machine,
        "check",
        "colleague",
        **{**GOOD_CHECK, "address_source": "other", "address_source_other": "Court letter"},
    )
    assert (row.address_source, row.address_source_other) == ("other", "Court letter")


def test_unknown_address_source_is_refused() -> None:
    _, machine = build("drafted")
    with pytest.raises(InputError) as refused:
        fire(machine, "check", "colleague", **{**GOOD_CHECK, "address_source": "memory"})
    assert set(refused.value.errors) == {"address_source"}


# -- mark_sent -----------------------------------------------------------------------------


def test_secure_email_needs_both_password_confirmations() -> None:
    row, machine = build("checked", method="secure_email")
    with pytest.raises(InputError) as refused:
        fire(machine, "mark_sent", "drafter", password_protected="yes")
    assert refused.value.errors == {"password_separate": "Confirm the password is sent separately"}
    with pytest.raises(InputError) as refused:
        fire(machine, "mark_sent", "drafter", password_separate="yes")
    assert set(refused.value.errors) == {"password_protected"}
    assert row.state == "checked"

    fire(machine, "mark_sent", "drafter", password_protected=True, password_separate=True)
    assert row.state == "sent"
    assert (row.sent_at, row.sent_by_id, row.tracking_reference) == (NOW, 1, None)


def test_special_delivery_without_tracking_reference_is_refused() -> None:
    row, machine = build("checked")
    with pytest.raises(InputError) as refused:
        fire(machine, "mark_sent", "drafter", tracking_reference="  ")
    assert refused.value.errors == {
        "tracking_reference": "Enter the special delivery tracking reference"
    }
    assert row.state == "checked"


@pytest.mark.parametrize("bad", ["AB12345678GB", "A1123456789GB", "AB123456789G", "123456789"])
def test_special_delivery_tracking_reference_in_the_wrong_format_is_refused(bad: str) -> None:
    row, machine = build("checked")
    with pytest.raises(InputError) as refused:
        fire(machine, "mark_sent", "drafter", tracking_reference=bad)
    message = "Enter the tracking reference in the correct format, like AB123456789GB"
    assert refused.value.errors == {"tracking_reference": message}
    assert row.state == "checked"


def test_special_delivery_tracking_reference_is_normalised() -> None:
    row, machine = build("checked")
    fire(machine, "mark_sent", "drafter", tracking_reference=" ab 1234 5678 9gb ")
    assert row.state == "sent"
    assert row.tracking_reference == "AB123456789GB"


# -- confirm_delivered, report_misdirected, cancel -----------------------------------------


def test_delivery_needs_evidence() -> None:
    row, machine = build("sent")
    with pytest.raises(InputError) as refused:
        fire(machine, "confirm_delivered", "colleague", delivery_evidence="hope")
    assert set(refused.value.errors) == {"delivery_evidence"}
    fire(machine, "confirm_delivered", "colleague", delivery_evidence="recipient_acknowledged")
    assert (row.state, row.delivered_at) == ("delivered", NOW)


@pytest.mark.parametrize("state", ["sent", "delivered"])
def test_report_misdirected_opens_one_breach(state: str) -> None:
    row, machine = build(state)
    fire(
        machine,
        "report_misdirected",
        "colleague",
        what_happened="  Sent to the wrong court ",
        children_or_vulnerable="not_known",
        special_category="yes",
    )
    assert row.state == "misdirected"
    assert row.misdirected_at == NOW
    assert row.breaches_opened == [
        {
            "actor": ACTORS["colleague"],
            "now": NOW,
            "what_happened": "Sent to the wrong court",
            # Asked when reported; "not known yet" is kept as None (the worst case).
            "facts": {"children_or_vulnerable": None, "special_category": True},
        }
    ]


def test_report_misdirected_needs_what_happened_and_opens_nothing_without() -> None:
    row, machine = build("sent")
    with pytest.raises(InputError) as refused:
        fire(machine, "report_misdirected", "drafter", what_happened="")
    assert refused.value.errors == {
        "what_happened": "Describe what happened",
        "children_or_vulnerable": (
            "Select whether children or vulnerable adults are involved, or 'Not known yet'"
        ),
        "special_category": "Select whether special category data is involved, or 'Not known yet'",
    }
    assert (row.state, row.breaches_opened) == ("sent", [])


def test_a_failing_breach_seam_leaves_the_dispatch_where_it_was() -> None:
    row, machine = build("sent")

    def fail(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    row.open_breach_for_misdirection = fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        fire(machine, "report_misdirected", "drafter", **GOOD_KWARGS["report_misdirected"])
    assert row.state == "sent"
    assert not hasattr(row, "misdirected_at")


def test_cancel_records_an_optional_reason() -> None:
    row, machine = build("checked")
    fire(machine, "cancel", "line_manager")
    assert (row.state, row.cancelled_at, row.cancelled_by_id, row.cancel_reason) == (
        "cancelled",
        NOW,
        4,
        None,
    )


def test_cancel_reason_is_kept_short() -> None:
    row, machine = build("drafted")
    with pytest.raises(InputError) as refused:
        fire(machine, "cancel", "drafter", reason="x" * 2001)
    assert set(refused.value.errors) == {"reason"}
    assert row.state == "drafted"


def test_the_machine_never_reads_the_clock() -> None:
    row, machine = build("drafted")
    with pytest.raises(TypeError):
        machine.send("cancel", actor=ACTORS["drafter"])
    assert row.state == "drafted"


# -- the factory, the labels and the diagram -----------------------------------------------


@pytest.mark.parametrize("stored", ["", "draft", None, "DRAFTED"])
def test_factory_refuses_an_unknown_stored_state(stored: Any) -> None:
    with pytest.raises(ValueError):
        dispatch_machine(FakeDispatch(state=stored))


def test_factory_attaches_listeners() -> None:
    seen: list[tuple[str, str, str]] = []

    class Listener:
        def after_transition(self, event: str, source: Any, target: Any) -> None:
            seen.append((str(event), source.id, target.id))

    row = FakeDispatch(state="drafted")
    machine = dispatch_machine(row, listeners=[Listener()])
    fire(machine, "cancel", "drafter")
    assert seen == [("cancel", "drafted", "cancelled")]


def test_labels_cover_every_state_and_event() -> None:
    assert set(STATE_LABELS) == {s.id for s in DispatchMachine.states} == set(STATES)
    assert set(EVENT_LABELS) == {e.id for e in DispatchMachine.events} == set(EVENTS)
    assert [v for v, _ in METHODS] == ["secure_email", "special_delivery"]
    assert [v for v, _ in ADDRESS_SOURCES][-1] == "other"


def test_send_is_still_the_machines_send_method() -> None:
    # An event called "send" would silently replace StateMachine.send().
    assert "send" not in EVENT_LABELS
    assert callable(DispatchMachine.send)


def test_mermaid_diagram_renders() -> None:
    text = f"{DispatchMachine:mermaid}"
    assert text.startswith("stateDiagram-v2")
    assert "delivered --> misdirected" in text
    assert "drafted --> checked" in text


# -- the draft form ------------------------------------------------------------------------

GOOD_DRAFT = {
    "case_id": " mos-1234567 ",
    "description": "Parenting assessment and chronology",
    "method": "secure_email",
    "recipient_organisation": "Family Court",
    "recipient_role": "Court officer",
    "address": "officer@court.example.org",
}


def test_validate_draft_cleans_good_input() -> None:
    cleaned = validate_draft(GOOD_DRAFT)
    assert cleaned["case_id"] == "MOS-1234567"
    assert cleaned["method"] == "secure_email"
    assert set(cleaned) == set(GOOD_DRAFT)


def test_validate_draft_with_nothing_filled_in() -> None:
    with pytest.raises(InputError) as refused:
        validate_draft({})
    assert refused.value.errors == {
        "case_id": "Enter the case-system ID",
        "description": "Describe what is being sent",
        "method": "Select how the documents will be sent",
        "recipient_organisation": "Enter the recipient's organisation",
        "recipient_role": "Enter the recipient's role",
        "address": "Enter the address",
    }


@pytest.mark.parametrize("good", ["123", "1234567", "MOS1234567", "mos-12345678901234"])
def test_validate_draft_accepts_case_ids(good: str) -> None:
    assert validate_draft({**GOOD_DRAFT, "case_id": good})["case_id"] == good.upper()


@pytest.mark.parametrize("bad", ["12", "ABC", "123-ABC", "12 34", "1" * 21, "MOS_123"])
def test_validate_draft_refuses_bad_case_ids(bad: str) -> None:
    with pytest.raises(InputError) as refused:
        validate_draft({**GOOD_DRAFT, "case_id": bad})
    assert set(refused.value.errors) == {"case_id"}


def test_validate_draft_description_is_at_most_200_characters() -> None:
    validate_draft({**GOOD_DRAFT, "description": "x" * 200})
    with pytest.raises(InputError) as refused:
        validate_draft({**GOOD_DRAFT, "description": "x" * 201})
    assert set(refused.value.errors) == {"description"}


@pytest.mark.parametrize("bad", ["officer", "officer@court", "a b@court.org", "@court.org"])
def test_validate_draft_secure_email_needs_an_email_address(bad: str) -> None:
    with pytest.raises(InputError) as refused:
        validate_draft({**GOOD_DRAFT, "address": bad})
    assert refused.value.errors == {
        "address": "Enter an email address in the correct format, like name@example.org"
    }


def test_validate_draft_special_delivery_takes_a_postal_address() -> None:
    cleaned = validate_draft(
        {**GOOD_DRAFT, "method": "special_delivery", "address": "Family Court\nHigh Street"}
    )
    assert cleaned["address"] == "Family Court\nHigh Street"


def test_validate_draft_refuses_an_unknown_method() -> None:
    with pytest.raises(InputError) as refused:
        validate_draft({**GOOD_DRAFT, "method": "fax"})
    assert set(refused.value.errors) == {"method"}


def test_a_cancel_reason_over_its_limit_is_refused_in_the_same_words_as_every_other() -> None:
    row, machine = build("drafted")
    with pytest.raises(InputError) as refused:
        fire(machine, "cancel", "drafter", reason="x" * 2001)
    assert refused.value.errors == {"reason": "Reason must be 2,000 characters or fewer"}
    assert row.state == "drafted"
    fire(machine, "cancel", "drafter", reason="x" * 2000)
    assert row.state == "cancelled"
