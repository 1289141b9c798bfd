"""The error page every refusal and failure shows: the GOV.UK page, or for htmx an alert.

Apart from the package's __init__ (which registers the handlers that call it) so that a
blueprint refusing something itself (admin, the outage handler) need not import the package
that imports it.
"""

from __future__ import annotations

from flask import make_response, render_template, request
from flask_login import current_user

from machines.permissions import Can
from machines.security_log import security_event
from views.htmx import fragment_elsewhere, is_htmx

ERROR_PAGES = {
    400: ("Your form could not be sent", "errors/400.html"),
    403: ("You do not have access to this page", "errors/403.html"),
    404: ("Page not found", "errors/404.html"),
    405: ("Page not found", "errors/404.html"),
    409: ("Someone else has changed this", "errors/409.html"),
    413: ("What you sent was too large", "errors/413.html"),
    500: ("Sorry, there is a problem with the service", "errors/500.html"),
    503: ("Sorry, the service is unavailable", "errors/503.html"),
    # A form sent from another website (views/origin.py): refused, 403.
    "other_site": ("Your form could not be sent", "errors/400.html"),
}


def signed_in_id() -> int | None:
    try:
        return current_user.id if current_user.is_authenticated else None
    except Exception:  # the error may be the database itself
        return None


def _kiosk_account() -> bool:
    """True when the shared team-base PC's account asks: its pages keep the kiosk layout."""
    try:
        return bool(current_user.is_authenticated and current_user.can(Can.KIOSK_DEVICE))
    except Exception:  # the error may be the database itself: then the plain page
        return False


def render_error(status: int, message: str | None = None, page: str | None = None):
    """The error page for a status, or for `page` (a refusal of its own, logged by its caller)."""
    title, template = ERROR_PAGES.get(page or status, ERROR_PAGES[500])
    if page is None and (status == 403 or (status == 404 and request.view_args)):
        # Refused, or not found by someone without need to know (the same 404): on record.
        security_event(
            "access_denied",
            user_id=signed_in_id(),
            status=status,
            endpoint=request.endpoint,
            **{k: v for k, v in (request.view_args or {}).items() if isinstance(v, int)},
        )
    if is_htmx():
        if status == 413 and message is None:
            message = "Nothing was saved. Make the text shorter and send it again."
        body = render_template("errors/_alert.html", title=title, message=message, status=status)
        return fragment_elsewhere(body, status, "#app-alerts")
    context = {"title": title, "message": message}
    if _kiosk_account():
        # The kiosk's own header and a way back to it; no "Sign out" for the kiosk account.
        # The person identified at the kiosk keeps their "sign me out" button and idle timer
        # (not on a 500, which may be the database failing).
        from views.kiosk import kiosk_person

        context.update(kiosk_layout=True, person=kiosk_person() if status != 500 else None)
    return make_response(render_template(template, **context), status)
