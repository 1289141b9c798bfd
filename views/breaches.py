"""Breach handling: report, walk the case through its lifecycle, and the reports it needs."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from machines import breach as rules
from machines.breach import EVENT_LABELS, STATE_LABELS, breach_machine
from machines.common import InputError
from machines.risk import assess, grid_scales, load_grid
from models.audit import AuditEvent
from models.base import Stale, write_transaction
from models.breaches import Breach, Notification
from models.transitions import enabled_event_ids
from services import clock
from views.forms import FormErrors, checked, date_input, form_version, page_arg, text
from views.transitions import DONE, attempt

bp = Blueprint("breaches", __name__)

GRID = load_grid()


def _breach_or_404(breach_id: int) -> Breach:
    breach = Breach.get_or_none(Breach.id == breach_id)
    if breach is None or not breach.visible_to(current_user):
        abort(404)  # someone without need to know cannot tell whether it exists
    return breach


def datetime_local(name: str, errors: FormErrors, label: str, required: bool = True):
    """Read an <input type=datetime-local> typed in UK time; return naive UTC."""
    raw = text(name, 20)
    if not raw:
        if required:
            errors.add(name, f"Enter {label}")
        return None
    try:
        return clock.from_uk(dt.datetime.fromisoformat(raw))
    except ValueError:
        errors.add(name, f"Enter {label} as a date and time, like 25/11/2026 14:30")
        return None


def yes_no(name: str, errors: FormErrors, message: str) -> bool | None:
    value = request.form.get(name)
    if value not in ("yes", "no"):
        errors.add(name, message)
        return None
    return value == "yes"


# -- Lists -------------------------------------------------------------------------------


@bp.get("/breaches")
def index():
    size = 25
    query = Breach.visible_query(current_user).order_by(Breach.discovered_at.desc(), Breach.id)
    total = query.count()
    pages = max(1, -(-total // size))
    # Past the last page shows the last page (and a huge ?page= never reaches the SQL OFFSET).
    page = min(page_arg(), pages)
    cases = list(query.paginate(page, size))
    now = clock.now()
    return render_template(
        "breaches/index.html",
        title="Breach cases",
        cases=cases,
        page=page,
        pages=pages,
        total=total,
        state_labels=STATE_LABELS,
        categories=dict(rules.CATEGORIES),
        clocks={c.id: rules.case_clock(c, now) for c in cases},
    )


# -- Reporting ---------------------------------------------------------------------------


@bp.route("/breaches/new", methods=["GET", "POST"])
def report():
    errors = FormErrors()
    form: dict = {"data_categories": []}
    if request.method == "POST":
        form = {
            key: text(key, 2000)
            for key in (
                "what_happened",
                "category",
                "people_affected",
                "records_affected",
                "police_reference",
                "no_police_reference_reason",
                "case_id",
            )
        }
        form["data_categories"] = request.form.getlist("data_categories")
        for key in ("children_or_vulnerable", "special_category", "line_manager_told"):
            form[key] = checked(key)
        form["data_left_control"] = request.form.get("data_left_control", "yes") != "no"
        form["happened_at_raw"] = text("happened_at", 20)
        form["discovered_at_raw"] = text("discovered_at", 20)
        happened = datetime_local("happened_at", errors, "when it happened")
        discovered = datetime_local("discovered_at", errors, "when it was discovered")
        if not errors:
            try:
                cleaned = rules.validate_report(
                    {**form, "happened_at": happened, "discovered_at": discovered},
                    clock.now(),
                )
            except InputError as error:
                for field, message in error.errors.items():
                    errors.add(field, message)
            else:
                breach = _open_case(cleaned, (form.get("case_id") or "").upper() or None)
                return redirect(url_for("breaches.show", breach_id=breach.id), code=303)
    return render_template(
        "breaches/report.html",
        title="Report a breach or near miss",
        form=form,
        errors=errors,
        categories=rules.CATEGORIES,
        data_categories=rules.DATA_CATEGORIES,
    ), 422 if errors else 200


def _open_case(cleaned: dict, case_id: str | None) -> Breach:
    now = clock.now()
    with write_transaction():
        breach = Breach.open_case(cleaned, reporter=current_user, now=now, case_id=case_id)
    return breach


# -- The case page -----------------------------------------------------------------------


def _case_context(breach: Breach, errors=None, form=None, preview=None) -> dict:
    now = clock.now()
    events = enabled_event_ids(breach_machine(breach), current_user.as_actor(), now)
    return {
        "breach": breach,
        "events": events,
        "event_labels": EVENT_LABELS,
        "state_labels": STATE_LABELS,
        "categories": dict(rules.CATEGORIES),
        "data_categories": dict(rules.DATA_CATEGORIES),
        "recipients": rules.required_recipients(breach.category),
        "notifications": list(breach.notifications.order_by(Notification.at)),
        "clock": rules.case_clock(breach, now),
        "grid": GRID,
        "grid_scales": grid_scales(GRID),
        "preview": preview,
        "errors": errors or {},
        "form": form or {},
        "can_update_police": breach.state == "reported"
        and breach.category in ("loss", "theft")
        and _may_update(breach),
        "can_update_report": breach.state == "reported" and _may_update(breach),
        "opened_automatically": _opened_automatically(breach),
    }


def _opened_automatically(breach: Breach) -> str | None:
    """What opened the case when the system did (a lost removal, a misdirected dispatch)."""
    if breach.removal_id:
        return "papers were reported lost"
    if breach.dispatch_id:
        return "documents were reported sent to the wrong recipient"
    return None


def _may_update(breach: Breach) -> bool:
    return rules.may_see_case(current_user.as_actor(), breach)


@bp.get("/breaches/<int:breach_id>")
def show(breach_id: int):
    breach = _breach_or_404(breach_id)
    return _render_case(breach)


def _render_case(breach: Breach, errors=None, form=None, status=200, preview=None):
    timeline = list(AuditEvent.for_entity("breach", breach.id).order_by(AuditEvent.id.desc()))
    return render_template(
        "breaches/show.html",
        title=f"Breach {breach.reference}",
        timeline=timeline,
        **_case_context(breach, errors, form, preview),
    ), status


@bp.post("/breaches/<int:breach_id>/police")
def update_police(breach_id: int):
    """Record the crime reference and that the line manager was told (loss or theft)."""
    breach = _breach_or_404(breach_id)
    if not _may_update(breach):
        abort(403)
    if breach.state != "reported":
        abort(409, "The police details can only be changed before the case is notified.")
    errors = FormErrors()
    reference = text("police_reference", 40)
    reason = text("no_police_reference_reason", 500)
    told = checked("line_manager_told")
    if not reference and not reason:
        errors.add(
            "police_reference", "Enter the police crime reference number, or why there is none yet"
        )
    if errors:
        return _render_case(breach, errors, dict(request.form), 422)

    def record_police(fresh: Breach, now: dt.datetime) -> dict:
        fresh.police_reference = reference or None
        fresh.no_police_reference_reason = reason or None
        fresh.line_manager_told = told
        if reference and not fresh.police_recorded_at:
            fresh.police_recorded_at = now
        return {"police_reference": reference, "reason": reason, "line_manager_told": told}

    return _edit_reported_case(breach.id, "record_police", record_police)


def _edit_reported_case(breach_id: int, event: str, change) -> object:
    """Correct a case still `reported`, as the page saw it: `change(fresh, now)` sets fields
    and returns the audit summary (None: nothing changed, nothing written). The change and
    its audit event are one transaction; a newer version than the form's is 409."""
    now = clock.now()
    try:
        with write_transaction():
            fresh = Breach.get_by_id(breach_id)
            if fresh.version != form_version():
                raise Stale
            summary = change(fresh, now)
            if summary is not None:
                fresh.save_versioned()
                AuditEvent.append(
                    at=now,
                    actor_id=current_user.id,
                    entity_type="breach",
                    entity_id=breach_id,
                    event=event,
                    summary=summary,
                    entity_version=fresh.version,
                )
    except Stale:
        errors = FormErrors()
        errors.add(
            "status",
            "Someone else changed this case while you were looking. "
            "It is shown as it is now: check it and try again.",
        )
        return _render_case(Breach.get_by_id(breach_id), errors, {}, 409)
    return redirect(url_for("breaches.show", breach_id=breach_id), code=303)


REPORT_FIELD_NAMES = {
    "what_happened": "what happened",
    "data_categories": "data involved",
    "people_affected": "people affected",
    "records_affected": "records affected",
    "children_or_vulnerable": "children or vulnerable adults",
    "special_category": "special category data",
}


@bp.post("/breaches/<int:breach_id>/details")
def update_report(breach_id: int):
    """Check and complete the report while the case is `reported` (a case opened
    automatically starts with thin details: no data categories, one person, no children)."""
    breach = _breach_or_404(breach_id)
    if not _may_update(breach):
        abort(403)
    if breach.state != "reported":
        abort(409, "The report can only be corrected before the case is notified.")
    errors = FormErrors()
    form = {
        key: text(key, 2000) for key in ("what_happened", "people_affected", "records_affected")
    }
    form["data_categories"] = request.form.getlist("data_categories")
    for key in ("children_or_vulnerable", "special_category"):
        form[key] = checked(key)
    try:
        cleaned = rules.validate_report_details(form)
    except InputError as error:
        for field, message in error.errors.items():
            errors.add(field, message)
        return _render_case(breach, errors, {**form, "report_form": True}, 422)
    values = {**cleaned, "data_categories": ",".join(cleaned["data_categories"])}

    def correct_report(fresh: Breach, now: dt.datetime) -> dict | None:
        changed = [key for key in rules.REPORT_DETAIL_FIELDS if getattr(fresh, key) != values[key]]
        if not changed:
            return None
        for key in changed:
            setattr(fresh, key, values[key])
        # Field names only: the free text stays on the case, not in the audit trail.
        return {"changed": ", ".join(REPORT_FIELD_NAMES[key] for key in changed)}

    return _edit_reported_case(breach.id, "update_report", correct_report)


# -- Transitions -------------------------------------------------------------------------


def _notify_inputs(breach: Breach, errors: FormErrors) -> tuple[dict, dict]:
    notifications = {}
    for key, label in rules.required_recipients(breach.category):
        who = text(f"{key}_who", 120)
        at = datetime_local(f"{key}_at", errors, f"when the {label} was told", required=bool(who))
        if who or at:
            notifications[key] = {"who": who, "at": at}
    media = request.form.get("media_advised")
    values = {
        "notifications": notifications,
        "media_advised": None if media not in ("yes", "no") else media == "yes",
        "media_reason": text("media_reason", 1000),
    }
    summary = {"told": ", ".join(sorted(notifications)), "media_advised": media}
    return values, summary


def _int(name: str) -> int | None:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        return None


def _assess_inputs(breach: Breach, errors: FormErrors) -> tuple[dict, dict]:
    override = request.form.get("reportable_override", "grid")
    values = {
        "likelihood": _int("likelihood"),
        "severity": _int("severity"),
        "likely_outcomes": text("likely_outcomes", 2000),
        "actions_taken": text("actions_taken", 2000),
        "reportable_override": {"yes": True, "no": False}.get(override),
        "override_reason": text("override_reason", 1000),
        "grid": GRID,
    }
    summary = {k: values[k] for k in ("likelihood", "severity", "reportable_override")}
    return values, summary


def _inform_inputs(breach: Breach, errors: FormErrors) -> tuple[dict, dict]:
    in_person = date_input("informed_in_person_on", errors, "the date of the face-to-face meeting")
    in_writing = date_input("informed_in_writing_on", errors, "the date of the letter")
    values = {"informed_in_person_on": in_person, "informed_in_writing_on": in_writing}
    return values, {k: v.isoformat() for k, v in values.items() if v}


def _decide_inputs(breach: Breach, errors: FormErrors) -> tuple[dict, dict]:
    referred = request.form.get("ico_referred")
    values = {
        "caldicott_consulted": text("caldicott_consulted", 120),
        "legal_advice": request.form.get("legal_advice") == "yes",
        "disciplinary": {"yes": True, "no": False}.get(request.form.get("disciplinary")),
        "ico_referred": {"yes": True, "no": False}.get(referred),
        "ico_referred_at": datetime_local(
            "ico_referred_at", errors, "when the ICO was told", required=False
        ),
        "ico_reference": text("ico_reference", 60),
        "not_referred_reason": text("not_referred_reason", 1000),
        "delay_reason": text("delay_reason", 1000),
        "regulator": text("regulator", 40),
    }
    summary = {
        k: values[k]
        for k in ("disciplinary", "ico_referred", "ico_reference", "regulator", "legal_advice")
    }
    return values, summary


EVENT_INPUTS = {
    "notify": _notify_inputs,
    "assess_risk": _assess_inputs,
    "inform_service_user": _inform_inputs,
    "record_exemption": lambda b, e: (
        {
            "exemption_reason": text("exemption_reason", 1000),
            "approved_by_caldicott": checked("approved_by_caldicott"),
        },
        {"exemption_reason": text("exemption_reason", 1000)},
    ),
    "skip_informing": lambda b, e: (
        {"skip_reason": text("skip_reason", 1000)},
        {"skip_reason": text("skip_reason", 1000)},
    ),
    "decide": _decide_inputs,
    "close": lambda b, e: (
        {
            "report_complete": checked("report_complete"),
            "lessons_learned": text("lessons_learned", 4000),
        },
        {"lessons_learned": text("lessons_learned", 4000)},
    ),
}


def _refused_for_the_case(event: str, breach: Breach) -> str | None:
    """Why the machine's guard said no when it is about the case, not the person's role."""
    if event == "notify" and _may_update(breach) and not rules.police_details_complete(breach):
        return (
            "Record the police crime reference (or why there is none yet) and that the "
            "line manager was told before the case can be notified."
        )
    if (
        event == "skip_informing"
        and breach.state == "risk_assessed"
        and rules.skip_refused_as_not_a_near_miss(current_user.as_actor(), breach)
    ):
        return (
            "Only a near miss where no data left the council's control can skip telling "
            "the service user."
        )
    return None


@bp.post("/breaches/<int:breach_id>/<event>")
def transition(breach_id: int, event: str):
    breach = _breach_or_404(breach_id)
    if event not in EVENT_LABELS:
        abort(404)
    errors = FormErrors()
    values, summary = EVENT_INPUTS[event](breach, errors)
    form = {key: request.form.get(key) for key in request.form}
    status = 422  # the form's own checks failed, unless the machine is asked below
    preview = None
    if (
        event == "assess_risk"
        and GRID.is_likelihood(values["likelihood"])
        and GRID.is_severity(values["severity"])
    ):
        preview = assess(
            values["likelihood"], values["severity"], breach.children_or_vulnerable, GRID
        )
    if request.form.get("step") == "preview" and not errors:
        # "Check the result": show the grid's answer before anything is saved.
        return _render_case(breach, {}, form, 200, preview)
    if not errors:
        status = attempt(
            load=lambda: Breach.get_by_id(breach_id),
            factory=breach_machine,
            event=event,
            actor=current_user.as_actor(),
            entity_type="breach",
            values=values,
            summary=summary,
            errors=errors,
            stale="Someone else moved this case on while you were looking. "
            "It is shown as it is now.",
            refused=lambda: (
                f"This case is "
                f"{STATE_LABELS[Breach.get_by_id(breach_id).state].lower()}: "
                "it cannot be changed that way now."
            ),
            forbidden=lambda: _refused_for_the_case(event, Breach.get_by_id(breach_id)),
        )
        if status == DONE:
            form = {}
            preview = None
    if errors:
        return _render_case(Breach.get_by_id(breach_id), errors, form, status, preview)
    # htmx follows the redirect too: the fresh page shows the next step and the timeline.
    return redirect(url_for("breaches.show", breach_id=breach_id), code=303)
