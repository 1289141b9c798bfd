"""The team-base kiosk: a shared PC signed in as a kiosk account, with a USB barcode scanner.

A person identifies with their staff number and PIN, scans a record's label (the scanner
types the code and Enter), and takes out or returns papers. They are signed out of the
kiosk after each completed action and after 60 seconds without input. The audit trail
records both the person and the kiosk.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from machines.common import enabled_events
from machines.permissions import Can
from machines.removal import EVENT_LABELS, RemovalMachine
from models.audit import AuditEvent
from models.base import write_transaction
from models.people import KIOSK_LOCKOUT, LOCKOUT, KioskFailure, User, verify_secret
from models.records import Record, Removal
from services import clock
from views.forms.people import KioskIdentify, KioskScan
from views.records import CUSTODY
from views.transitions import run_event

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

IDLE = dt.timedelta(seconds=60)
KIOSK_EVENTS = ("take_out", "return_papers")
_CHANGED = "This has changed since you scanned it. Scan the label again."
# The custody lifecycle as the kiosk runs it: its two events, and one message when the
# papers moved on since the scan (stale or no longer allowed alike).
KIOSK_CUSTODY = replace(
    CUSTODY,
    stale=_CHANGED,
    refused=lambda removal, event: _CHANGED,
)


def require_kiosk() -> None:
    if not current_user.can(Can.KIOSK_DEVICE):
        abort(403)


def kiosk_person() -> User | None:
    """The person using the kiosk now, or None (and forgotten) after 60 seconds idle."""
    person_id = session.get("kiosk_person")
    last = session.get("kiosk_seen")
    if not person_id or last is None:
        return None
    now = clock.now()
    if now - dt.datetime.fromisoformat(last) > IDLE:
        forget_person()
        return None
    person = User.get_or_none(User.id == person_id, User.active == True)  # noqa: E712
    if person is not None:
        session["kiosk_seen"] = now.isoformat()
    return person


def forget_person() -> None:
    session.pop("kiosk_person", None)
    session.pop("kiosk_seen", None)


@bp.get("/")
def index():
    require_kiosk()
    person = kiosk_person()
    return render_template(
        "kiosk/index.html",
        title="Kiosk",
        person=person,
        errors={},
        done=request.args.get("done"),
        timed_out=request.args.get("timed_out") == "1",
    )


@bp.post("/identify")
def identify():
    require_kiosk()
    form = KioskIdentify()
    errors = form.check()
    staff_number, pin = form.staff_number.data, form.pin.data
    person = None
    status = 422
    if not errors:
        now = clock.now()
        paused_until = KioskFailure.locked_until(current_user.id, now)
        if paused_until is not None:
            # Someone may be trying one PIN against many staff numbers: this kiosk waits.
            minutes = max(1, math.ceil((paused_until - now).total_seconds() / 60))
            errors.add(
                "staff_number",
                "Too many wrong staff numbers or PINs were entered at "
                f"this kiosk. Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
                "or use your own laptop",
            )
            status = 429
        else:
            person, problem = _check_pin(staff_number, pin)
            if person is None:
                errors.add("staff_number", problem)
                status = 401
    if errors:
        headers = {"Retry-After": str(int(KIOSK_LOCKOUT.total_seconds()))} if status == 429 else {}
        return (
            render_template(
                "kiosk/index.html",
                title="Kiosk",
                person=None,
                errors=errors,
                staff_number=form.staff_number.typed,
            ),
            status,
            headers,
        )
    session["kiosk_person"] = person.id
    session["kiosk_seen"] = clock.now().isoformat()
    return redirect(url_for("kiosk.index"), code=303)


def _check_pin(staff_number: str, pin: str) -> tuple[User | None, str]:
    now = clock.now()
    person = User.get_or_none(User.staff_number == staff_number)
    if person is not None and person.pin_is_locked(now):
        with write_transaction():
            _kiosk_failure(now)
        return None, "Too many wrong PINs. Try again in 15 minutes or use your own laptop"
    ok = verify_secret(person.pin_hash if person else None, pin)
    if not ok or not person.active or person.team_id != current_user.team_id:
        with write_transaction():
            if person is not None and person.record_failed_pin(now):
                AuditEvent.append(
                    at=now,
                    actor_id=None,
                    entity_type="user",
                    entity_id=person.id,
                    event="pin_locked",
                    kiosk_id=current_user.id,
                    summary={"minutes": int(LOCKOUT.total_seconds() // 60)},
                )
            _kiosk_failure(now)
        return None, "Enter a correct staff number and PIN"
    person.record_pin_success()
    return person, ""


def _kiosk_failure(now: dt.datetime) -> None:
    """Count a failed identification at this kiosk (in the caller's transaction); when it
    pauses the kiosk, say so in the audit trail in the same transaction."""
    if KioskFailure.record(current_user.id, now):
        AuditEvent.append(
            at=now,
            actor_id=current_user.id,
            entity_type="user",
            entity_id=current_user.id,
            event="kiosk_paused",
            kiosk_id=current_user.id,
            summary={"minutes": int(KIOSK_LOCKOUT.total_seconds() // 60)},
        )


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
        return render_template("kiosk/index.html", title="Kiosk", person=person, errors=errors), 422
    return _render_record(person, record)


def _render_record(person: User, record: Record, errors=None, status: int = 200):
    removal = record.open_removal()
    events = []
    if removal is not None:
        events = [
            e
            for e in enabled_events(RemovalMachine, removal, person.as_actor(), clock.now())
            if e in KIOSK_EVENTS
        ]
    return render_template(
        "kiosk/record.html",
        title="Kiosk",
        person=person,
        record=record,
        removal=removal,
        events=events,
        event_labels=EVENT_LABELS,
        errors=errors or {},
    ), status


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
    if not outcome.done:
        return _render_record(person, removal.record, outcome.errors, outcome.status)
    forget_person()  # signed out of the kiosk after each completed action
    return redirect(url_for("kiosk.index", done=event), code=303)
