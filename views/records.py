"""Record custody: find and add records, request a removal, and move it through its lifecycle."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from peewee import IntegrityError

from machines import clock
from machines.breach_report import lost_or_stolen
from machines.common import InputError, enabled_events
from machines.dispatch import METHODS
from machines.dispatch import STATE_LABELS as DISPATCH_STATES
from machines.permissions import Can, roles_that
from machines.removal import (
    CONFIRMED_HOW,
    EVENT_LABELS,
    PURPOSES,
    SAFEGUARDS,
    STATE_LABELS,
    RemovalMachine,
    removal_machine,
)
from models.audit import AuditEvent
from models.base import write_transaction
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User, UserRole
from models.prepared import Prepared, by_id
from models.records import LABEL_CODE, Record, Removal, approvers_of
from models.remote_working import RemoteAgreement
from models.transitions import apply_transition
from models.waiting_counts import waiting_counts
from views.access import requires, visible_or_404
from views.camera import offer_scanning
from views.display import naming_people, timeline_by, uk_date, where_now
from views.forms import FormErrors
from views.forms.records import (
    EVENT_FORMS,
    AddRecord,
    FindRecord,
    RequestRemoval,
    ScannedLabel,
)
from views.htmx import is_htmx
from views.paging import page_of
from views.training_stops import take_out_blocked, take_out_stopped
from views.transitions import (
    Confirm,
    Lifecycle,
    changed_meanwhile,
    confirmation,
    done_words,
    run_event,
    status_panel,
)

bp = Blueprint("records", __name__)
# Every timeline (records, dispatches, breaches) says who, for whom and at which kiosk.
bp.add_app_template_global(timeline_by)
# The record page and the kiosk ask for the same safeguards, in the machine's words.
bp.add_app_template_global(SAFEGUARDS, "removal_safeguards")
# "Scan label" follows a QR code only when it holds a label code (components/scan_label.html).
bp.add_app_template_global(LABEL_CODE.pattern, "label_code_pattern")


# -- Finding and adding records ---------------------------------------------------------


# The most records one search lists. One case can have many volumes, but not this many.
FOUND_SHOWN = 50


@bp.get("/records")
@bp.post("/records")
def find():
    # The search term is a case-system ID: it goes in a POST body, never in the URL.
    form = FindRecord()
    errors = form.check_posted()
    results, more = None, False
    if request.method == "POST" and not errors:
        # One more than is shown, to say truthfully that there are more (never "50 found").
        results = list(Record.find(current_user, form.term.data).limit(FOUND_SHOWN + 1))
        more, results = len(results) > FOUND_SHOWN, results[:FOUND_SHOWN]
    return _render_find(form.term.typed, errors, results, more)


@bp.post("/records/scan")
def open_scanned():
    """Open the record whose label "Scan label" read: the code comes in the POST body, and
    only the record's number goes in the address."""
    form = ScannedLabel()
    errors = form.check()
    code = form.label_code.data
    record = None if errors else Record.get_or_none(Record.label_code == code)
    if errors or record is None or not record.visible_to(current_user):
        # Another team's record looks like no record: need to know. The code read goes into
        # the search box, so the person sees what was read and can correct it.
        message = errors.get("label_code") or f"No record you can see has the label code {code}"
        return _render_find(form.label_code.typed, FormErrors(term=message), status=422)
    return redirect(url_for("records.show", record_id=record.id), code=303)


def _render_find(term: str, errors, results=None, more: bool = False, status: int | None = None):
    offer_scanning()
    return render_template(
        "records/find.html",
        title="Find a record",
        term=term,
        results=results,
        more=more,
        errors=errors,
        where_now=where_now,
        today=clock.uk_today(),
        can_add=current_user.can(Can.WORK_WITH_PAPERS) and current_user.team_id is not None,
    ), status or (422 if errors else 200)


@bp.get("/records/new")
@bp.post("/records/new")
@requires(Can.WORK_WITH_PAPERS)
def add():
    if not current_user.team_id:
        abort(403)
    form = AddRecord()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        now = clock.now()
        with write_transaction():
            record = Record.create_labelled(
                case_id=form.case_id.data,
                description=form.description.data,
                team=current_user.team_id,
                created_by=current_user.id,
                created_at=now,
            )
            AuditEvent.about(
                record,
                "add_record",
                by=current_user.id,
                at=now,
                summary={"label_code": record.label_code},
            )
        return redirect(url_for("records.show", record_id=record.id), code=303)
    return render_template(
        "records/add.html", title="Add a record", values=form.typed(), errors=errors
    ), 422 if errors else 200


# -- The record page and its status panel -------------------------------------------------


def _panel_context(record: Record, errors: dict | None = None, form: dict | None = None) -> dict:
    removal = record.open_removal()
    latest = removal or (
        Removal.select().where(Removal.record == record).order_by(Removal.id.desc()).first()
    )
    events: list[str] = []
    actor, now = current_user.as_actor(), clock.now()
    if removal is not None:
        events = enabled_events(RemovalMachine, removal, actor, now)
    return {
        "training_stop": take_out_stopped(removal, actor, now),
        **status_panel(events, EVENT_LABELS, STATE_LABELS, errors, form, CONFIRMS),
        "record": record,
        "removal": removal,
        "latest": latest,
        # Who may witness a destruction: the team's other members (the machine says who not).
        "witnesses": _witnesses(removal) if "destroy" in events else [],
        "purposes": dict(PURPOSES),
        "confirmed_how": dict(CONFIRMED_HOW),
        "can_request": removal is None
        and not record.papers_gone
        and current_user.team_id == record.team_id
        and current_user.can(Can.WORK_WITH_PAPERS),
        "running_record": running_record_text(latest)
        if latest and latest.decided_by_id and latest.state not in ("declined",)
        else None,
        "lost_case": _lost_case(latest),
    }


def _witnesses(removal: Removal) -> list[User]:
    return list(
        User.select()
        .where(
            User.team == removal.team_id,
            User.active == True,  # noqa: E712
            User.id.not_in([removal.for_user_id, current_user.id]),
            User.id.in_(
                UserRole.select(UserRole.user).where(
                    UserRole.role.in_(sorted(roles_that(Can.WORK_WITH_PAPERS)))
                )
            ),
        )
        .order_by(User.display_name)
    )


def _lost_case(latest: Removal | None):
    """The breach case that papers reported lost opened, with whether this person may open it
    (its reference is shown either way: a colleague should know the loss is being handled)."""
    if latest is None or latest.state != "lost":
        return None
    case = latest.breaches.order_by(Breach.id).first()
    if case is None:
        return None
    return {
        "reference": case.reference,
        "id": case.id,
        "visible": case.visible_to(current_user),
        # Lost or stolen, as the person chose (the case keeps the choice).
        "gone": lost_or_stolen(case.category),
        "said": f"Papers reported {lost_or_stolen(case.category)}",
    }


# A record's page shows its latest removals and events, and says so when there are more.
HISTORY_SHOWN = 20
TIMELINE_SHOWN = 50


def _timeline(record_id: int):
    removal_ids = Removal.select(Removal.id).where(Removal.record == record_id)
    return (
        AuditEvent.for_entity("record", record_id)
        .orwhere((AuditEvent.entity_type == "removal") & (AuditEvent.entity_id.in_(removal_ids)))
        .order_by(AuditEvent.id.desc())
        .limit(TIMELINE_SHOWN + 1)
    )


# The history and timeline are read again after every event on the record's panel: each
# compiled once (models/prepared.py). One row more than is shown tells whether to say
# "the latest N".
_HISTORY = Prepared(
    lambda record_id: (
        Removal.with_people()
        .where(Removal.record == record_id)
        .order_by(Removal.id.desc())
        .limit(HISTORY_SHOWN + 1)
    ),
    record_id=int,
)
_TIMELINE = Prepared(_timeline, record_id=int)


@bp.get("/records/<int:record_id>")
def show(record_id: int):
    record = visible_or_404(Record, record_id)
    outcome = done_words("removal", EVENT_LABELS)
    if request.args.get("done") == "report_lost":
        latest = Removal.select().where(Removal.record == record).order_by(Removal.id.desc())
        lost_case = _lost_case(latest.first())
        outcome = lost_case["said"] if lost_case else outcome
    return _render_record_page(record, outcome=outcome)


def _history_context(record: Record) -> dict:
    history = _HISTORY.rows(record_id=record.id)
    timeline = naming_people(_TIMELINE.rows(record_id=record.id))
    return {
        "history": history[:HISTORY_SHOWN],
        "history_more": len(history) > HISTORY_SHOWN,
        "timeline": timeline[:TIMELINE_SHOWN],
        "timeline_more": len(timeline) > TIMELINE_SHOWN,
        "purposes": dict(PURPOSES),
        "state_labels": STATE_LABELS,
    }


def _render_record_page(
    record: Record, errors=None, form=None, status: int = 200, outcome: str | None = None
):
    context = {**_panel_context(record, errors, form), **_history_context(record)}
    dispatches = list(Dispatch.for_case(current_user, record.case_id).limit(20))
    return render_template(
        "records/show.html",
        title=f"{record.description} ({record.case_id})",
        dispatches=dispatches,
        dispatch_states=DISPATCH_STATES,
        dispatch_methods=dict(METHODS),
        can_send=current_user.team_id is not None and current_user.can(Can.WORK_WITH_PAPERS),
        outcome=outcome,
        **context,
    ), status


def running_record_text(removal: Removal) -> str:
    """The exact text to paste into the case's running record on the case system.

    Before the papers leave it records what was agreed (who may take which papers, why, and
    by when they come back or are destroyed); "Taken by" only once they have been taken out.
    """
    purpose = dict(PURPOSES).get(removal.purpose, removal.purpose)
    if removal.purpose == "other" and removal.purpose_other:
        purpose = f"other: {removal.purpose_other}"
    approver = removal.decided_by.display_name if removal.decided_by_id else "pre-authorised"
    due_verb = "returned to the office" if removal.due_kind == "return" else "destroyed"
    approved_on = removal.decided_at or removal.requested_at
    holder = removal.for_user.display_name
    label = f"{removal.record.description} (label {removal.record.label_code})"
    if removal.taken_out_at is None:
        opening = f"Removal of paper record from the office agreed — {label}. "
        who = f"{holder} may take the papers out. "
    else:
        opening = f"Paper record removed from the office — {label}. "
        who = f"Taken by {holder} on {clock.to_uk(removal.taken_out_at):%d/%m/%Y}. "
    return (
        f"{opening}Papers: {removal.papers}. Purpose: {purpose}. {who}"
        f"Agreed by {approver} on {clock.to_uk(approved_on):%d/%m/%Y}. "
        f"To be {due_verb} by {removal.due_on:%d/%m/%Y}. Safekeep removal {removal.id}."
    )


# -- Requesting a removal -----------------------------------------------------------------

GONE_MESSAGE = "These papers were destroyed or reported lost: there is nothing to take out."


@bp.get("/records/<int:record_id>/remove")
@bp.post("/records/<int:record_id>/remove")
def request_removal(record_id: int):
    record = visible_or_404(Record, record_id)
    if current_user.team_id != record.team_id or not current_user.can(Can.WORK_WITH_PAPERS):
        abort(403)
    if (open_removal := record.open_removal()) is not None:
        return _already_open(record, open_removal)
    if record.papers_gone:
        abort(409, GONE_MESSAGE)
    form = RequestRemoval()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        try:
            removal = start_removal(record, form.values, current_user)
        except InputError as error:
            for field, message in error.errors.items():
                errors.add(field, message)
        except IntegrityError:  # someone asked for these papers in the same moment
            return _already_open(record, record.open_removal())
        else:
            return redirect(url_for("records.show", record_id=removal.record_id), code=303)
    approvers, asked = approvers_of(current_user, record.team_id)
    return render_template(
        "records/request.html",
        title="Take papers out of the office",
        record=record,
        purposes=PURPOSES,
        form=form.typed() if request.method == "POST" else {},
        errors=errors,
        asked=[person.display_name for person in asked],
        route=approvers.route,
    ), 422 if errors else 200


def _already_open(record: Record, removal: Removal | None):
    """Say the papers already have a removal open, and where it is. Opening the page is no
    mistake (200); only a request sent anyway is refused (409), and nothing was saved."""
    return render_template(
        "records/already_open.html",
        title="These papers already have an open removal",
        record=record,
        removal=removal,
        state_labels=STATE_LABELS,
        refused=request.method == "POST",
    ), 409 if request.method == "POST" else 200


def start_removal(record: Record, values: dict, person, kiosk_id: int | None = None) -> Removal:
    """Ask for a removal of `record`'s papers for `person` (at a kiosk when `kiosk_id`)."""
    now = clock.now()
    actor = person.as_actor()
    approvers, _ = approvers_of(person, record.team_id)

    def create() -> Removal:
        return Removal.create(
            record=record,
            team=record.team_id,
            for_user=person.id,
            requested_by=person.id,
            requester_manager=person.line_manager_id,
            approval_route=approvers.route,
            purpose=values["purpose"],
            purpose_other=values["purpose_other"] if values["purpose"] == "other" else None,
            papers=values["papers"],
            due_kind=values["due_kind"],
            due_on=values["due_on"],
        )

    return apply_transition(
        load=create,
        factory=removal_machine,
        event="request",
        actor=actor,
        entity_type="removal",
        now=now,
        values={},
        expected_version=None,
        kiosk_id=kiosk_id,
        summary={
            "purpose": values["purpose"],
            "papers": values["papers"],
            "due_kind": values["due_kind"],
            "due_on": values["due_on"].isoformat(),
        },
    )


# -- Transitions --------------------------------------------------------------------------

# What the confirmation page asks before each event nothing undoes, and what it warns.
CONFIRMS = {
    "return_papers": Confirm(
        "Are the papers back in the office?",
        "Only confirm once the papers are back. This closes the removal: it cannot be undone.",
    ),
    "cancel": Confirm(
        "Cancel this request?",
        "A cancelled request cannot be reopened. Ask again if the papers are needed.",
    ),
    "decline": Confirm(
        "Decline this request?",
        "A declined request cannot be reopened. The person who asked will be told why.",
        bad_news=True,
    ),
    "destroy": Confirm(
        "Record that the papers were destroyed?",
        "Only confirm once the papers have been destroyed. This closes the removal for good.",
    ),
    "report_lost": Confirm(
        "Report the papers lost?",
        "This opens a breach case straight away, and cannot be undone.",
        bad_news=True,
    ),
}


CUSTODY = Lifecycle(
    model=Removal,
    factory=removal_machine,
    form_for=lambda event, removal: EVENT_FORMS[event],
    stale=changed_meanwhile("removal", "Its status below is up to date: check it and try again."),
    refused=lambda removal, event: (
        f"You cannot {EVENT_LABELS[event].lower()} now: the removal "
        f"is {STATE_LABELS[removal.state].lower()}."
    ),
    confirms=CONFIRMS,
    acting_for=lambda removal, event, actor: _acting_for(removal, event, actor),
    blocked=take_out_blocked,
)

# Events someone may send for the holder: the audit trail names both.
FOR_THE_HOLDER = ("return_papers", "destroy", "report_lost")


def _acting_for(removal: Removal, event: str, actor) -> dict:
    if event in FOR_THE_HOLDER and actor.id != removal.for_user_id:
        return {"on_behalf_of": removal.for_user.display_name}
    return {}


def removal_facts(removal: Removal) -> list[tuple[str, str]]:
    """What a removal is, in words, for the page that confirms an event on it."""
    due = "Due back by" if removal.due_kind == "return" else "To be destroyed by"
    return [
        ("Papers", removal.papers),
        ("For", removal.for_user.display_name),
        (due, uk_date(removal.due_on)),
    ]


def confirm_removal_event(removal: Removal, event: str, outcome, back_href: str, **page):
    """The page that asks before `event` on `removal` (the record page's, or the kiosk's)."""
    words, button = CONFIRMS[event], EVENT_LABELS[event]
    if event == "report_lost":
        gone = lost_or_stolen(outcome.form.category.data)
        words = dataclasses.replace(words, question=f"Report the papers {gone}?")
        button = f"Report {gone}"
    return confirmation(
        outcome,
        words,
        caption=f"{removal.record.description} (case {removal.record.case_id})",
        about=removal_facts(removal),
        button=button,
        back_href=back_href,
        **page,
    )


@bp.post("/removals/<int:removal_id>/<event>")
def transition(removal_id: int, event: str):
    removal = by_id(Removal, removal_id)
    if removal is None or event not in EVENT_LABELS:
        abort(404)
    record = visible_or_404(Record, removal.record_id)
    outcome = run_event(CUSTODY, removal, event, current_user.as_actor())
    if outcome.confirm:
        back = url_for("records.show", record_id=record.id)
        return confirm_removal_event(removal, event, outcome, back)
    errors, form, status = outcome.errors, outcome.typed, outcome.status
    if is_htmx():
        context = _panel_context(record, errors, form)
        # Say what was done: the success banner takes the focus, so it is read out.
        said = outcome.said
        if event == "report_lost" and outcome.done and context["lost_case"]:
            said = context["lost_case"]["said"]
        if errors:
            return render_template("records/_status_panel.html", outcome=said, **context), status
        # The history and timeline changed too: sent with the panel, swapped out of band.
        # After a change that was made, the next steps' forms come when opened (lazy_forms).
        return render_template(
            "records/_changed.html",
            outcome=said,
            lazy_forms=True,
            out_of_band=True,
            **{**context, **_history_context(record)},  # the two share a label or two
        ), status
    if errors:
        return _render_record_page(record, errors, form, status)
    # The page says what was done (as the htmx panel does): the event's id, nothing personal.
    return redirect(url_for("records.show", record_id=record.id, done=event), code=303)


# -- Line managers' approvals -----------------------------------------------------------


@bp.get("/approvals")
def approvals():
    # Anyone may be someone's line manager: the lists hold exactly what this person may
    # decide (Removal.awaiting_approval_for), which for most people is nothing. Each list
    # pages on its own (?requests=, ?more_time=, ?remote=) so that none is ever cut short.
    counts = waiting_counts(current_user)
    requests = page_of(
        Removal.awaiting_approval_for(current_user),
        total=counts["pending"],
        param="requests",
    )
    more_time = page_of(
        Removal.more_time_asked_of(current_user),
        total=counts["more_time"],
        param="more_time",
    )
    remote = page_of(
        RemoteAgreement.waiting_for(current_user),
        total=counts["remote"],
        param="remote",
    )
    return render_template(
        "records/approvals.html",
        title="Requests to approve",
        pending=requests,
        more_time=more_time,
        remote=remote,
        pagination={
            "requests": requests.links("records.approvals", "Requests to approve"),
            "more_time": more_time.links("records.approvals", "Asks for more time"),
            "remote": remote.links("records.approvals", "Asks to work remotely"),
        },
        purposes=dict(PURPOSES),
    )


# -- Label sheets -------------------------------------------------------------------------

LABELS_PER_SHEET = 21  # Avery L7160 and equivalents: 3 × 7 labels of 63.5 × 38.1 mm


def label_qr(label_code: str):
    """The QR code printed on a record's label: its code alone.

    A full QR code, never a Micro QR (segno picks one for short text unless told): the
    browser's decoders ("Scan label": BarcodeDetector, qr-scanner) read full QR codes only.
    """
    import segno

    return segno.make(label_code, error="m", micro=False)


@bp.get("/records/labels")
@requires(Can.WORK_WITH_PAPERS)
def labels():
    """A printable A4 sheet of QR labels for the team's records (label code only in the QR)."""
    if not current_user.team_id:
        abort(403)
    # Newest first: the labels people come to print are for the records just added.
    query = Record.select().where(Record.team == current_user.team_id).order_by(Record.id.desc())
    sheet = page_of(query, size=LABELS_PER_SHEET)
    records = sheet.rows
    codes = {
        r.id: label_qr(r.label_code).svg_inline(scale=3, border=1, omitsize=True) for r in records
    }
    return render_template(
        "records/labels.html",
        title="Print record labels",
        records=records,
        codes=codes,
        sheet=sheet,
    )
