"""An e-mail to the breach chain that did not arrive: the Information and Records Manager
records telling the person another way (services.deliveries.record_told_another_way), so
the case counts them as told again and the message leaves the raised list."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from machines import clock
from machines.permissions import Can
from models.base import Stale
from models.breaches import Breach
from models.deliveries import Delivery
from services.deliveries import AlreadyFollowedUp, needs_follow_up, record_told_another_way
from services.message_kinds import KIND_LABELS
from views.access import requires, visible_or_404
from views.display import delivery_words
from views.forms import FormErrors
from views.forms.breaches import ToldAnotherWay
from views.transitions import changed_meanwhile

bp = Blueprint("told_another_way", __name__)

ALREADY = (
    "This has already been dealt with: the e-mail was delivered after all, or someone "
    "recorded telling the person. The case's notification list is up to date."
)


def _delivery_of(breach: Breach, delivery_id: int) -> Delivery:
    delivery = Delivery.get_or_none(
        (Delivery.id == delivery_id)
        & (Delivery.subject_type == "breach")
        & (Delivery.subject_id == breach.id)
    )
    if delivery is None or delivery.raised_at is None:
        abort(404)
    return delivery


@bp.get("/breaches/<int:breach_id>/emails/<int:delivery_id>/told")
@bp.post("/breaches/<int:breach_id>/emails/<int:delivery_id>/told")
@requires(Can.FOLLOW_UP_UNDELIVERED)
def record(breach_id: int, delivery_id: int):
    breach = visible_or_404(Breach, breach_id)
    delivery = _delivery_of(breach, delivery_id)
    form = ToldAnotherWay()
    errors, status = FormErrors(), 200
    if not needs_follow_up(delivery):
        errors.add("who", ALREADY, "what-happened")
        status = 409
    elif request.method == "POST":
        now = clock.now()
        errors = form.check()
        told_at = form.told_at.data
        if not errors and told_at > now:
            errors.add("told_at", "When they were told must be in the past", "told_at-day")
        if not errors:
            try:
                record_told_another_way(delivery.id, form.who.data, told_at, current_user.id, now)
            except AlreadyFollowedUp:
                errors.add("who", ALREADY, "what-happened")
                status = 409
            except Stale:
                errors.add("who", changed_meanwhile("e-mail", "Check it again below."))
                status = 409
            else:
                return redirect(
                    url_for("breaches.show", breach_id=breach.id) + "#notifications", code=303
                )
        if errors and status == 200:
            status = 422
        delivery = Delivery.get_by_id(delivery.id)
    return render_template(
        "breaches/told_another_way.html",
        title="Record telling them another way",
        breach=breach,
        delivery=delivery,
        what=KIND_LABELS.get(delivery.kind, delivery.kind),
        happened=delivery_words(delivery, clock.now()),
        form=form.typed() if request.method == "POST" else {},
        errors=errors.in_order(form.field_names),
        open=needs_follow_up(delivery),
    ), status
