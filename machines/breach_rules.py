"""A breach case's rules: what it waits for next and who may do what (the guards of
machines/breach.py, also called for lists and boards without building a machine).

Pure: no Flask, no queries. Need-to-know as SQL is models.breaches.Breach.visible_query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from machines.breach_report import POLICE_CATEGORIES
from machines.common import (
    Actor,
    text,
)
from machines.permissions import Can
from machines.professions import PROFESSIONS, regulator_for

# Transitions that keep a case where it is: facts recorded as they arrive.
IN_STATE = frozenset(
    {
        "record_police",
        "update_report",
        "refer_to_ico",
        "write_ico_summary",
        "record_meeting",
        "caldicott_agree",
        "record_ico_outcome",
    }
)
# Of those, the ones that are a step of the procedure, offered as the next step.
IN_STATE_STEPS = frozenset({"record_meeting", "caldicott_agree"})


def ico_referral_due(model: Any) -> bool:
    """Assessed reportable and the ICO not told yet: the referral is the case's next step."""
    return bool(model.reportable) and not model.ico_referred


def ico_outcome_missing(model: Any) -> bool:
    """Referred to the ICO, and the ICO's outcome not on record yet."""
    return bool(model.ico_referred) and not model.ico_outcome


def next_steps(events: list[str], model: Any) -> list[str]:
    """Of the events a person may send, those that are the case's next step: the ones that
    move it on, the in-state steps of the procedure (the meeting, the Caldicott Guardian's
    agreement), the ICO referral once the assessment says it is reportable, and the ICO's
    outcome once the case is decided (closing waits for it)."""
    return [
        event
        for event in events
        if event not in IN_STATE
        or event in IN_STATE_STEPS
        or (event == "refer_to_ico" and ico_referral_due(model))
        or (event == "record_ico_outcome" and model.state == "decided")
    ]


def close_blockers(model: Any) -> list[str]:
    """What keeps a decided case from closing, in words (none: it may close). The open
    actions are counted by the row (`model.open_action_count()`), only when asked."""
    blockers = []
    if ico_outcome_missing(model):
        blockers.append("the ICO's outcome is not recorded")
    actions = model.open_action_count()
    if actions:
        blockers.append(
            f"{actions} {'action' if actions == 1 else 'actions'} to prevent the next breach "
            f"{'is' if actions == 1 else 'are'} neither done nor accepted as not needed"
        )
    return blockers


def waiting_events(events: list[str], model: Any, actor: Actor) -> list[str]:
    """What a case waits for from this person: its next step; or, from the reporter and
    their line manager, a loss or theft's police details until the crime reference is on
    record (the breach chain may add them too, but is not asked to)."""
    waiting = next_steps(events, model)
    own_people = actor.id in (model.reported_by_id, model.reporter_manager_id)
    police_due = not police_details_complete(model) or not text(model.police_reference)
    if "record_police" in events and own_people and police_due:
        waiting.insert(0, "record_police")
    return waiting


def police_details_complete(model: Any) -> bool:
    """Loss or theft: a crime reference (or why there is none yet) and the line manager told."""
    if model.category not in POLICE_CATEGORIES:
        return True
    has_reference = bool(text(model.police_reference) or text(model.no_police_reference_reason))
    return has_reference and bool(model.line_manager_told)


def is_skippable_near_miss(model: Any) -> bool:
    """A near miss where no data left the council's control: no service user to tell."""
    return model.category == "near_miss" and model.data_left_control is False


def vulnerable_or_unknown(children_or_vulnerable: bool | None) -> bool:
    """For the severity floor: children or vulnerable adults involved, or not known yet."""
    return children_or_vulnerable is not False


# -- who may do what: the guards, plain functions of (model, actor=None) --------------------


def _in_chain(actor: Actor | None) -> bool:
    return actor is not None and actor.can(Can.HANDLE_EVERY_BREACH)


def _is_reporters_manager(actor: Actor | None, model: Any) -> bool:
    return actor is not None and actor.id == model.reporter_manager_id


def may_see_case(actor: Actor | None, model: Any) -> bool:
    """Who handles the case: the reporter, the reporter's line manager, or anyone in the
    breach chain (may_read_case adds who may only read it)."""
    return (
        _in_chain(actor)
        or _is_reporters_manager(actor, model)
        or (actor is not None and actor.id == model.reported_by_id)
    )


def may_read_case(actor: Actor | None, model: Any) -> bool:
    """Need to know to open the case: whoever may handle it (may_see_case), and the line
    manager of the person whose papers were lost or stolen (`model.holder_manager_id`).

    The procedure passes the details of a loss or theft to that line manager (Safekeep
    e-mails them a link to the case), who may not be the reporter's: another line manager
    reported it, or the holder's line manager changed. They read it; its steps stay with
    those who handle it. models.breaches.Breach.visible_query is this rule as SQL."""
    if may_see_case(actor, model):
        return True
    return (
        actor is not None
        and model.category in POLICE_CATEGORIES
        and actor.id == model.holder_manager_id
    )


def _reviews_case(actor: Actor | None, model: Any) -> bool:
    """The reporter's line manager or the breach chain: not the reporter's own judgement."""
    return _in_chain(actor) or _is_reporters_manager(actor, model)


def may_record_police(model: Any, actor: Actor | None = None) -> bool:
    """The police details of a loss or theft, at any stage until the case is closed: the
    reporter, their line manager or the breach chain (the states say which stages)."""
    return model.category in POLICE_CATEGORIES and may_see_case(actor, model)


def may_update_report(model: Any, actor: Actor | None = None) -> bool:
    """Check and correct the report until the risk is assessed: whoever handles the case."""
    return may_see_case(actor, model)


def may_notify(model: Any, actor: Actor | None = None) -> bool:
    """Loss or theft waits for the police details and the line manager being told."""
    return may_see_case(actor, model) and police_details_complete(model)


def may_refer_to_ico(model: Any, actor: Actor | None = None) -> bool:
    """The breach chain records the ICO referral, once, whenever it is made (a near miss that
    kept the data in is no personal data breach: nothing to refer)."""
    return _in_chain(actor) and not model.ico_referred and not is_skippable_near_miss(model)


def may_write_ico_summary(model: Any, actor: Actor | None = None) -> bool:
    """The Information and Records Manager writes what the ICO is told, until the case is
    closed (a near miss that kept the data in is no personal data breach: nothing to tell)."""
    return (
        actor is not None and actor.can(Can.WRITE_ICO_SUMMARY) and not is_skippable_near_miss(model)
    )


def may_assess_risk(model: Any, actor: Actor | None = None) -> bool:
    return _reviews_case(actor, model)


def may_record_meeting(model: Any, actor: Actor | None = None) -> bool:
    return may_see_case(actor, model)


def may_inform_service_user(model: Any, actor: Actor | None = None) -> bool:
    """The letter, after the face-to-face meeting is on record."""
    return may_see_case(actor, model) and model.informed_in_person_on is not None


def may_record_exemption(model: Any, actor: Actor | None = None) -> bool:
    """Only the Caldicott Guardian approves not telling the service user."""
    return actor is not None and actor.can(Can.APPROVE_EXEMPTION)


def may_skip_informing(model: Any, actor: Actor | None = None) -> bool:
    return is_skippable_near_miss(model) and _reviews_case(actor, model)


def skip_refused_as_not_a_near_miss(actor: Actor | None, model: Any) -> bool:
    """Someone who could skip telling for a near miss that kept the data in, on a case that
    is not one: refused for what the case is (409), not for who they are (403)."""
    return _reviews_case(actor, model) and not is_skippable_near_miss(model)


def may_agree_decision(model: Any, actor: Actor | None = None) -> bool:
    """The Caldicott Guardian records their own agreement, once, before the decision."""
    return (
        actor is not None
        and actor.can(Can.AGREE_BREACH_DECISION)
        and model.caldicott_agreed_at is None
    )


def may_decide(model: Any, actor: Actor | None = None) -> bool:
    """The Assistant Director, once the Caldicott Guardian has agreed."""
    return (
        actor is not None and actor.can(Can.DECIDE_BREACH) and model.caldicott_agreed_at is not None
    )


def decision_waits_for_caldicott(actor: Actor | None, model: Any) -> bool:
    """The Assistant Director asked to decide before the Caldicott Guardian agreed: refused
    for where the case is (409), not for who they are."""
    return actor is not None and actor.can(Can.DECIDE_BREACH) and model.caldicott_agreed_at is None


def may_close(model: Any, actor: Actor | None = None) -> bool:
    """The Information and Records Manager, once the ICO's outcome (when it was referred) and
    every action are on record."""
    return actor is not None and actor.can(Can.CLOSE_BREACH) and not close_blockers(model)


def close_refused_for_the_case(actor: Actor | None, model: Any) -> bool:
    """Someone who may close cases, on a case whose follow-through is not finished: refused
    for where the case is (409), not for who they are."""
    return actor is not None and actor.can(Can.CLOSE_BREACH) and bool(close_blockers(model))


def may_record_ico_outcome(model: Any, actor: Actor | None = None) -> bool:
    """Whoever handles the ICO records its outcome, once, after the referral and once every
    question it asked and the follow-up report it is owed are answered."""
    return (
        actor is not None
        and actor.can(Can.FOLLOW_UP_WITH_ICO)
        and ico_outcome_missing(model)
        and model.open_ico_item_count() == 0
    )


def outcome_waits_for_answers(actor: Actor | None, model: Any) -> bool:
    """The ICO's outcome asked for while something it is owed is still open: 409, with why."""
    return (
        actor is not None
        and actor.can(Can.FOLLOW_UP_WITH_ICO)
        and ico_outcome_missing(model)
        and model.open_ico_item_count() > 0
    )


@dataclass(frozen=True)
class StaffMember:
    """The member of staff whose conduct is in question, as the decision needs them."""

    id: int
    name: str
    profession: str | None


NO_ONE = "no_one"  # the decision's answer when no one's conduct is in question


def regulator_of(staff: StaffMember | None) -> str | None:
    """The regulator key a referral of this person would go to (None: not known)."""
    return regulator_for(staff.profession) if staff is not None else None


PROFESSION_LABELS = dict(PROFESSIONS)
