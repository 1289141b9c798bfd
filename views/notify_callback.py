"""GOV.UK Notify's delivery receipts: POST /notify/callback, one message's status each.

Notify calls this address (set in the service's API integration settings) with the bearer
token the council chose there, NOTIFY_CALLBACK_TOKEN. It is the one POST without a sign-in
or a CSRF token: the token is the whole of its authentication, compared in constant time,
and any other request is refused with 401. The body is small JSON; anything else is 400,
and an id Safekeep never sent is 404, saying no more. Answers are JSON, never a page.
"""

from __future__ import annotations

import hmac
import json

from flask import Blueprint, current_app, jsonify, request

from machines import clock
from machines.security_log import security_event
from models.base import Stale
from models.deliveries import NOTIFY_STATUSES
from services.deliveries import apply_status
from services.notify import NOTIFY_ID

bp = Blueprint("notify", __name__)

# Notify's receipt is a dozen short fields: a few hundred bytes. Nothing bigger is read.
MAX_CALLBACK_BYTES = 8 * 1024


def _answer(status: int, result: str):
    response = jsonify(result=result)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _authorised() -> bool:
    expected = current_app.config.get("NOTIFY_CALLBACK_TOKEN") or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Constant time: a guess learns nothing from how long the comparison took.
    return bool(expected) and hmac.compare_digest(
        (given.strip() if scheme.lower() == "bearer" else "").encode(), expected.encode()
    )


@bp.post("/notify/callback")
def callback():
    """Take one delivery receipt."""
    if not _authorised():
        security_event("notify_callback_refused")
        response = _answer(401, "unauthorised")
        response.headers["WWW-Authenticate"] = 'Bearer realm="notify-callback"'
        return response
    declared = request.content_length
    if declared is not None and declared > MAX_CALLBACK_BYTES:
        return _answer(413, "too large")
    raw = request.stream.read(MAX_CALLBACK_BYTES + 1)
    if len(raw) > MAX_CALLBACK_BYTES:
        return _answer(413, "too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "not JSON")
    if not isinstance(body, dict):
        return _answer(400, "not a delivery receipt")
    notify_id, status = body.get("id"), body.get("status")
    if not (isinstance(notify_id, str) and NOTIFY_ID.fullmatch(notify_id)):
        return _answer(400, "no message id")
    if status not in NOTIFY_STATUSES:
        return _answer(400, "not a status")
    try:
        delivery = apply_status(notify_id, status, clock.now())
    except Stale:
        return _answer(503, "busy: send again")  # Notify retries a failed callback
    if delivery is None:
        return _answer(404, "not found")
    return _answer(200, "ok")
