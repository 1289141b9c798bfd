"""The removal machine: its whole transition table, who may do what, and what it asks for."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines.common import Actor, InputError
from machines.removal import EVENT_LABELS, STATE_LABELS, RemovalMachine, removal_machine
from machines.training import Training

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
    "destroy": {"method": "shredded", "witness": COLLEAGUE},
    "report_lost": {
        "last_seen_where": "Team car",
        "last_seen_at": NOW - dt.timedelta(hours=3),
        "category": "theft",
        "children_or_vulnerable": "yes",
        "special_category": "not_known",
    },
    "ask_extension": {"new_due_on": NOW.date() + dt.timedelta(days=7), "reason": "Final hearing"},
    "agree_extension": {},
    "refuse_extension": {"reason": "Bring them back"},
    "extend": {"new_due_on": NOW.date() + dt.timedelta(days=7), "reason": "Hearing adjourned"},
    "confirm_location": {"where": "Locked in her car", "how": "phone", "confirmed_on": NOW.date()},
}
FACTS = {"category": "loss", "children_or_vulnerable": "no", "special_category": "not_known"}


class Row(SimpleNamespace):
    """A removal row as the machine sees it."""

    def open_breach_for_loss(self, actor, now, facts):
        self.breach_opened_by = (actor.id, now)
        self.breach_facts = facts


def row(state: str, purpose: str = "other", **extra) -> Row:
    fields = {
        "id": 1,
        "state": state,
        "team_id": TEAM,
        "for_user_id": HOLDER.id,
        "requested_by_id": HOLDER.id,
        "requester_manager_id": MANAGER.id,
        "purpose": purpose,
        "taken_out_at": NOW - dt.timedelta(days=3) if state == "out" else None,
        "due_on": NOW.date() - dt.timedelta(days=2),
        "closed_at": None,
        "decision_note": None,
        "breach_opened_by": None,
        "extension_due_on": None,
        "extension_reason": None,
        "extension_asked_at": None,
        "ladder_from": None,
        "reminder_round": 0,
        "papers_gone": False,
        "holder_training": Training(NOW.date() - dt.timedelta(days=30)),
    }
    return Row(**{**fields, **extra})


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
    ("out", "ask_extension"): ({"holder"}, "out"),
    ("out", "extend"): ({"manager", "team_manager"}, "out"),
    ("out", "confirm_location"): ({"manager", "team_manager"}, "out"),
    # agree_extension and refuse_extension need an ask waiting: see the tests below.
}


def _outcome(state, event, who):
    """What happens when `who` sends `event` in `state`: the state reached, or "refused"."""
    model = row(state)
    # "request" is sent for the row being created: the colleague asks for it for themselves.
    if event == "request" and who != "holder":
        model.for_user_id = model.requested_by_id = ACTORS[who].id
    machine = removal_machine(model)
    try:
        machine.send(event, actor=ACTORS[who], now=NOW, **GOOD_INPUT[event])
    except TransitionNotAllowed:
        return "refused" if model.state == state else f"refused, but moved to {model.state}"
    except Exception as error:  # noqa: BLE001 - reported as this cell's answer
        return f"raised {error!r}"
    return model.state


# The whole state x event x actor table, one test per state: every cell is still tried,
# and a failure lists every wrong cell of that state at once.
@pytest.mark.parametrize("state", list(STATE_LABELS))
def test_transition_table(state):
    wrong = []
    for event in EVENT_LABELS:
        allowed, target = TABLE.get((state, event), (set(), None))
        for who in ACTORS:
            expected = target if who in allowed else "refused"
            answer = _outcome(state, event, who)
            if answer != expected:
                wrong.append(f"{state} --{event}--> by {who}: {answer}, expected {expected}")
    assert not wrong, "\n".join(wrong)


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


@pytest.mark.parametrize("purpose", ["court", "other"])
def test_papers_destroyed_or_lost_before_cannot_be_asked_for_again(purpose):
    model = row("in_office", purpose=purpose, papers_gone=True)
    assert "request" not in {
        e.id for e in removal_machine(model).enabled_events(actor=HOLDER, now=NOW)
    }
    with pytest.raises(TransitionNotAllowed):
        removal_machine(model).send("request", actor=HOLDER, now=NOW)
    assert model.state == "in_office"


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
        removal_machine(model).send("destroy", actor=HOLDER, now=NOW, method="burnt", witness=None)
    assert refused.value.errors == {
        "method": "Select how the papers were destroyed",
        "witness": "Select who saw the papers destroyed",
    }
    removal_machine(model).send(
        "destroy", actor=HOLDER, now=NOW, method="confidential_waste", witness=COLLEAGUE
    )
    assert (model.state, model.destruction_method, model.witnessed_by_id, model.closed_at) == (
        "destroyed",
        "confidential_waste",
        COLLEAGUE.id,
        NOW,
    )


KIOSK = Actor(50, frozenset({"kiosk"}), TEAM)


@pytest.mark.parametrize(
    ("recorder", "witness", "message"),
    [
        (HOLDER, HOLDER, "The witness must be someone other than the person who had them"),
        (MANAGER, HOLDER, "The witness must be someone other than the person who had them"),
        (MANAGER, MANAGER, "The witness must be someone other than you"),
        (HOLDER, OUTSIDE_MANAGER, "Select a member of the team as the witness"),
        (HOLDER, DIRECTOR, "Select a member of the team as the witness"),
        (HOLDER, KIOSK, "Select a member of the team as the witness"),
        (HOLDER, "Sam Lee", "Select who saw the papers destroyed"),  # a typed name is no one
    ],
)
def test_the_witness_is_another_member_of_the_team(recorder, witness, message):
    model = row("out")
    with pytest.raises(InputError) as refused:
        removal_machine(model).send(
            "destroy", actor=recorder, now=NOW, method="shredded", witness=witness
        )
    assert refused.value.errors == {"witness": message}
    assert model.state == "out"


@pytest.mark.parametrize(
    ("recorder", "witness"), [(HOLDER, COLLEAGUE), (MANAGER, COLLEAGUE), (MANAGER, TEAM_MANAGER)]
)
def test_a_colleague_may_witness(recorder, witness):
    model = row("out")
    removal_machine(model).send(
        "destroy", actor=recorder, now=NOW, method="shredded", witness=witness
    )
    assert (model.state, model.witnessed_by_id) == ("destroyed", witness.id)


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


# -- More time, and whereabouts confirmed ----------------------------------------------------


def asked(**extra) -> Row:
    return row(
        "out",
        **{
            "extension_due_on": NOW.date() + dt.timedelta(days=5),
            "extension_reason": "Final hearing moved",
            "extension_asked_at": NOW - dt.timedelta(hours=1),
            **extra,
        },
    )


@pytest.mark.parametrize("who", list(ACTORS))
def test_an_ask_for_more_time_is_answered_by_whoever_may_agree_requests(who):
    expected = (
        {"agree_extension", "refuse_extension"} if who in ("manager", "team_manager") else set()
    )
    enabled = _enabled_for(asked(), ACTORS[who])
    assert enabled & {"agree_extension", "refuse_extension", "extend", "ask_extension"} == expected


def test_the_holder_asks_once_and_the_manager_agrees_moving_the_date_and_the_ladder():
    model = row("out", ladder_from=NOW.date() - dt.timedelta(days=1), reminder_round=2)
    machine = removal_machine(model)
    new_date = NOW.date() + dt.timedelta(days=10)
    machine.send("ask_extension", actor=HOLDER, now=NOW, new_due_on=new_date, reason=" Hearing ")
    assert (model.extension_due_on, model.extension_reason, model.extension_asked_at) == (
        new_date,
        "Hearing",
        NOW,
    )
    assert model.reminder_round == 2  # asking restarts nothing
    assert "ask_extension" not in _enabled_for(model, HOLDER)  # one ask at a time
    assert "extend" not in _enabled_for(model, MANAGER)  # the ask is answered instead
    machine.send("agree_extension", actor=MANAGER, now=NOW)
    assert (model.state, model.due_on, model.extended_at) == ("out", new_date, NOW)
    assert (model.ladder_from, model.reminder_round) == (None, 3)
    assert model.extension_due_on is None and model.extension_reason is None


def test_a_refusal_needs_a_reason_and_leaves_the_date():
    model = asked()
    machine = removal_machine(model)
    with pytest.raises(InputError) as refused:
        machine.send("refuse_extension", actor=MANAGER, now=NOW, reason="")
    assert refused.value.errors == {"reason": "Enter why you are refusing"}
    due = model.due_on
    machine.send("refuse_extension", actor=MANAGER, now=NOW, reason="Needed for the audit")
    assert (model.due_on, model.extension_due_on, model.reminder_round) == (due, None, 0)


@pytest.mark.parametrize(
    ("new_due_on", "message"),
    [
        (None, "Enter the new date the papers will be back"),
        (NOW.date() - dt.timedelta(days=2), "The new date must be after 23 November 2026"),
        (NOW.date() - dt.timedelta(days=1), "The new date must be today or in the future"),
        (NOW.date() + dt.timedelta(days=400), "The new date must be within a year"),
    ],
)
def test_a_new_date_must_be_later_and_within_a_year(new_due_on, message):
    with pytest.raises(InputError) as refused:
        removal_machine(row("out")).send(
            "extend", actor=MANAGER, now=NOW, new_due_on=new_due_on, reason="Adjourned"
        )
    assert refused.value.errors == {"new_due_on": message}


def test_an_ask_whose_date_has_passed_cannot_be_agreed():
    model = asked(extension_due_on=NOW.date() - dt.timedelta(days=1))
    with pytest.raises(InputError) as refused:
        removal_machine(model).send("agree_extension", actor=MANAGER, now=NOW)
    assert "extend the return date instead" in refused.value.errors["note"]


def test_confirming_the_whereabouts_restarts_the_reminders_from_today():
    model = row("out", reminder_round=1)
    removal_machine(model).send(
        "confirm_location",
        actor=MANAGER,
        now=NOW,
        where=" In her locked drawer at home ",
        how="video_call",
        confirmed_on=NOW.date(),
    )
    assert (model.state, model.location_where, model.location_confirmed_how) == (
        "out",
        "In her locked drawer at home",
        "video_call",
    )
    assert (model.location_confirmed_on, model.location_confirmed_by_id) == (NOW.date(), MANAGER.id)
    assert (model.ladder_from, model.reminder_round) == (NOW.date(), 2)
    assert model.due_on == NOW.date() - dt.timedelta(days=2)  # still overdue: the date stays


def test_confirming_before_the_return_date_never_brings_the_reminders_forward():
    model = row("out", due_on=NOW.date() + dt.timedelta(days=4))
    removal_machine(model).send(
        "confirm_location",
        actor=MANAGER,
        now=NOW,
        where="Court",
        how="phone",
        confirmed_on=NOW.date(),
    )
    assert model.ladder_from == model.due_on


def test_confirming_needs_where_how_and_a_past_date_after_the_papers_went_out():
    with pytest.raises(InputError) as refused:
        removal_machine(row("out")).send(
            "confirm_location",
            actor=MANAGER,
            now=NOW,
            where="",
            how="telepathy",
            confirmed_on=NOW.date() + dt.timedelta(days=1),
        )
    assert refused.value.errors == {
        "where": "Enter where the papers are",
        "how": "Select how you checked with the person who has the papers",
        "confirmed_on": "The date you checked must be today or in the past",
    }
    with pytest.raises(InputError) as early:
        removal_machine(row("out")).send(
            "confirm_location",
            actor=MANAGER,
            now=NOW,
            where="Car",
            how="phone",
            confirmed_on=NOW.date() - dt.timedelta(days=30),
        )
    assert early.value.errors == {
        "confirmed_on": "The date you checked must be after the papers went out"
    }


def test_a_line_managers_own_overdue_papers_are_given_time_by_her_own_manager():
    director = Actor(40, frozenset({"director"}), 9)
    model = row("out", requester_manager_id=director.id)
    model.for_user_id = model.requested_by_id = MANAGER.id
    assert "extend" in _enabled_for(model, director)
    assert "confirm_location" in _enabled_for(model, director)
    assert "extend" not in _enabled_for(model, MANAGER)  # never her own


# -- The kiosk: papers in hand ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "at_kiosk", "allowed"),
    [
        ("colleague", True, True),  # back for a colleague who is away
        ("colleague", False, False),  # on a laptop the papers are not in hand
        ("outside_manager", True, False),
        ("director", True, False),
        ("holder", False, True),
        ("team_manager", False, True),
    ],
)
def test_any_member_of_the_team_returns_papers_at_the_kiosk(who, at_kiosk, allowed):
    model = row("out")
    kiosk_id = 99 if at_kiosk else None
    machine = removal_machine(model)
    enabled = {e.id for e in machine.enabled_events(actor=ACTORS[who], now=NOW, kiosk_id=kiosk_id)}
    assert ("return_papers" in enabled) is allowed
    if allowed:
        machine.send("return_papers", actor=ACTORS[who], now=NOW, kiosk_id=kiosk_id)
        assert (model.state, model.returned_by_id) == ("returned", ACTORS[who].id)
    else:
        with pytest.raises(TransitionNotAllowed):
            machine.send("return_papers", actor=ACTORS[who], now=NOW, kiosk_id=kiosk_id)
