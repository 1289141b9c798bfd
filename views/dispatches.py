"""Secure sending: draft, a colleague's check, send, and delivery or misdirection."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from machines import clock
from machines.common import InputError, enabled_events
from machines.dispatch import (
    ADDRESS_SOURCES,
    DELIVERY_EVIDENCE,
    EVENT_LABELS,
    METHODS,
    STATE_LABELS,
    DispatchMachine,
    may_prepare,
    validate_draft,
)
from machines.permissions import Can
from models.audit import AuditEvent
from models.base import write_transaction
from models.dispatches import Dispatch
from models.records import Record
from models.training import training_of
from views.access import requires
from views.errors import render_error
from views.forms import FormErrors, id_arg
from views.forms.dispatches import EVENT_FORMS, DraftDispatch
from views.paging import page_of
from views.training_stops import sending_blocked, sending_stopped
from views.transitions import (
    Confirm,
    Lifecycle,
    RowPage,
    post_row_event,
    show_row,
    status_panel,
)

bp = Blueprint("dispatches", __name__)


@bp.get("/send")
@requires(Can.WORK_WITH_PAPERS, in_a_team=True)
def start():
    recent = list(
        Dispatch.select()
        .where(Dispatch.team == current_user.team_id)
        .order_by(Dispatch.id.desc())
        .limit(25)
    )
    # Every draft waiting for a check can be reached: the list pages, never stops short.
    waiting = page_of(Dispatch.to_check(current_user), param="waiting")
    training = training_of(current_user, with_exception=False)
    return render_template(
        "dispatches/start.html",
        title="Send documents securely",
        recent=recent,
        waiting=waiting,
        pagination=waiting.links("dispatches.start", "Drafts waiting for your check"),
        state_labels=STATE_LABELS,
        methods=dict(METHODS),
        training=training,
        may_prepare=may_prepare(training, clock.now()),
    )


@bp.get("/send/new")
@bp.post("/send/new")
@requires(Can.WORK_WITH_PAPERS, in_a_team=True)
def draft():
    training = training_of(current_user, with_exception=False)
    if not may_prepare(training, clock.now()):
        return render_error(409, _untrained_words(training))
    errors = FormErrors()
    form = _prefill_from_record(id_arg("record"))
    if request.method == "POST":
        draft_form = DraftDispatch()
        form = draft_form.typed()
        errors = draft_form.check()  # personal data in the free text, say
        try:
            cleaned = validate_draft(draft_form.values)
        except InputError as error:
            errors.add_all(error.errors)
        errors = errors.in_order(draft_form.field_names)
        if not errors:
            now = clock.now()
            with write_transaction():
                dispatch = Dispatch.create(
                    team=current_user.team_id, drafted_by=current_user.id, drafted_at=now, **cleaned
                )
                AuditEvent.about(
                    dispatch,
                    "draft",
                    by=current_user.id,
                    at=now,
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


def _untrained_words(training) -> str:
    return (
        f"{training.why_not(clock.uk_today())} You cannot prepare a dispatch until it is done: "
        "ask a colleague in your team to send the documents."
    )


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
    actor, now = current_user.as_actor(), clock.now()
    events = enabled_events(DispatchMachine, dispatch, actor, now)
    return {
        "training_stop": dispatch.drafter_training
        if sending_stopped(dispatch, actor, now)
        else None,
        **status_panel(events, EVENT_LABELS, STATE_LABELS, errors, form, CONFIRMS),
        "dispatch": dispatch,
        "methods": dict(METHODS),
        "address_sources": ADDRESS_SOURCES,
        "delivery_evidence": DELIVERY_EVIDENCE,
    }


CONFIRMS = {
    "cancel": Confirm(
        "Cancel this dispatch?",
        "A cancelled dispatch cannot be reopened. Draft it again if the documents must go.",
    ),
    "report_misdirected": Confirm(
        "Report that the documents went to the wrong recipient?",
        "This opens a breach case straight away, and cannot be undone.",
        bad_news=True,
    ),
}


def _described(dispatch: Dispatch) -> tuple[str, list[tuple[str, str]]]:
    return f"Dispatch {dispatch.id} (case {dispatch.case_id})", [
        ("What", dispatch.description),
        ("To", f"{dispatch.recipient_role}, {dispatch.recipient_organisation}"),
        ("How", dict(METHODS)[dispatch.method]),
    ]


PAGE = RowPage(
    Lifecycle.of(
        Dispatch,
        DispatchMachine,
        EVENT_FORMS,
        "dispatch",
        confirms=CONFIRMS,
        blocked=sending_blocked,
    ),
    "dispatches/show.html",
    lambda dispatch: f"Dispatch {dispatch.id}",
    _panel_context,
    described=_described,
    endpoint="dispatches.show",
    row_arg="dispatch_id",
)


@bp.get("/dispatches/<int:dispatch_id>")
def show(dispatch_id: int):
    return show_row(PAGE, dispatch_id)


@bp.post("/dispatches/<int:dispatch_id>/<event>")
def transition(dispatch_id: int, event: str):
    return post_row_event(PAGE, dispatch_id, event)
