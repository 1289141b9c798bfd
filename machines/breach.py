"""Breach of confidentiality: one case from its report to its closing (DOMAIN.md §2-4).

Anyone reports a breach or near miss. The procedure's list of people is told, the risk is
placed on the 5x5 grid, the service user is told (face to face, then in writing, on the days
each happened) unless the Caldicott Guardian approves an exemption, the Caldicott Guardian
records their agreement and the Assistant Director decides what follows, and the Information
and Records Manager closes the case with the lessons learned.

Some facts arrive while the case moves on, and are recorded where it stands (in-state
transitions, audited like every change): the police crime reference (often days after the
loss), the ICO referral (which stops the 72-hour clock as soon as it is made), corrections
to the report until the risk is assessed, the face-to-face meeting before the letter.

No Flask, no queries: the row is any object with the attributes of models.breaches.Breach,
and the one effect that touches other rows (the notifications) is a method on it.
Need-to-know visibility is the model's (Breach.visible_to), not the machine's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from statemachine import Event, State, StateMachine

from machines import breach_checks
from machines.breach_clocks import ico_deadline
from machines.breach_report import (
    CONTAINMENT_ACTIONS,
    REPORT_DETAIL_FIELDS,
    required_recipients,
    validate_report_details,
)
from machines.breach_rules import (
    StaffMember,
    may_agree_decision,
    may_assess_risk,
    may_close,
    may_decide,
    may_inform_service_user,
    may_notify,
    may_record_exemption,
    may_record_ico_outcome,
    may_record_meeting,
    may_record_police,
    may_refer_to_ico,
    may_skip_informing,
    may_update_report,
    may_write_ico_summary,
    regulator_of,
    vulnerable_or_unknown,
)
from machines.common import (
    Actor,
    as_date,
    as_datetime,
    confirmed,
    event_labels,
    machine_for,
    plain_guards,
    state_labels,
    stays_in,
    text,
)
from machines.ico_follow_up import (
    normalise_ico_reference,
)
from machines.risk import Grid, assess


@plain_guards
class BreachMachine(StateMachine):
    """One breach or near miss: reported, notified, assessed, service user told, decided.

    {statechart:md}
    """

    reported = State("Reported", initial=True)
    notified = State("Notified")
    risk_assessed = State("Risk assessed")
    service_user_informed = State("Service user informed")
    decided = State("Decided")
    closed = State("Closed", final=True)

    # In-state transitions (self-transitions): facts recorded where the case stands, so they
    # are version-checked and audited by the one transition path like every other change.
    record_police = Event(
        stays_in(
            reported,
            notified,
            risk_assessed,
            service_user_informed,
            decided,
            cond=may_record_police,
            validators="validate_record_police",
        ),
        name="Save the police details",
    )
    update_report = Event(
        stays_in(reported, notified, cond=may_update_report, validators="validate_update_report"),
        name="Save the checked report",
    )
    # The ICO is told as soon as someone judges it reportable: the referral stops the clock
    # wherever the case is, and the decision then refers to it.
    refer_to_ico = Event(
        stays_in(
            reported,
            notified,
            risk_assessed,
            service_user_informed,
            cond=may_refer_to_ico,
            validators="validate_refer_to_ico",
        ),
        name="Record the ICO referral",
    )
    # What the ICO is told, written for it by the Information and Records Manager: the ICO
    # draft is built from this and the case's structured answers, never from a report's text.
    write_ico_summary = Event(
        stays_in(
            reported,
            notified,
            risk_assessed,
            service_user_informed,
            decided,
            cond=may_write_ico_summary,
            validators="validate_write_ico_summary",
        ),
        name="Save the summary for the ICO",
    )
    # How the ICO ended its case: closing a referred case waits for it.
    record_ico_outcome = Event(
        stays_in(
            reported,
            notified,
            risk_assessed,
            service_user_informed,
            decided,
            cond=may_record_ico_outcome,
            validators="validate_record_ico_outcome",
        ),
        name="Record the ICO's outcome",
    )
    notify = Event(
        reported.to(notified, cond=may_notify, validators="validate_notify"),
        name="Record who was told",
    )
    assess_risk = Event(
        notified.to(risk_assessed, cond=may_assess_risk, validators="validate_assess_risk"),
        name="Record the risk assessment",
    )
    # Face to face first, then in writing, each on the day it happened.
    record_meeting = Event(
        risk_assessed.to.itself(cond=may_record_meeting, validators="validate_record_meeting"),
        name="Record the face-to-face meeting",
    )
    # Three ways past the service user step: told, exempt, or a near miss with no one to tell.
    inform_service_user = Event(
        risk_assessed.to(
            service_user_informed,
            cond=may_inform_service_user,
            validators="validate_inform_service_user",
        ),
        name="Record the letter",
    )
    record_exemption = Event(
        risk_assessed.to(
            service_user_informed,
            cond=may_record_exemption,
            validators="validate_record_exemption",
        ),
        name="Approve the exemption",
    )
    skip_informing = Event(
        risk_assessed.to(
            service_user_informed,
            cond=may_skip_informing,
            validators="validate_skip_informing",
        ),
        name="Record that there is no one to tell",
    )
    caldicott_agree = Event(
        service_user_informed.to.itself(
            cond=may_agree_decision, validators="validate_caldicott_agree"
        ),
        name="Record your agreement",
    )
    decide = Event(
        service_user_informed.to(decided, cond=may_decide, validators="validate_decide"),
        name="Record the decision",
    )
    close = Event(
        decided.to(closed, cond=may_close, validators="validate_close"),
        name="Close the case",
    )

    # What each step must be given (every error at once, only for someone the guard lets
    # send the event): machines/breach_checks.py.
    validate_record_police = breach_checks.validate_record_police
    validate_update_report = breach_checks.validate_update_report
    validate_refer_to_ico = breach_checks.validate_refer_to_ico
    validate_record_ico_outcome = breach_checks.validate_record_ico_outcome
    validate_write_ico_summary = breach_checks.validate_write_ico_summary
    validate_notify = breach_checks.validate_notify
    validate_assess_risk = breach_checks.validate_assess_risk
    validate_record_meeting = breach_checks.validate_record_meeting
    validate_inform_service_user = breach_checks.validate_inform_service_user
    validate_record_exemption = breach_checks.validate_record_exemption
    validate_skip_informing = breach_checks.validate_skip_informing
    validate_caldicott_agree = breach_checks.validate_caldicott_agree
    validate_decide = breach_checks.validate_decide
    validate_close = breach_checks.validate_close

    # Actions: run only after the guard and validators passed; they set the row's fields.
    # Saving the row is the caller's (the audit listener's after_transition).

    def on_record_police(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        police_reference: Any = None,
        no_police_reference_reason: Any = None,
        police_officer: Any = None,
        police_told_at: Any = None,
        line_manager_told: Any = None,
    ) -> None:
        model.police_reference = text(police_reference) or None
        model.no_police_reference_reason = text(no_police_reference_reason) or None
        model.police_officer = text(police_officer) or None
        model.police_told_at = as_datetime(police_told_at)
        if model.police_reference and not model.police_recorded_at:
            model.police_recorded_at = now
        # Once told, told: a later save without the box ticked does not untell them.
        if confirmed(line_manager_told) and not model.line_manager_told:
            model.line_manager_told = True
            model.line_manager_told_by_id = actor.id
            model.line_manager_told_at = now

    def on_update_report(self, model: Any, now: dt.datetime, **data: Any) -> None:
        details = validate_report_details(data, now)
        for key in REPORT_DETAIL_FIELDS:
            value = details[key]
            setattr(model, key, ",".join(value) if key == "data_categories" else value)

    def on_refer_to_ico(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        ico_referred_at: dt.datetime,
        ico_reference: Any = None,
        ico_told_by: Any = None,
        delay_reason: Any = None,
    ) -> None:
        late = ico_referred_at > ico_deadline(model.discovered_at)
        model.ico_referred = True
        model.ico_referred_at = ico_referred_at
        model.ico_reference = normalise_ico_reference(ico_reference)
        model.ico_told_by = text(ico_told_by)
        model.ico_recorded_by_id = actor.id
        model.delay_reason = text(delay_reason) if late else None

    def on_record_ico_outcome(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        ico_outcome: Any = None,
        ico_outcome_on: Any = None,
        ico_outcome_note: Any = None,
    ) -> None:
        model.ico_outcome = ico_outcome
        model.ico_outcome_on = as_date(ico_outcome_on)
        model.ico_outcome_note = text(ico_outcome_note) or None
        model.ico_outcome_by_id = actor.id
        model.ico_outcome_at = now

    def on_notify(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        notifications: Mapping[str, Mapping[str, Any]] | None = None,
        media_advised: Any = None,
        media_reason: Any = None,
    ) -> None:
        given = notifications or {}
        already = model.told_recipients()
        told = {
            key: {"who": text(given[key]["who"]), "at": given[key]["at"]}
            for key, _ in required_recipients(model.category)
            if key not in already
        }
        # The notification rows are written in the caller's transaction.
        model.record_notifications(told, actor=actor, now=now)
        model.notified_at = now
        model.media_advised = media_advised
        model.media_reason = text(media_reason)

    def on_assess_risk(
        self,
        model: Any,
        now: dt.datetime,
        likelihood: int,
        severity: int,
        likely_outcomes: Any = None,
        actions_taken: Any = None,
        reportable_override: bool | None = None,
        reportable_reason: Any = None,
        grid: Grid | None = None,
    ) -> None:
        children = vulnerable_or_unknown(model.children_or_vulnerable)
        result = assess(likelihood, severity, children, grid)
        reportable = result.reportable if reportable_override is None else reportable_override
        overridden = reportable != result.reportable
        model.likelihood = result.likelihood
        model.severity = result.severity
        model.reportable = reportable
        # High risk to people is a risk to them: not reportable means not high risk either.
        model.high_risk = result.high_risk and reportable
        model.reportable_reason = text(reportable_reason)
        model.override_reason = text(reportable_reason) if overridden else None
        model.likely_outcomes = text(likely_outcomes)
        model.actions_taken = text(actions_taken)
        model.assessed_at = now

    def on_write_ico_summary(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        ico_summary: Any = None,
        ico_late_reason: Any = None,
        containment_actions: Any = None,
    ) -> None:
        chosen = {text(action) for action in containment_actions or ()}
        model.ico_summary = text(ico_summary)
        model.ico_late_reason = text(ico_late_reason) or None
        model.containment_actions = ",".join(k for k, _ in CONTAINMENT_ACTIONS if k in chosen)
        model.ico_summary_by_id = actor.id
        model.ico_summary_at = now

    def on_record_meeting(self, model: Any, informed_in_person_on: Any = None) -> None:
        model.informed_in_person_on = as_date(informed_in_person_on)

    def on_inform_service_user(
        self, model: Any, now: dt.datetime, informed_in_writing_on: Any = None
    ) -> None:
        model.informed_in_writing_on = as_date(informed_in_writing_on)
        model.informed_at = now

    def on_record_exemption(
        self, model: Any, now: dt.datetime, exemption_reason: Any = None
    ) -> None:
        model.exemption_reason = text(exemption_reason)
        model.informed_at = now

    def on_skip_informing(self, model: Any, now: dt.datetime, skip_reason: Any = None) -> None:
        model.skip_reason = text(skip_reason)
        model.informed_at = now

    def on_caldicott_agree(
        self, model: Any, actor: Actor, now: dt.datetime, caldicott_advice: Any = None
    ) -> None:
        model.caldicott_agreed_by_id = actor.id
        model.caldicott_agreed_at = now
        model.caldicott_advice = text(caldicott_advice)

    def on_decide(
        self,
        model: Any,
        actor: Actor,
        now: dt.datetime,
        legal_advice: Any = None,
        disciplinary: bool | None = None,
        not_referred_reason: Any = None,
        staff_member: StaffMember | str | None = None,
        refer_to_regulator: bool | None = None,
    ) -> None:
        model.decided_by_id = actor.id
        model.decided_at = now
        model.legal_advice = confirmed(legal_advice)
        model.disciplinary = disciplinary
        if not model.ico_referred:
            model.ico_referred = False
            model.not_referred_reason = text(not_referred_reason) or None
        model.staff_member_id = staff_member.id if isinstance(staff_member, StaffMember) else None
        model.regulator = regulator_of(staff_member) if refer_to_regulator else "none"

    def on_close(
        self, model: Any, actor: Actor, now: dt.datetime, lessons_learned: Any = None
    ) -> None:
        model.closed_by_id = actor.id
        model.closed_at = now
        model.report_complete = True
        model.lessons_learned = text(lessons_learned)


STATE_IDS: frozenset[str] = frozenset(s.id for s in BreachMachine.states)


STATE_LABELS: dict[str, str] = state_labels(BreachMachine)
# Button texts; the keys are the event ids the views post to (/breaches/<id>/<event>).
EVENT_LABELS: dict[str, str] = event_labels(BreachMachine)


def breach_machine(model: Any, listeners: Iterable[object] = ()) -> BreachMachine:
    """Build the machine for one breach row; ValueError when its stored state is unknown."""
    return machine_for(BreachMachine, model, listeners)
