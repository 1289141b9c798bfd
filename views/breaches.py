"""Breach handling: report, walk the case through its lifecycle, and the reports it needs."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from machines import breach_action, breach_clocks, breach_report, breach_rules, clock, ico_follow_up
from machines.breach import EVENT_LABELS, STATE_LABELS, BreachMachine, breach_machine
from machines.breach_action import BreachActionMachine
from machines.common import InputError, enabled_events, normalise_case_id, whole_number
from machines.dispatch import METHODS
from machines.ico_follow_up import IcoItemMachine
from machines.permissions import Can
from machines.professions import regulator_for
from machines.risk import assess, grid_rows, grid_scales
from models.base import write_transaction
from models.breaches import Breach, Notification
from models.deliveries import Delivery
from models.follow_through import BreachAction, IcoItem
from services.deliveries import needs_follow_up
from services.message_kinds import KIND_LABELS
from services.training import involved_training
from views.access import visible_or_404
from views.display import delivery_words, link, uk_datetime
from views.forms import FormErrors
from views.forms.breaches import GRID, ReportBreach, UpdateReport, event_form
from views.paging import count_bound, page_of_window
from views.transitions import (
    Lifecycle,
    cannot_now,
    changed_meanwhile,
    run_event,
    status_panel,
    timeline,
)

bp = Blueprint("breaches", __name__)


# -- Lists -------------------------------------------------------------------------------


@bp.get("/breaches")
def index():
    total, more = Breach.count_visible(current_user, bound=count_bound())
    listed = page_of_window(
        total, lambda offset, limit: Breach.visible_page(current_user, offset, limit), more=more
    )
    cases = listed.rows
    now = clock.now()
    return render_template(
        "breaches/index.html",
        title="Breach cases",
        cases=cases,
        pages=listed.pages,
        pagination=listed.links("breaches.index", "Pages of breach cases"),
        total=listed.total,
        more=listed.more,
        state_labels=STATE_LABELS,
        categories=dict(breach_report.CATEGORIES),
        clocks={c.id: breach_clocks.case_clock(c, now) for c in cases},
    )


# -- Reporting ---------------------------------------------------------------------------


@bp.get("/breaches/new")
@bp.post("/breaches/new")
def report():
    form = ReportBreach()
    errors = FormErrors()
    if request.method == "POST":
        errors = form.check()
        try:
            # Asked even when the form could not read everything: every error shows at once.
            cleaned = breach_report.validate_report(form.values, clock.now())
        except InputError as error:
            errors.add_all(error.errors)
        if not errors:
            breach = _open_case(cleaned, normalise_case_id(form.case_id.data) or None)
            return redirect(url_for("breaches.show", breach_id=breach.id), code=303)
        errors = errors.in_order(form.field_names)
    return render_template(
        "breaches/report.html",
        title="Report a breach or near miss",
        form=form.typed() if request.method == "POST" else {"data_categories": []},
        errors=errors,
        categories=breach_report.CATEGORIES,
        data_categories=breach_report.DATA_CATEGORIES,
    ), 422 if errors else 200


def _open_case(cleaned: dict, case_id: str | None) -> Breach:
    now = clock.now()
    with write_transaction():
        breach = Breach.open_case(cleaned, reporter=current_user, now=now, case_id=case_id)
    return breach


def case_emails(breach: Breach, now) -> dict:
    """Safekeep's e-mails about the case, each with what became of it, in words."""
    emails = Delivery.of_subject("breach", breach.id)
    return {
        "emails": [(d, delivery_words(d, now)) for d in emails],
        "email_words": {d.id: delivery_words(d, now) for d in emails},
        "kind_labels": KIND_LABELS,
        # Raised and not dealt with: the Information and Records Manager records telling them.
        "to_follow_up": {d.id for d in emails if needs_follow_up(d)}
        if current_user.can(Can.FOLLOW_UP_UNDELIVERED)
        else set(),
    }


# -- The case page -----------------------------------------------------------------------


def _case_context(breach: Breach, errors=None, form=None, preview=None) -> dict:
    now = clock.now()
    events = enabled_events(BreachMachine, breach, current_user.as_actor(), now)
    steps = breach_rules.next_steps(events, breach)
    return {
        **status_panel(steps, EVENT_LABELS, STATE_LABELS, errors, form),
        "breach": breach,
        "categories": dict(breach_report.CATEGORIES),
        "data_categories": dict(breach_report.DATA_CATEGORIES),
        "recipients": breach_report.required_recipients(breach.category),
        "notifications": list(breach.notifications.order_by(Notification.at)),
        **case_emails(breach, now),
        "clock": breach_clocks.case_clock(breach, now),
        "grid": GRID,
        "grid_scales": grid_scales(GRID),
        "grid_rows": grid_rows(GRID),
        "preview": preview,
        "can_update_police": "record_police" in events,
        "can_update_report": "update_report" in events,
        # Offered beside the steps when it is not the next step (yet): anyone in the chain
        # may record a referral made early, before the assessment.
        "can_refer_early": "refer_to_ico" in events and "refer_to_ico" not in steps,
        "opened_automatically": _opened_automatically(breach),
        "linked": linked_items(breach),
        "answers": dict(breach_report.ANSWERS),
        "staff_choices": breach.staff_choices() if "decide" in events else [],
        "professions": breach_rules.PROFESSION_LABELS,
        "regulators": dict(breach_report.REGULATORS),
        "regulator_of": lambda user: regulator_for(user.profession),
        **_follow_through(breach, events, now),
    }


def _follow_through(breach: Breach, events: list[str], now) -> dict:
    """After the referral and the decision: what the ICO is owed, its outcome, the actions,
    and what still keeps the case from closing."""
    actor = current_user.as_actor()
    probe_item = IcoItem(breach=breach)
    probe_item.breach = breach
    probe_action = BreachAction(breach=breach)
    probe_action.breach = breach
    decided = breach.state == "decided"
    return {
        "ico_items": list(IcoItem.of_case(breach.id)) if breach.ico_referred else [],
        "actions": list(BreachAction.of_case(breach.id)),
        "today": clock.uk_today(),
        "can_add_ico_item": "record" in enabled_events(IcoItemMachine, probe_item, actor, now),
        "can_add_action": "add" in enabled_events(BreachActionMachine, probe_action, actor, now),
        "can_record_outcome": "record_ico_outcome" in events,
        "outcomes": dict(ico_follow_up.OUTCOMES),
        "item_kinds": dict(ico_follow_up.KINDS),
        "item_states": ico_follow_up.STATE_LABELS,
        "action_states": breach_action.STATE_LABELS,
        "action_categories": breach_action.CATEGORY_LABELS,
        "close_blockers": breach_rules.close_blockers(breach) if decided else [],
        "outcome_waits": breach_rules.outcome_waits_for_answers(actor, breach),
    }


def linked_items(breach: Breach) -> list[tuple[str, Markup]]:
    """What the case was opened from, named both ways: the lost removal (with its record)
    and the misdirected dispatch, each a link for those who may see it."""
    items = []
    if breach.removal_id:
        removal, record = breach.removal, breach.record
        words = (
            f"Removal {removal.id} of {record.description}, held by {removal.for_user.display_name}"
        )
        href = url_for("records.show", record_id=record.id)
        items.append(
            ("Lost papers", link(href, words) if record.visible_to(current_user) else escape(words))
        )
    if breach.dispatch_id:
        dispatch = breach.dispatch
        method = dict(METHODS).get(dispatch.method, dispatch.method).lower()
        words = (
            f"Dispatch {dispatch.id}: {dispatch.description}, sent "
            f"{uk_datetime(dispatch.sent_at)} by {method}"
        )
        href = url_for("dispatches.show", dispatch_id=dispatch.id)
        items.append(
            (
                "Misdirected dispatch",
                link(href, words) if dispatch.visible_to(current_user) else escape(words),
            )
        )
    return items


def _opened_automatically(breach: Breach) -> str | None:
    """What opened the case when the system did (a lost removal, a misdirected dispatch)."""
    if breach.removal_id:
        return "papers were reported lost"
    if breach.dispatch_id:
        return "documents were reported sent to the wrong recipient"
    return None


@bp.get("/breaches/<int:breach_id>")
def show(breach_id: int):
    breach = visible_or_404(Breach, breach_id)
    return _render_case(breach)


def _render_case(breach: Breach, errors=None, form=None, status=200, preview=None):
    return render_template(
        "breaches/show.html",
        title=f"Breach {breach.reference}",
        timeline=timeline(CASES, breach),
        involved=involved_training(breach),
        **_case_context(breach, errors, form, preview),
    ), status


# -- Transitions -------------------------------------------------------------------------


def _refused_for_the_case(event: str, breach: Breach) -> str | None:
    """Why the machine's guard said no when it is about the case, not the person's role."""
    may_handle = breach_rules.may_see_case(current_user.as_actor(), breach)
    if event == "notify" and may_handle and not breach_rules.police_details_complete(breach):
        return (
            "Record the police crime reference (or why there is none yet) and that the "
            "line manager was told before the case can be notified."
        )
    if (
        event == "skip_informing"
        and breach.state == "risk_assessed"
        and breach_rules.skip_refused_as_not_a_near_miss(current_user.as_actor(), breach)
    ):
        return (
            "Only a near miss where no data left the council's control can skip telling "
            "the service user."
        )
    if (
        event == "record_police"
        and may_handle
        and breach.category not in breach_report.POLICE_CATEGORIES
    ):
        return "Police details are for a loss or theft."
    if event == "decide" and breach_rules.decision_waits_for_caldicott(
        current_user.as_actor(), breach
    ):
        return (
            "The Caldicott Guardian records their agreement first: the decision can be "
            "recorded once they have."
        )
    actor = current_user.as_actor()
    if event == "close" and breach_rules.close_refused_for_the_case(actor, breach):
        return f"The case cannot close yet: {_and(breach_rules.close_blockers(breach))}."
    if event == "record_ico_outcome" and breach_rules.outcome_waits_for_answers(actor, breach):
        return (
            "Record the answers to the ICO's open questions and follow-up reports first: "
            "the outcome ends the ICO's case."
        )
    if event == "inform_service_user" and may_handle and breach.informed_in_person_on is None:
        return "Record the face-to-face meeting first: the letter follows it."
    if (
        event == "refer_to_ico"
        and breach.ico_referred
        and breach_rules.may_see_case(current_user.as_actor(), breach)
    ):
        return "The ICO referral is already recorded."
    return None


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


CASES = Lifecycle(
    model=Breach,
    factory=breach_machine,
    form_for=event_form,
    stale=changed_meanwhile("case", "It is shown as it is now: check it and try again."),
    refused=cannot_now("case", STATE_LABELS),
)

# The corrections while reported have pages of their own (the police details, the report).
URL_EVENTS = {"police": "record_police", "details": "update_report"}


@bp.post("/breaches/<int:breach_id>/<event>")
def transition(breach_id: int, event: str):
    breach = visible_or_404(Breach, breach_id)
    if event in URL_EVENTS.values():
        abort(404)  # one address per action: /police and /details
    event = URL_EVENTS.get(event, event)
    if event not in EVENT_LABELS:
        abort(404)
    if event == "update_report" and not UpdateReport(breach).changed(breach):
        return redirect(url_for("breaches.show", breach_id=breach_id), code=303)  # nothing new
    if event == "assess_risk" and request.form.get("step") == "preview":
        return _preview_risk(breach)
    outcome = run_event(
        CASES,
        breach,
        event,
        current_user.as_actor(),
        forbidden=lambda: _refused_for_the_case(event, Breach.get_by_id(breach_id)),
    )
    if outcome.done:
        return redirect(url_for("breaches.show", breach_id=breach_id), code=303)
    form = {**outcome.typed, "report_form": event == "update_report"}
    return _render_case(
        Breach.get_by_id(breach_id), outcome.errors, form, outcome.status, _preview(breach, form)
    )


def _preview(breach: Breach, typed: dict):
    """The grid's answer for the likelihood and severity on the form, if both are given."""
    likelihood = whole_number(typed.get("likelihood"), 99)
    severity = whole_number(typed.get("severity"), 99)
    if not (GRID.is_likelihood(likelihood) and GRID.is_severity(severity)):
        return None
    children = breach_rules.vulnerable_or_unknown(breach.children_or_vulnerable)
    return assess(likelihood, severity, children, GRID)


def _preview_risk(breach: Breach):
    """ "Check the result": the grid's answer before anything is saved."""
    form = event_form("assess_risk", breach)(breach)
    return _render_case(breach, {}, form.typed(), 200, _preview(breach, form.typed()))
