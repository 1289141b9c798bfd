"""The removal machine: its whole transition table, who may do what, and what it asks for."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines.common import Actor, InputError
from machines.removal import EVENT_LABELS, STATE_LABELS, RemovalMachine, removal_machine

NOW = dt.datetime(2026, 11, 25, 10, 0)
TEAM, OTHER_TEAM = 1, 2

HOLDER = Actor(10, frozenset({"practitioner"}), TEAM, line_manager_id=20)
MANAGER = Actor(20, frozenset({"line_manager"}), TEAM)  # the holder's own line manager
TEAM_MANAGER = Actor(21, frozenset({"line_manager"}), TEAM)  # another manager of the team
COLLEAGUE = Actor(11, frozenset({"practitioner"}), TEAM, line_manager_id=20)
OUTSIDE_MANAGER = Actor(30, frozenset({"line_manager"}), OTHER_TEAM)
DIRECTOR = Actor(40, frozenset({"director"}), None)
ACTORS = {
    "holder": HOLDER,
    "manager": MANAGER,
    "team_manager": TEAM_MANAGER,
    "colleague": COLLEAGUE,
    "outside_manager": OUTSIDE_MANAGER,
    "director": DIRECTOR,
}

SAFEGUARDS = {
    "lockable_bag": "on",
    "laptop_protected": "on",
    "no_usb_stick": "on",
    "notebook_secure": "on",
}
GOOD_INPUT = {
    "request": {},
    "approve": {"note": "Fine for the home visit"},
    "decline": {"reason": "Use the summary instead"},
    "cancel": {},
    "take_out": SAFEGUARDS,
    "return_papers": {},
    "destroy": {"method": "shredded", "witness": "Pat Smith"},
    "report_lost": {
        "last_seen_where": "Team car",
        "last_seen_at": NOW - dt.timedelta(hours=3),
        "category": "theft",
        "children_or_vulnerable": "yes",
        "special_category": "not_known",
    },
}
FACTS = {"category": "loss", "children_or_vulnerable": "no", "special_category": "not_known"}


class Row(SimpleNamespace):
    """A removal row as the machine sees it."""

    def open_breach_for_loss(self, actor, now, facts):
        self.breach_opened_by = (actor.id, now)
        self.breach_facts = facts


def row(state: str, purpose: str = "other", **extra) -> Row:
    return Row(
        id=1,
        state=state,
        team_id=TEAM,
        for_user_id=HOLDER.id,
        requested_by_id=HOLDER.id,
        requester_manager_id=MANAGER.id,
        purpose=purpose,
        taken_out_at=NOW - dt.timedelta(days=1) if state == "out" else None,
        closed_at=None,
        decision_note=None,
        breach_opened_by=None,
        **extra,
    )


# (state, event) -> (who may, target). Every pair missing here is refused for everyone.
TABLE = {
    ("in_office", "request"): ({"holder", "manager", "team_manager", "colleague"}, "requested"),
    ("requested", "approve"): ({"manager", "team_manager"}, "approved_for_removal"),
    ("requested", "decline"): ({"manager", "team_manager"}, "declined"),
    ("requested", "cancel"): ({"holder", "manager", "team_manager"}, "cancelled"),
    ("approved_for_removal", "cancel"): ({"holder", "manager", "team_manager"}, "cancelled"),
    ("approved_for_removal", "take_out"): ({"holder"}, "out"),
    ("out", "return_papers"): ({"holder", "manager", "team_manager"}, "returned"),
    ("out", "destroy"): ({"holder", "manager", "team_manager"}, "destroyed"),
    ("out", "report_lost"): ({"holder", "manager", "team_manager"}, "lost"),
}


def _cases():
    for state in STATE_LABELS:
        for event in EVENT_LABELS:
            for name in ACTORS:
                yield state, event, name


@pytest.mark.parametrize(("state", "event", "who"), list(_cases()))
def test_transition_table(state, event, who):
    model = row(state)
    # "request" is sent for the row being created: the colleague asks for it for themselves.
    if event == "request" and who != "holder":
        model.for_user_id = model.requested_by_id = ACTORS[who].id
    machine = removal_machine(model)
    allowed, target = TABLE.get((state, event), (set(), None))
    if who in allowed:
        machine.send(event, actor=ACTORS[who], now=NOW, **GOOD_INPUT[event])
        assert model.state == target
    else:
        with pytest.raises(TransitionNotAllowed):
            machine.send(event, actor=ACTORS[who], now=NOW, **GOOD_INPUT[event])
        assert model.state == state


def _enabled(state, actor, **extra):
    machine = removal_machine(row(state, **extra))
    return {e.id for e in machine.enabled_events(actor=actor, now=NOW)}


@pytest.mark.parametrize("state", list(STATE_LABELS))
@pytest.mark.parametrize("who", list(ACTORS))
def test_enabled_events_match_the_table(state, who):
    expected = {
        event for (s, event), (allowed, _) in TABLE.items() if s == state and who in allowed
    }
    if state == "in_office" and who != "holder":
        expected.discard("request")  # the row is the holder's; others ask for their own
    assert _enabled(state, ACTORS[who]) == expected


@pytest.mark.parametrize("purpose", ["court", "professional_meeting", "service_user_meeting"])
def test_agreed_purposes_need_no_approval(purpose):
    model = row("in_office", purpose=purpose)
    removal_machine(model).send("request", actor=HOLDER, now=NOW)
    assert model.state == "approved_for_removal"
    assert model.requested_at == NOW
    assert not hasattr(model, "decided_by_id")  # nobody approved it: nobody is recorded
    assert model.decision_note == "Agreed purpose: no approval needed"


def test_other_purpose_waits_for_the_line_manager():
    model = row("in_office", purpose="other")
    removal_machine(model).send("request", actor=HOLDER, now=NOW)
    assert model.state == "requested"
    assert model.closed_at is None


def test_requester_can_never_approve_their_own_request_even_as_a_line_manager():
    model = row("requested")
    model.for_user_id = model.requested_by_id = MANAGER.id
    assert "approve" not in _enabled_for(model, MANAGER)
    assert "approve" in _enabled_for(model, TEAM_MANAGER)


def _enabled_for(model, actor):
    return {e.id for e in removal_machine(model).enabled_events(actor=actor, now=NOW)}


def test_approval_records_who_and_when():
    model = row("requested")
    removal_machine(model).send("approve", actor=MANAGER, now=NOW, note="  ok  ")
    assert (model.decided_by_id, model.decided_at, model.decision_note) == (MANAGER.id, NOW, "ok")


def test_decline_needs_a_reason_and_closes_the_removal():
    model = row("requested")
    machine = removal_machine(model)
    with pytest.raises(InputError) as refused:
        machine.send("decline", actor=MANAGER, now=NOW, reason="  ")
    assert refused.value.errors == {"reason": "Enter why you are declining the request"}
    assert model.state == "requested"
    machine.send("decline", actor=MANAGER, now=NOW, reason="Take the summary")
    assert (model.state, model.closed_at, model.decision_note) == (
        "declined",
        NOW,
        "Take the summary",
    )


def test_take_out_names_every_missing_safeguard():
    model = row("approved_for_removal")
    with pytest.raises(InputError) as refused:
        removal_machine(model).send(
            "take_out", actor=HOLDER, now=NOW, lockable_bag="on", no_usb_stick=""
        )
    assert set(refused.value.errors) == {"laptop_protected", "no_usb_stick", "notebook_secure"}
    assert "USB memory stick" in refused.value.errors["no_usb_stick"]
    assert model.state == "approved_for_removal" and model.taken_out_at is None


def test_take_out_with_all_safeguards_records_the_time():
    model = row("approved_for_removal")
    removal_machine(model).send("take_out", actor=HOLDER, now=NOW, **SAFEGUARDS)
    assert (model.state, model.taken_out_at, model.closed_at) == ("out", NOW, None)


def test_someone_without_the_right_gets_refused_not_form_errors():
    """Validators run before guards in the library; ours stay silent for the wrong person."""
    model = row("approved_for_removal")
    with pytest.raises(TransitionNotAllowed):
        removal_machine(model).send("take_out", actor=COLLEAGUE, now=NOW)


def test_destroy_needs_method_and_witness():
    model = row("out")
    with pytest.raises(InputError) as refused:
        removal_machine(model).send("destroy", actor=HOLDER, now=NOW, method="burnt", witness="")
    assert refused.value.errors == {
        "method": "Select how the papers were destroyed",
        "witness": "Enter the name of the witness",
    }
    removal_machine(model).send(
        "destroy", actor=HOLDER, now=NOW, method="confidential_waste", witness=" Sam Lee "
    )
    assert (model.state, model.destruction_method, model.destruction_witness, model.closed_at) == (
        "destroyed",
        "confidential_waste",
        "Sam Lee",
        NOW,
    )


def test_report_lost_needs_where_and_a_past_time_and_opens_the_breach_case():
    model = row("out")
    machine = removal_machine(model)
    with pytest.raises(InputError) as refused:
        machine.send(
            "report_lost",
            actor=HOLDER,
            now=NOW,
            last_seen_where="",
            last_seen_at=NOW + dt.timedelta(hours=1),
        )
    assert refused.value.errors == {
        # The breach case's first facts are asked here, not guessed.
        "category": "Select whether the papers were lost or stolen",
        "children_or_vulnerable": (
            "Select whether children or vulnerable adults are involved, or 'Not known yet'"
        ),
        "special_category": "Select whether special category data is involved, or 'Not known yet'",
        "last_seen_where": "Enter where the papers were last seen",
        "last_seen_on": "The date and time last seen must be in the past",
    }
    assert model.breach_opened_by is None
    seen = NOW - dt.timedelta(hours=2)
    machine.send(
        "report_lost", actor=HOLDER, now=NOW, last_seen_where="Bus", last_seen_at=seen, **FACTS
    )
    assert (model.state, model.last_seen_where, model.last_seen_at, model.lost_at) == (
        "lost",
        "Bus",
        seen,
        NOW,
    )
    assert model.breach_opened_by == (HOLDER.id, NOW)
    assert model.breach_facts == {
        "category": "loss",
        "children_or_vulnerable": False,
        "special_category": None,  # not known yet
    }
    assert model.closed_at == NOW


def test_report_lost_without_a_time_is_refused():
    with pytest.raises(InputError) as refused:
        removal_machine(row("out")).send(
            "report_lost",
            actor=HOLDER,
            now=NOW,
            last_seen_where="Office",
            last_seen_at=None,
            **FACTS,
        )
    assert "last_seen_on" in refused.value.errors


def test_a_breach_that_fails_to_open_leaves_the_removal_out():
    model = row("out")

    def broken(actor, now, facts):
        raise RuntimeError("database gone")

    model.open_breach_for_loss = broken
    with pytest.raises(RuntimeError):
        removal_machine(model).send(
            "report_lost", actor=HOLDER, now=NOW, last_seen_where="Car", last_seen_at=NOW, **FACTS
        )
    assert model.state == "out"


def test_finished_removals_offer_nothing():
    for state in ("returned", "destroyed", "lost", "declined", "cancelled"):
        for actor in ACTORS.values():
            assert _enabled(state, actor) == set()


def test_unknown_stored_state_is_refused_early():
    with pytest.raises(ValueError, match="unknown state 'mislaid'"):
        removal_machine(row("mislaid"))


def test_every_state_and_event_has_a_label():
    assert {s.id for s in RemovalMachine.states} == set(STATE_LABELS)
    assert {e.id for e in RemovalMachine.events} == set(EVENT_LABELS)
