"""The team-base kiosk: a shared PC signed in as a kiosk account, with a USB barcode scanner.

A person identifies with their staff number and PIN, scans a record's label (the scanner
types the code and Enter), and takes out or returns papers. They are signed out of the
kiosk after each completed action and after 60 seconds without input. The audit trail
records both the person and the kiosk.
"""

from __future__ import annotations

import math
from dataclasses import replace

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from peewee import IntegrityError

from machines import clock
from machines.common import InputError, enabled_events
from machines.permissions import Can
from machines.removal import EVENT_LABELS, PURPOSES, RemovalMachine
from models.people import (
    KIOSK_LOCKOUT,
    LOCKOUT_MINUTES,
    MAX_FAILED_SIGN_INS,
    KioskSession,
    User,
)
from models.records import Record, Removal
from models.sign_ins import identify_at_kiosk
from views.camera import offer_scanning
from views.forms import FormErrors
from views.forms.people import KioskIdentify, KioskScan
from views.forms.records import RequestRemoval
from views.records import CUSTODY, confirm_removal_event, start_removal
from views.training_stops import take_out_stopped
from views.transitions import run_event

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

KIOSK_EVENTS = ("take_out", "return_papers")
_CHANGED = "This has changed since you scanned it. Scan the label again."
# The custody lifecycle as the kiosk runs it: its two events, one message when the papers
# moved on since the scan (stale or no longer allowed alike), and a confirmation before a
# return (nothing undoes it).
KIOSK_CUSTODY = replace(
    CUSTODY,
    stale=_CHANGED,
    refused=lambda removal, event: _CHANGED,
    confirms={"return_papers": CUSTODY.confirms["return_papers"]},
)
# One refusal for a wrong PIN, an unknown staff number, a locked PIN, another team's person and
# no PIN set: the kiosk does not tell a passer-by which staff numbers exist or are locked.
IDENTIFY_FAILED = (
    f"Enter a correct staff number and PIN. After {MAX_FAILED_SIGN_INS} wrong PINs a PIN is "
    f"locked for {LOCKOUT_MINUTES} minutes"
)


def require_kiosk() -> None:
    if not current_user.can(Can.KIOSK_DEVICE):
        abort(403)


def kiosk_person() -> User | None:
    """The person identified at this kiosk now, kept on the server (models.people.KioskSession).

    Each request from the kiosk counts as their input; after 60 seconds without any they
    are forgotten. The kiosk's cookie names only the kiosk's own sign-in.
    """
    if "kiosk_person" not in g:
        person, timed_out = KioskSession.current(current_user.session_id, clock.now())
        g.kiosk_person, g.kiosk_timed_out = person, timed_out
    return g.kiosk_person


def forget_person() -> None:
    KioskSession.end(current_user.session_id)
    g.kiosk_person = None


def _render_index(person=None, errors=None, status: int = 200, **context):
    if person is not None:
        offer_scanning()  # the label may be read by the kiosk's camera as well as typed
    return render_template(
        "kiosk/index.html",
        title="Scan a label" if person else "Identify yourself",
        person=person,
        errors=errors or {},
        **context,
    ), status


@bp.get("/")
def index():
    require_kiosk()
    person = kiosk_person()
    return _render_index(
        person,
        done=request.args.get("done"),
        timed_out=request.args.get("timed_out") == "1" or g.kiosk_timed_out,
    )


@bp.post("/identify")
def identify():
    require_kiosk()
    form = KioskIdentify()
    errors = form.check()
    staff_number, pin = form.staff_number.data, form.pin.data
    if errors:
        return _render_index(errors=errors, status=422, staff_number=form.staff_number.typed)
    now = clock.now()
    result = identify_at_kiosk(current_user, staff_number, pin, now)
    if result.person is not None:
        # The next person replaces whoever was identified before.
        KioskSession.begin(current_user.session_id, result.person, now)
        return redirect(url_for("kiosk.index"), code=303)
    if result.paused_until is not None:
        # Someone may be trying one PIN against many staff numbers: this kiosk waits.
        minutes = max(1, math.ceil((result.paused_until - now).total_seconds() / 60))
        errors.add(
            "staff_number",
            "Too many wrong staff numbers or PINs were entered at "
            f"this kiosk. Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
            "or use your own laptop",
        )
        response = _render_index(errors=errors, status=429, staff_number=staff_number)
        return (*response, {"Retry-After": str(int(KIOSK_LOCKOUT.total_seconds()))})
    errors.add("staff_number", IDENTIFY_FAILED)
    return _render_index(errors=errors, status=401, staff_number=staff_number)


@bp.post("/sign-out")
def sign_out_person():
    require_kiosk()
    forget_person()
    return redirect(url_for("kiosk.index"), code=303)


@bp.get("/timeout")
def timeout():
    """Where the kiosk's idle timer sends the screen: forget the person."""
    require_kiosk()
    forget_person()
    return redirect(url_for("kiosk.index", timed_out=1), code=303)


@bp.post("/still-here")
def still_here():
    """Input at the kiosk (the script sends this, throttled): keep the person identified.

    204 while they are; 410 once they have been forgotten, so the screen goes back to the
    start instead of letting them carry on with a form that will be refused.
    """
    require_kiosk()
    return ("", 204) if kiosk_person() is not None else ("", 410)


def _record_for_kiosk(label_code: str) -> Record | None:
    record = Record.get_or_none(Record.label_code == label_code.strip().upper())
    if record is None or record.team_id != current_user.team_id:
        return None
    return record


@bp.post("/scan")
def scan():
    require_kiosk()
    person = kiosk_person()
    if person is None:
        return redirect(url_for("kiosk.index", timed_out=1), code=303)
    form = KioskScan()
    errors = form.check()
    record = None if errors else _record_for_kiosk(form.label_code.data)
    if not errors and record is None:
        errors.add("label_code", "No record of this team has that label code")
    if errors:
        return _render_index(person, errors, 422)
    return _render_record(person, record)


def _render_record(
    person: User, record: Record, errors=None, status: int = 200, form: dict | None = None
):
    removal = record.open_removal()
    events = []
    actor, now = person.as_actor(), clock.now()
    if removal is not None:
        # At the kiosk the papers are in hand: a colleague may bring them back for the holder.
        enabled = enabled_events(RemovalMachine, removal, actor, now, kiosk_id=current_user.id)
        events = [e for e in enabled if e in KIOSK_EVENTS]
    return render_template(
        "kiosk/record.html",
        title=record.description,
        person=person,
        record=record,
        removal=removal,
        events=events,
        training_stop=take_out_stopped(removal, actor, now),
        event_labels=EVENT_LABELS,
        can_request=removal is None and not record.papers_gone and _may_ask(person, record),
        purposes=PURPOSES,
        form=form or {},
        errors=errors or {},
    ), status


def _may_ask(person: User, record: Record) -> bool:
    return person.team_id == record.team_id and person.can(Can.WORK_WITH_PAPERS)


@bp.post("/records/<int:record_id>/request")
def request_removal(record_id: int):
    """Ask for papers at the kiosk, no laptop needed: an agreed purpose goes straight on to
    the safeguards and take-out; anything else waits for approval as it would on a laptop."""
    require_kiosk()
    person = kiosk_person()
    if person is None:
        return redirect(url_for("kiosk.index", timed_out=1), code=303)
    record = Record.get_or_none(Record.id == record_id)
    if record is None or record.team_id != current_user.team_id:
        abort(404)
    if not _may_ask(person, record):
        abort(403)
    if record.open_removal() is not None or record.papers_gone:
        return _render_record(person, record, FormErrors(status=_CHANGED), 409)
    form = RequestRemoval()
    errors = form.check()
    if not errors:
        try:
            removal = start_removal(record, form.values, person, kiosk_id=current_user.id)
        except InputError as error:
            for field, message in error.errors.items():
                errors.add(field, message)
        except IntegrityError:
            return _render_record(person, record, FormErrors(status=_CHANGED), 409)
    if errors:
        return _render_record(person, record, errors, 422, form.typed())
    if removal.state == "approved_for_removal":
        return _render_record(person, record)  # on to the safeguards, still identified
    forget_person()
    return redirect(url_for("kiosk.index", done="request"), code=303)


@bp.post("/removals/<int:removal_id>/<event>")
def act(removal_id: int, event: str):
    require_kiosk()
    person = kiosk_person()
    if person is None:
        return redirect(url_for("kiosk.index", timed_out=1), code=303)
    removal = Removal.get_or_none(Removal.id == removal_id)
    if removal is None or event not in KIOSK_EVENTS or removal.team_id != current_user.team_id:
        abort(404)
    outcome = run_event(KIOSK_CUSTODY, removal, event, person.as_actor(), kiosk_id=current_user.id)
    if outcome.confirm:
        return confirm_removal_event(
            removal,
            event,
            outcome,
            url_for("kiosk.index"),
            template="kiosk/confirm.html",
            person=person,
            removal_for=removal.for_user.display_name,
        )
    if not outcome.done:
        return _render_record(person, removal.record, outcome.errors, outcome.status)
    forget_person()  # signed out of the kiosk after each completed action
    return redirect(url_for("kiosk.index", done=event), code=303)
