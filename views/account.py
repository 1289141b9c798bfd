"""A person's own account: set the PIN they use at team-base kiosks."""

from __future__ import annotations

import re

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from models.audit import AuditEvent
from models.base import db
from models.people import LOCKOUT_MINUTES, User, hash_secret
from services import clock
from views.forms import FormErrors
from views.forms.people import SetPin

bp = Blueprint("account", __name__, url_prefix="/account")

PIN = re.compile(r"[0-9]{4,8}")
OBVIOUS = {"0000", "1111", "1234", "12345", "123456", "4321", "9999"}


@bp.route("/pin", methods=["GET", "POST"])
def pin():
    form = SetPin()
    errors = form.check() if request.method == "POST" else FormErrors()
    if request.method == "POST":
        password, new_pin, confirm = form.password.data, form.pin.data, form.pin_confirm.data
        if password:
            # The same counted, locking check as signing in: this page is no way round it.
            check = current_user.check_password(password, clock.now(), purpose="set_pin")
            if check.refused_locked or check.locked_now:
                errors.add(
                    "password",
                    "Your account is locked after too many wrong passwords. "
                    f"Try again in {LOCKOUT_MINUTES} minutes",
                )
            elif not check.ok:
                errors.add("password", "Your password is not correct")
        if not PIN.fullmatch(new_pin):
            errors.add("pin", "Enter a PIN of 4 to 8 digits")
        elif new_pin in OBVIOUS or len(set(new_pin)) == 1:
            errors.add("pin", "Choose a PIN that is harder to guess")
        elif new_pin != confirm:
            errors.add("pin_confirm", "The PINs do not match")
        errors = errors.in_order(form.field_names)
        if not errors:
            now = clock.now()
            with db.atomic():
                User.update(
                    pin_hash=hash_secret(new_pin), failed_pins=0, pin_locked_until=None
                ).where(User.id == current_user.id).execute()
                AuditEvent.append(
                    at=now,
                    actor_id=current_user.id,
                    entity_type="user",
                    entity_id=current_user.id,
                    event="set_pin",
                )
            return redirect(url_for("home.index", pin_set=1), code=303)
    return render_template("account/pin.html", title="Set your kiosk PIN", errors=errors), (
        422 if errors else 200
    )
