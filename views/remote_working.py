"""Remote working agreements: ask, agree or decline, withdraw; expiry is by the schedule."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from machines import clock
from machines.common import InputError, enabled_events
from machines.permissions import Can
from machines.remote_working import (
    EVENT_LABELS,
    STATE_LABELS,
    RemoteWorkingMachine,
    remote_working_machine,
    shown_state,
)
from models.base import Stale
from models.records import approvers_of
from models.remote_working import RemoteAgreement
from models.transitions import Forbidden, Refused, apply_transition, check_transition
from views.access import requires
from views.display import uk_date
from views.forms import FormErrors
from views.forms.remote_working import EVENT_FORMS, Ask
from views.paging import page_of
from views.transitions import (
    Confirm,
    Lifecycle,
    RowPage,
    post_row_event,
    show_row,
    status_panel,
)

bp = Blueprint("remote", __name__)


@bp.get("/remote-working")
@requires(Can.WORK_WITH_PAPERS, in_a_team=True)
def index():
    now = clock.now()
    listed = page_of(RemoteAgreement.of(current_user))
    agreements = listed.rows
    return render_template(
        "remote/index.html",
        title="Working remotely",
        agreements=agreements,
        pages=listed.pages,
        pagination=listed.links("remote.index", "Your agreements"),
        shown={a.id: shown_state(a, now) for a in agreements},
        state_labels=STATE_LABELS,
    )


@bp.get("/remote-working/new")
@bp.post("/remote-working/new")
@requires(Can.WORK_WITH_PAPERS, in_a_team=True)
def ask():
    approvers, asked = approvers_of(current_user, current_user.team_id)
    errors, typed = FormErrors(), {}
    if request.method == "POST":
        form = Ask()
        errors, typed = form.check(), form.typed()
        now = clock.now()

        def new() -> RemoteAgreement:
            return RemoteAgreement(
                team=current_user.team_id,
                for_user=current_user.id,
                requested_by=current_user.id,
                requester_manager=current_user.line_manager_id,
                approval_route=approvers.route,
            )

        arguments = {
            "factory": remote_working_machine,
            "event": "ask",
            "actor": current_user.as_actor(),
            "now": now,
            "values": form.machine_values(),
            "expected_version": None,
        }
        try:
            # Every error at once: the machine's too, even when the form could not read all.
            check_transition(load=new, **arguments)
            if not errors:
                agreement = apply_transition(
                    load=lambda: _saved(new()),
                    entity_type="remote_agreement",
                    summary=form.summary(),
                    **arguments,
                )
                return redirect(url_for("remote.show", agreement_id=agreement.id), code=303)
        except InputError as error:
            for name, message in error.errors.items():
                errors.add(name, message, anchor=form[name].anchor if name in form else None)
            errors = errors.in_order(form.field_names)
        except (Forbidden, Refused, Stale):
            abort(403)
    return render_template(
        "remote/ask.html",
        title="Ask to work remotely",
        form=typed,
        errors=errors,
        route=approvers.route,
        asked=[person.display_name for person in asked],
    ), 422 if errors else 200


def _saved(agreement: RemoteAgreement) -> RemoteAgreement:
    agreement.save(force_insert=True)
    return agreement


def _panel_context(agreement: RemoteAgreement, errors=None, form=None) -> dict:
    now = clock.now()
    events = [
        e
        for e in enabled_events(RemoteWorkingMachine, agreement, current_user.as_actor(), now)
        if e in EVENT_FORMS
    ]
    return {
        **status_panel(events, EVENT_LABELS, STATE_LABELS, errors, form, CONFIRMS),
        "agreement": agreement,
        "asked_names": agreement.asked() if agreement.state == "asked" else [],
        "shown": shown_state(agreement, now),
    }


CONFIRMS = {
    "decline": Confirm(
        "Decline this request to work remotely?",
        "A declined request cannot be reopened. The person will be told why.",
        bad_news=True,
    ),
    "withdraw": Confirm(
        "Withdraw this agreement?",
        "A withdrawn agreement cannot be restarted: the person would have to ask again.",
        bad_news=True,
    ),
}


def _described(agreement: RemoteAgreement) -> tuple[str, list[tuple[str, str]]]:
    who = agreement.for_user.display_name
    return f"Working remotely: {who}", [
        ("Who", who),
        ("Where", agreement.place),
        ("Until", uk_date(agreement.ends_on)),
    ]


PAGE = RowPage(
    Lifecycle.of(
        RemoteAgreement, RemoteWorkingMachine, EVENT_FORMS, "agreement", confirms=CONFIRMS
    ),
    "remote/show.html",
    lambda agreement: f"Working remotely: {agreement.for_user.display_name}",
    _panel_context,
    described=_described,
    endpoint="remote.show",
    row_arg="agreement_id",
)


@bp.get("/remote-working/<int:agreement_id>")
def show(agreement_id: int):
    return show_row(PAGE, agreement_id)


@bp.post("/remote-working/<int:agreement_id>/<event>")
def transition(agreement_id: int, event: str):
    return post_row_event(PAGE, agreement_id, event)
