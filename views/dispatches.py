"""Secure sending: draft, a colleague's check, send, and delivery or misdirection."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from machines.common import InputError
from machines.dispatch import (
    ADDRESS_SOURCES,
    DELIVERY_EVIDENCE,
    EVENT_LABELS,
    METHODS,
    STATE_LABELS,
    dispatch_machine,
    validate_draft,
)
from machines.permissions import Can
from models.audit import AuditEvent
from models.base import write_transaction
from models.dispatches import Dispatch
from models.records import Record
from models.transitions import enabled_event_ids
from services import clock
from views.forms import FormErrors, checked, id_arg, text
from views.htmx import is_htmx
from views.transitions import DONE, attempt

bp = Blueprint("dispatches", __name__)


def _dispatch_or_404(dispatch_id: int) -> Dispatch:
    dispatch = Dispatch.get_or_none(Dispatch.id == dispatch_id)
    if dispatch is None or not dispatch.visible_to(current_user):
        abort(404)
    return dispatch


def _require_team_member():
    if not (current_user.can(Can.WORK_WITH_PAPERS) and current_user.team_id):
        abort(403)


@bp.get("/send")
def start():
    _require_team_member()
    recent = list(
        Dispatch.select()
        .where(Dispatch.team == current_user.team_id)
        .order_by(Dispatch.id.desc())
        .limit(25)
    )
    waiting = list(Dispatch.to_check(current_user).limit(50))
    return render_template(
        "dispatches/start.html",
        title="Send documents securely",
        recent=recent,
        waiting=waiting,
        state_labels=STATE_LABELS,
        methods=dict(METHODS),
    )


@bp.route("/send/new", methods=["GET", "POST"])
def draft():
    _require_team_member()
    errors = FormErrors()
    form = _prefill_from_record(id_arg("record"))
    if request.method == "POST":
        form = {
            k: text(k, 600)
            for k in (
                "case_id",
                "description",
                "method",
                "recipient_organisation",
                "recipient_role",
                "address",
            )
        }
        try:
            cleaned = validate_draft(form)
        except InputError as error:
            for field, message in error.errors.items():
                errors.add(field, message)
        else:
            now = clock.now()
            with write_transaction():
                dispatch = Dispatch.create(
                    team=current_user.team_id, drafted_by=current_user.id, drafted_at=now, **cleaned
                )
                AuditEvent.append(
                    at=now,
                    actor_id=current_user.id,
                    entity_type="dispatch",
                    entity_id=dispatch.id,
                    event="draft",
                    target="drafted",
                    entity_version=dispatch.version,
                    summary={"method": dispatch.method, "recipient_role": dispatch.recipient_role},
                )
            return redirect(url_for("dispatches.show", dispatch_id=dispatch.id), code=303)
    return render_template(
        "dispatches/draft.html",
        title="Draft a secure dispatch",
        form=form,
        errors=errors,
        methods=METHODS,
    ), 422 if errors else 200


def _prefill_from_record(record_id: int | None) -> dict:
    """Start a draft from a record page: the case-system ID comes from the record.

    The URL carries Safekeep's own record number, never the case-system ID.
    """
    if record_id is None:
        return {}
    record = Record.get_or_none(Record.id == record_id)
    if record is None or not record.visible_to(current_user):
        return {}
    return {"case_id": record.case_id}


def _panel_context(dispatch: Dispatch, errors=None, form=None) -> dict:
    events = enabled_event_ids(dispatch_machine(dispatch), current_user.as_actor(), clock.now())
    return {
        "dispatch": dispatch,
        "events": events,
        "event_labels": EVENT_LABELS,
        "state_labels": STATE_LABELS,
        "methods": dict(METHODS),
        "address_sources": ADDRESS_SOURCES,
        "delivery_evidence": DELIVERY_EVIDENCE,
        "errors": errors or {},
        "form": form or {},
    }


@bp.get("/dispatches/<int:dispatch_id>")
def show(dispatch_id: int):
    dispatch = _dispatch_or_404(dispatch_id)
    return _render_page(dispatch)


def _render_page(dispatch: Dispatch, errors=None, form=None, status=200):
    timeline = list(AuditEvent.for_entity("dispatch", dispatch.id).order_by(AuditEvent.id.desc()))
    return render_template(
        "dispatches/show.html",
        title=f"Dispatch {dispatch.id}",
        timeline=timeline,
        **_panel_context(dispatch, errors, form),
    ), status


EVENT_INPUTS = {
    "check": lambda: (
        {
            "address_source": text("address_source", 40),
            "address_source_other": text("address_source_other", 120),
            "address_confirmed": checked("address_confirmed"),
            "addressee_confirmed": checked("addressee_confirmed"),
            "right_to_information_confirmed": checked("right_to_information_confirmed"),
            "lawful_basis": text("lawful_basis", 250),
        },
        {
            "address_source": text("address_source", 40),
            "lawful_basis": text("lawful_basis", 250),
            "confirmed": "address, addressee, right to the information",
        },
    ),
    "mark_sent": lambda: (
        {
            "password_protected": checked("password_protected"),
            "password_separate": checked("password_separate"),
            "tracking_reference": text("tracking_reference", 30),
        },
        {"tracking_reference": text("tracking_reference", 30)},
    ),
    "confirm_delivered": lambda: (
        {"delivery_evidence": text("delivery_evidence", 40)},
        {"delivery_evidence": text("delivery_evidence", 40)},
    ),
    "report_misdirected": lambda: (
        {"what_happened": text("what_happened", 2000)},
        {},
    ),
    "cancel": lambda: ({"reason": text("reason", 500)}, {"reason": text("reason", 500)}),
}


@bp.post("/dispatches/<int:dispatch_id>/<event>")
def transition(dispatch_id: int, event: str):
    _dispatch_or_404(dispatch_id)  # 404 before anything else for an unseen dispatch
    if event not in EVENT_INPUTS:
        abort(404)
    values, summary = EVENT_INPUTS[event]()
    errors = FormErrors()
    form = dict(request.form)
    status = attempt(
        load=lambda: Dispatch.get_by_id(dispatch_id),
        factory=dispatch_machine,
        event=event,
        actor=current_user.as_actor(),
        entity_type="dispatch",
        values=values,
        summary=summary,
        errors=errors,
        stale="Someone else changed this dispatch while you were looking. "
        "Its status below is up to date.",
        refused=lambda: (
            f"This dispatch is "
            f"{STATE_LABELS[Dispatch.get_by_id(dispatch_id).state].lower()}: "
            "it cannot be changed that way now."
        ),
    )
    if status == DONE:
        form = {}
    fresh = Dispatch.get_by_id(dispatch_id)
    if is_htmx():
        return render_template(
            "dispatches/_status_panel.html", **_panel_context(fresh, errors, form)
        ), status
    if errors:
        return _render_page(fresh, errors, form, status)
    return redirect(url_for("dispatches.show", dispatch_id=dispatch_id), code=303)
