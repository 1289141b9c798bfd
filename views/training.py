"""Data protection training: a line manager allows one removal while a report's has lapsed.

The rules are machines/training.py's, the change services/training.py's: 422 for the reason
typed, 409 when no exception can be allowed as things stand, 403 for anyone but the person's
own line manager.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from machines import clock
from machines.common import uk_date
from machines.permissions import Can
from models.people import User
from models.training import training_of
from services.training import (
    ExceptionRefused,
    NotTheirManager,
    ReasonError,
    allow_exception,
    refusal,
)
from views.access import requires
from views.errors import render_error
from views.forms import FormErrors
from views.forms.accounts import TrainingException

bp = Blueprint("training", __name__, url_prefix="/training")


@bp.get("/<int:person_id>/allow-removal")
@bp.post("/<int:person_id>/allow-removal")
@requires(Can.LINE_MANAGE)
def allow_removal(person_id: int):
    person = User.get_or_none(User.id == person_id)
    if person is None or person.line_manager_id != current_user.id or not person.active:
        return render_error(403)
    form = TrainingException()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        try:
            allow_exception(current_user, person.id, form.reason.data, clock.now())
        except NotTheirManager:
            return render_error(403)
        except ExceptionRefused as refused:
            return render_error(409, str(refused))
        except ReasonError as problem:
            errors = FormErrors({"reason": str(problem)})
        else:
            return redirect(url_for("home.index", done="training_exception"), code=303)
    elif request.method == "GET":
        training = training_of(person)
        now = clock.now()
        if training.exception_id is not None or training.in_date(uk_date(now)):
            return render_error(409, refusal(person, training, now))
    return render_template(
        "training/allow_removal.html",
        title=f"Allow one removal: {person.display_name}",
        person=person,
        training=training_of(person),
        form=form.typed() if request.method == "POST" else {},
        errors=errors,
    ), 422 if errors else 200
