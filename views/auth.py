"""Sign in and sign out. Sessions live on the server so signing out ends every copy."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from models.audit import AuditEvent
from models.base import db, write_transaction
from models.people import LOCKOUT, User, UserSession, verify_secret
from services import clock
from views.forms import FormErrors
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


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignIn()
    errors = form.check() if request.method == "POST" else FormErrors()
    username = form.username.typed
    status = 200
    if request.method == "POST":
        if errors:
            status = 422
        else:
            user, problem = _check_credentials(form.username.data, form.password.data)
            if user is not None:
                return _start_session(user)
            errors.add("username", problem)
            status = 401
    return (
        render_template(
            "auth/sign_in.html",
            errors=errors,
            username=username,
            signed_out=request.args.get("signed_out") == "1",
        ),
        status,
    )


def _check_credentials(username: str, password: str) -> tuple[User | None, str]:
    now = clock.now()
    user = User.by_username(username)
    if user is not None and user.is_locked(now):
        return None, (
            "This account is locked after too many wrong passwords. Try again in 15 minutes, "
            "or ask an administrator to unlock it"
        )
    if not verify_secret(user.password_hash if user else None, password) or not (
        user and user.active
    ):
        if user is not None:
            with write_transaction():
                if user.record_failed_sign_in(now):
                    # Who was locked out and when is a security event: keep it on record.
                    AuditEvent.append(
                        at=now,
                        actor_id=None,
                        entity_type="user",
                        entity_id=user.id,
                        event="account_locked",
                        summary={"minutes": int(LOCKOUT.total_seconds() // 60)},
                    )
        return None, "Enter a correct username and password"
    return user, ""


def _start_session(user: User):
    now = clock.now()
    with db.atomic():
        user.record_sign_in()
        token = UserSession.start(user, now)
        AuditEvent.append(
            at=now, actor_id=user.id, entity_type="user", entity_id=user.id, event="sign_in"
        )
    next_url = _safe_next(request.args.get("next"))
    session.clear()
    user.session_token = token
    login_user(user)
    return redirect(next_url, code=303)


@bp.post("/sign-out")
def sign_out():
    now = clock.now()
    if current_user.is_authenticated:
        with db.atomic():
            UserSession.end_token(current_user.session_token, now)
            AuditEvent.append(
                at=now,
                actor_id=current_user.id,
                entity_type="user",
                entity_id=current_user.id,
                event="sign_out",
            )
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in", signed_out=1), code=303)
