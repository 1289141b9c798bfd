"""Sign in and sign out. Sessions live on the server so signing out ends every copy."""

from __future__ import annotations

import datetime as dt
import math

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from machines import clock
from machines.security_log import security_event
from models.audit import AuditEvent
from models.base import db
from models.people import LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS, User, UserSession
from models.sign_ins import authenticate
from services.sso import local_password_allowed, sso_settings
from views.display import device_words
from views.forms.people import SignIn

bp = Blueprint("auth", __name__)


def same_site_path(target: str | None) -> str | None:
    """The target when it is a path on this site ("/board?team=2"), else None.

    Refuses "//host" and "/\\host" (browsers read a backslash as a slash, so both leave the
    site) and control characters (a browser drops tabs and newlines from a URL).
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return None
    return target


def _safe_next(target: str | None) -> str:
    return same_site_path(target) or url_for("home.index")


# One answer for every failed sign-in: a wrong password, an unknown username, a locked or a
# disabled account all look alike, so the page tells a stranger nothing about which accounts
# exist. It still tells the real person about the lock.
SIGN_IN_FAILED = (
    f"Enter a correct username and password. After {MAX_FAILED_SIGN_INS} wrong passwords an "
    f"account is locked for {LOCKOUT_MINUTES} minutes"
)


@bp.get("/sign-in")
@bp.post("/sign-in")
def sign_in():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    sso = sso_settings(current_app.config)
    form = SignIn()
    errors = form.check_posted()
    username = form.username.typed
    status = 200
    if request.method == "POST":
        if errors:
            status = 422
        else:
            user = authenticate(form.username.data, form.password.data, clock.now())
            if user is not None and not local_password_allowed(current_app.config, user):
                # SSO_ONLY: the same answer as a wrong password, after the same checking.
                security_event("sign_in_failed", user_id=user.id, reason="sso_only")
                user = None
            if user is not None:
                return start_session(user, via="password", next_url=request.args.get("next"))
            errors.add("username", SIGN_IN_FAILED)
            status = 401
    return (
        render_template(
            "auth/sign_in.html",
            errors=errors,
            username=username,
            signed_out=request.args.get("signed_out") == "1",
            password_set=request.args.get("password_set") == "1",
            ended=_ended_message(),
            sso=sso,
            show_password_form=sso is None or not sso.only or request.args.get("local") == "1",
        ),
        status,
    )


def _ended_message() -> str | None:
    """Why the person is on the sign-in page, when their session ran out."""
    reason = getattr(g, "session_ended", None) or request.args.get("ended")
    if reason == "idle":
        minutes = int(current_app.config["SESSION_IDLE_MINUTES"])
        return (
            f"You were signed out after {minutes} minute{'s' if minutes != 1 else ''} "
            "without activity."
        )
    if reason == "lifetime":
        hours = float(current_app.config["SESSION_MAX_HOURS"])
        shown = f"{hours:g} hour{'s' if hours != 1 else ''}"
        return f"You were signed out because you had been signed in for {shown}."
    return ENDED_ELSEWHERE.get(reason or "")


# Sessions ended by something other than their own limits (models.people.EXPIRY_REASONS).
ENDED_ELSEWHERE = {
    "password": "You were signed out because the password of your account was changed.",
    "elsewhere": "You were signed out from another browser.",
    "admin": "You were signed out by an administrator.",
}


def start_session(user: User, via: str, next_url: str | None):
    """Sign the person in: a new server-side session (and its audit event), then go on."""
    now = clock.now()
    with db.atomic():
        token = UserSession.start(
            user, now, via=via, device=device_words(request.headers.get("User-Agent"))
        )
        AuditEvent.about(
            user, "sign_in", by=user.id, at=now, summary={"via": via} if via != "password" else None
        )
    session.clear()
    user.session_token = token
    user.session_via = via
    login_user(user)
    if user.must_change_password and via == "password":
        target = same_site_path(next_url)
        return redirect(url_for("account.change_password", next=target), code=303)
    return redirect(_safe_next(next_url), code=303)


# -- The session timeout warning (static/src/app.js) asks these ---------------------------------


def _session_times() -> dict:
    """Seconds left before this session ends for idleness, and before its absolute limit."""
    now = clock.now()
    idle = dt.timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))
    lifetime = dt.timedelta(hours=float(current_app.config["SESSION_MAX_HOURS"]))
    idle_left = current_user.session_last_seen_at + idle - now
    lifetime_left = current_user.session_started_at + lifetime - now
    return {
        "signed_in": True,
        # Rounded up: 0 means the session has really ended, never "under a second left".
        "idle_seconds": max(0, math.ceil(idle_left.total_seconds())),
        "lifetime_seconds": max(0, math.ceil(lifetime_left.total_seconds())),
    }


@bp.get("/session")
def session_status():
    """How long this session has left, without counting as activity (see app.py)."""
    if not current_user.is_authenticated:
        return jsonify(signed_in=False), 401
    return jsonify(_session_times())


@bp.post("/session")
def keep_alive():
    """ "Stay signed in": the request itself is the activity; answer how long is left now."""
    if not current_user.is_authenticated:
        return jsonify(signed_in=False), 401
    return jsonify(_session_times())


@bp.post("/sign-out")
def sign_out():
    now = clock.now()
    if current_user.is_authenticated:
        with db.atomic():
            UserSession.end_token(current_user.session_token, now)
            AuditEvent.about(current_user, "sign_out", by=current_user.id, at=now)
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in", signed_out=1), code=303)
