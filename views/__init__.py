"""Blueprints, one per feature, and what every response shares: sign-in, headers, errors."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    redirect,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from machines import clock
from machines.permissions import Can
from models.people import KIOSK_PERSON_IDLE
from views.access import may_open
from views.auth import same_site_path
from views.camera import permissions_policy
from views.display import (
    link,
    state_tag,
    time_parts,
    timeline_details,
    timeline_label,
    training_words,
    uk_date,
    uk_datetime,
)
from views.errors import ERROR_PAGES, render_error
from views.forms import errors_list, field_error, joined_error
from views.forms.times import example_date
from views.htmx import client_redirect, current_page, is_htmx
from views.navigation import nav_items
from views.summary_list import govuk_summary_list
from views.summary_list import is_plain as summary_list_is_plain
from views.tables import govuk_table, has_attributes

# Endpoints anyone may reach without signing in. The session endpoints answer 401 themselves
# (the timeout warning's script asks them, and wants JSON, not the sign-in page).
PUBLIC_ENDPOINTS = {
    "auth.sign_in",
    "sso.start",
    "sso.callback",
    "account.reset_link",
    "account.reset_password",
    "auth.session_status",
    "auth.keep_alive",
    "accessibility.statement",
    "health.healthz",
    # GOV.UK Notify's receipts: its bearer token is checked by the view itself.
    "notify.callback",
    "static",
}


def register_views(app: Flask) -> None:
    from views import (
        accessibility,
        account,
        admin,
        auth,
        boards,
        breach_reports,
        breaches,
        dispatches,
        follow_through,
        health,
        home,
        kiosk,
        notify_callback,
        origin,
        records,
        register,
        remote_working,
        sso,
        told_another_way,
        training,
        unavailable,
        whereabouts,
    )

    del breach_reports  # its routes join the breaches blueprint
    for module in (
        accessibility,
        auth,
        account,
        health,
        home,
        records,
        breaches,
        follow_through,
        dispatches,
        kiosk,
        boards,
        register,
        admin,
        sso,
        remote_working,
        training,
        whereabouts,
        notify_callback,
        told_another_way,
    ):
        app.register_blueprint(module.bp)
    # Notify cannot hold a CSRF token: its bearer token is the check (views/notify_callback.py).
    app.extensions["csrf"].exempt(notify_callback.callback)

    app.add_template_global(clock.uk_today, "uk_today")
    app.add_template_global(Can)  # templates ask current_user.can(Can.X), as the views do
    app.add_template_global(govuk_table)
    app.add_template_global(has_attributes, "table_has_attributes")
    app.add_template_global(govuk_summary_list)
    app.add_template_global(summary_list_is_plain, "summary_list_is_plain")
    for helper in (
        errors_list,
        field_error,
        joined_error,
        link,
        may_open,
        nav_items,
        state_tag,
        timeline_label,
        timeline_details,
        time_parts,
        training_words,
        example_date,
    ):
        app.add_template_global(helper)
    for words in (uk_datetime, uk_date):
        app.add_template_filter(words)
    origin.init_app(app)  # first: a form from another site is refused, signed in or not
    app.before_request(_require_sign_in)
    app.after_request(_security_headers)
    app.context_processor(_layout_context)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    unavailable.init_app(app)  # database outages: 503, never the 500 above


# The kiosk screen warns this long before it forgets the person identified at it.
KIOSK_WARN_BEFORE = dt.timedelta(seconds=15)

# A kiosk account reaches the kiosk screens and nothing else (but the accessibility statement).
KIOSK_ENDPOINTS = {"auth.sign_out", "accessibility.statement", "health.healthz", "static"}

# While a temporary password waits to be changed, these are all a person can reach.
MUST_CHANGE_ENDPOINTS = {
    "account.change_password",
    "auth.sign_out",
    "auth.session_status",
    "auth.keep_alive",
    "accessibility.statement",
    "health.healthz",
    "static",
}


def _require_sign_in():
    if request.endpoint == "static":
        return None  # public, and asking who is signed in would cost a query per file
    if current_user.is_authenticated:
        if request.endpoint is None:
            return None  # no such page: "Page not found" for everyone, the kiosk included
        if current_user.can(Can.KIOSK_DEVICE) and not (
            request.endpoint in KIOSK_ENDPOINTS or (request.endpoint or "").startswith("kiosk.")
        ):
            if request.method == "GET" and request.endpoint == "home.index":
                return redirect(url_for("kiosk.index"))
            return render_error(403)
        if (
            current_user.must_change_password
            and current_user.session_via != "sso"
            and request.endpoint not in MUST_CHANGE_ENDPOINTS
        ):
            # An administrator's temporary password: nothing else until it is changed.
            target = url_for("account.change_password")
            return client_redirect(target) if is_htmx() else redirect(target, code=303)
        return None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    # Why the session ended, when this request found it past a limit: the sign-in page says so.
    ended = {"ended": g.session_ended} if getattr(g, "session_ended", None) else {}
    if is_htmx():
        # Back to the page the person was on (the board they left open), not the fragment.
        page = current_page()
        return client_redirect(url_for("auth.sign_in", **({"next": page} if page else {}), **ended))
    return redirect(url_for("auth.sign_in", next=_return_to(), **ended))


def _return_to() -> str:
    """Where to come back to after signing in: this page, or for a form sent after the
    session ended, the page the form was on (so what was typed can be put back)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path != url_for("auth.sign_in"):
        page = same_site_path(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
        if page:
            return page
    return request.path


def _security_headers(response):
    nonce = getattr(g, "csp_nonce", "")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        # "Scan label" decodes in a worker where the browser has no BarcodeDetector: its file
        # is served from here, never a blob: URL (services/scanner_vendor.py).
        "worker-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = permissions_policy()
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        # Served over HTTPS: browsers must never come back over plain HTTP (ASVS V3.4.1).
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        # Pages hold case details: never keep them for the back button of a shared PC.
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("HX-Request")
    return response


def _layout_context():
    return {
        "council_name": current_app.config["COUNCIL_NAME"],
        "service_name": current_app.config["SERVICE_NAME"],
        "cspNonce": getattr(g, "csp_nonce", None),
        "session_timing": _session_timing(),
        "training_months": current_app.config["TRAINING_VALID_MONTHS"],
        "kiosk_timing": {
            "idle_seconds": int(KIOSK_PERSON_IDLE.total_seconds()),
            "warn_seconds": int(KIOSK_WARN_BEFORE.total_seconds()),
        },
    }


def _session_timing() -> dict | None:
    """The staff session's limits for the timeout warning; None for no warning (signed out,
    a kiosk account, or the database failing on a 500 page)."""
    try:
        if not current_user.is_authenticated or current_user.can(Can.KIOSK_DEVICE):
            return None
    except Exception:
        return None
    started = current_user.session_started_at
    if started is None:
        return None
    idle = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    hours = float(current_app.config["SESSION_MAX_HOURS"])
    lifetime_end = started + dt.timedelta(hours=hours)
    return {
        "idle_seconds": idle,
        # Two minutes' warning (GOV.UK's pattern), or a quarter of a short limit.
        "warn_seconds": min(120, idle // 4),
        "lifetime_seconds": max(0, math.ceil((lifetime_end - clock.now()).total_seconds())),
        "max_hours": f"{hours:g} hour{'s' if hours != 1 else ''}",
    }


def _csrf_error(error: CSRFError):
    return render_error(
        400, "The page had been open too long or was changed. Go back, reload it and try again."
    )


def _http_error(error: HTTPException):
    if error.code in ERROR_PAGES:
        return render_error(error.code, error.description if error.code == 409 else None)
    return error


def _unexpected_error(error: Exception):
    from flask import current_app

    current_app.logger.exception("Unhandled error on %s %s", request.method, request.endpoint)
    if current_app.config.get("TESTING") and current_app.config.get("PROPAGATE_EXCEPTIONS", True):
        raise error
    return render_error(500)
