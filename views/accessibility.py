"""The accessibility statement the 2018 Regulations require: public, like the sign-in page."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from machines.permissions import Can

bp = Blueprint("accessibility", __name__)

# Change these when the statement is reviewed or the service is tested again.
PREPARED_ON = dt.date(2026, 11, 29)
REVIEWED_ON = dt.date(2026, 11, 29)
TESTED_IN = "November 2026"


@bp.get("/accessibility")
def statement():
    kiosk = current_user.is_authenticated and current_user.can(Can.KIOSK_DEVICE)
    person = None
    if kiosk:
        # The kiosk PC keeps its own frame here: a way back and no "Sign out" for passers-by.
        from views.kiosk import kiosk_person

        person = kiosk_person()
    return render_template(
        "accessibility/statement.html",
        title="Accessibility statement",
        kiosk_layout=kiosk,
        person=person,
        contact_email=current_app.config["ACCESSIBILITY_EMAIL"],
        idle_minutes=current_app.config["SESSION_IDLE_MINUTES"],
        prepared_on=PREPARED_ON,
        reviewed_on=REVIEWED_ON,
        tested_in=TESTED_IN,
    )
