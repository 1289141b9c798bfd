"""A person's own account: their sessions, their password, the kiosk PIN, and a reset link."""

from __future__ import annotations

import datetime as dt
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from machines import clock
from machines.security_log import security_event
from models.audit import AuditEvent
from models.base import db, write_transaction
from models.people import LOCKOUT_MINUTES, PasswordReset, User, UserSession, hash_secret
from models.sign_ins import check_password
from models.training import training_of
from services.accounts import set_own_password
from services.passwords import MIN_LENGTH, password_problem
from services.sso import local_password_allowed, sso_settings
from views.auth import same_site_path
from views.forms import FormErrors
from views.forms.accounts import ChangePassword, ChooseNewPassword, EndSession
from views.forms.people import SetPin

bp = Blueprint("account", __name__)

PIN = re.compile(r"[0-9]{4,8}")
OBVIOUS = {"0000", "1111", "1234", "12345", "123456", "4321", "9999"}

# Under SSO_ONLY a person has no password to prove themselves with again: setting the kiosk
# PIN needs a sign-in through the provider this recent instead.
RECENT_SIGN_IN = dt.timedelta(minutes=10)

# Between following a reset link and choosing the password the session keeps the link's id,
# so the token leaves the address bar (and the Referer) at once. Never the token itself: the
# session cookie is signed, not encrypted, and anyone who reads it could use the link.
RESET_KEY = "reset_link_id"


def _limits() -> tuple[dt.timedelta, dt.timedelta]:
    config = current_app.config
    return (
        dt.timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
        dt.timedelta(hours=float(config["SESSION_MAX_HOURS"])),
    )


def _has_local_password() -> bool:
    return local_password_allowed(current_app.config, current_user)


def _check_own_password(errors, field: str, password: str, purpose: str, wrong: str) -> None:
    """The same counted, locking check as signing in: an own-account page that asks for the
    password is no way round the lockout."""
    check = check_password(current_user, password, clock.now(), purpose=purpose)
    if check.refused_locked or check.locked_now:
        errors.add(
            field,
            "Your account is locked after too many wrong passwords. "
            f"Try again in {LOCKOUT_MINUTES} minutes",
        )
    elif not check.ok:
        errors.add(field, wrong)


def _audit_ended(event: str, ended: int, now: dt.datetime) -> None:
    """Record in the person's own trail that they ended sessions of theirs."""
    AuditEvent.about(
        current_user, event, by=current_user.id, at=now, summary={"sessions_ended": ended}
    )


def _through_sso(template: str, title: str):
    """A page saying this is done through the sign-in provider: refused (409) to a POST."""
    provider = sso_settings(current_app.config).provider_name
    status = 409 if request.method == "POST" else 200
    return render_template(template, title=title, provider=provider), status


@bp.get("/account")
def overview():
    idle, lifetime = _limits()
    return render_template(
        "account/index.html",
        title="Your account",
        sessions=UserSession.open_for(current_user.id, clock.now(), idle, lifetime),
        this_session=current_user.session_id,
        local_password=_has_local_password(),
        done=request.args.get("done"),
        training=training_of(current_user, with_exception=False),
    )


@bp.post("/account/sessions/end")
def end_session():
    """End one of your other sessions, or all of them (no session_id)."""
    form = EndSession()
    if form.check():
        abort(400)
    now = clock.now()
    query = UserSession.update(ended_at=now, ended_reason="elsewhere").where(
        UserSession.user == current_user.id,
        UserSession.ended_at.is_null(),
        UserSession.id != current_user.session_id,
    )
    if form.session_id.data is not None:
        query = query.where(UserSession.id == form.session_id.data)
    with write_transaction():
        ended = query.execute()
        if ended:
            _audit_ended("end_sessions", ended, now)
    return redirect(url_for("account.overview", done="ended"), code=303)


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere():
    now = clock.now()
    with write_transaction():
        ended = UserSession.end_all(current_user.id, now, "elsewhere")
        _audit_ended("sign_out_everywhere", ended, now)
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in", signed_out=1), code=303)


@bp.get("/account/password")
@bp.post("/account/password")
def change_password():
    """Change your password: the current one first (through the counted, locking check),
    unless this sign-in was with a temporary password that must be replaced now."""
    if not _has_local_password():
        return _through_sso("account/password_sso.html", "Your password")
    forced = bool(current_user.must_change_password)
    form = ChooseNewPassword() if forced else ChangePassword()
    errors = form.check_posted()
    if request.method == "POST":
        if not forced and form.current_password.data:
            _check_own_password(
                errors,
                "current_password",
                form.current_password.data,
                "change_password",
                wrong="Your current password is not correct",
            )
        _check_new(form, errors, current_user.username)
        errors = errors.in_order(form.field_names)
        if not errors:
            ended = set_own_password(
                current_user, form.new_password.data, clock.now(), current_user.session_id
            )
            security_event("password_changed", user_id=current_user.id, sessions_ended=ended)
            if forced:  # on to where they were going when they signed in
                target = same_site_path(request.args.get("next")) or url_for("home.index")
                return redirect(target, code=303)
            return redirect(url_for("account.overview", done="password"), code=303)
    return render_template(
        "account/password.html",
        title="Choose a new password" if forced else "Change your password",
        forced=forced,
        errors=errors,
        min_length=MIN_LENGTH,
    ), 422 if errors else 200


def _check_new(form, errors: FormErrors, username: str) -> None:
    new, again = form.new_password.data, form.confirm_password.data
    if new and (problem := password_problem(new, username, name="Your new password")):
        errors.add("new_password", problem)
    elif new and again and new != again:
        errors.add("confirm_password", "The passwords do not match")


# -- A one-time link from an administrator --------------------------------------------------------


@bp.get("/reset-password/<secret:token>")
def reset_link(token: str):
    """Following the emailed link: remember which link in the session, out of the address bar."""
    reset = PasswordReset.valid(token, clock.now()) if len(token) <= 100 else None
    if reset is None:
        # Which link, by its id, never its token: a refused link may still be someone's live
        # one (mistyped, or followed by a scanner before its owner).
        known = PasswordReset.by_token(token) if len(token) <= 100 else None
        security_event("reset_link_refused", user_id=None, link_id=known.id if known else None)
        return _link_unusable()
    session[RESET_KEY] = reset.id
    return redirect(url_for("account.reset_password"), code=303)


def _link_unusable():
    # 404: not found, used or expired look alike (a guessed token learns nothing).
    return render_template("account/reset_link_unusable.html", title="This link has expired"), 404


@bp.get("/reset-password")
@bp.post("/reset-password")
def reset_password():
    reset_id = session.get(RESET_KEY)
    now = clock.now()
    reset = PasswordReset.valid_by_id(reset_id, now) if isinstance(reset_id, int) else None
    if reset is None:
        return _link_unusable()
    form = ChooseNewPassword()
    errors = form.check_posted()
    if request.method == "POST":
        _check_new(form, errors, reset.user.username)
        errors = errors.in_order(form.field_names)
        if not errors:
            with write_transaction():
                spent = not reset.use(now)  # single use: another request may have used it
                if not spent:
                    set_own_password(
                        reset.user,
                        form.new_password.data,
                        now,
                        None,
                        event="reset_password_by_link",
                    )
            if spent:
                return _link_unusable()
            session.pop(RESET_KEY, None)
            if current_user.is_authenticated:
                logout_user()
            return redirect(url_for("auth.sign_in", password_set=1), code=303)
    return render_template(
        "account/reset_password.html",
        title="Choose a new password",
        errors=errors,
        min_length=MIN_LENGTH,
    ), 422 if errors else 200


# -- The kiosk PIN -------------------------------------------------------------------------------


def _recent_sso_sign_in() -> bool:
    started = current_user.session_started_at
    return (
        current_user.session_via == "sso"
        and started is not None
        and clock.now() - started <= RECENT_SIGN_IN
    )


@bp.get("/account/pin")
@bp.post("/account/pin")
def pin():
    form = SetPin()
    errors = form.check_posted()
    # Proving who you are: your password, or (single sign-on only) a sign-in just now.
    by_password = _has_local_password()
    if not by_password:
        errors.pop("password", None)
        if not _recent_sso_sign_in():
            return _through_sso(
                "account/pin_sign_in_again.html", "Sign in again to set your kiosk PIN"
            )
    if request.method == "POST":
        password, new_pin, confirm = form.password.data, form.pin.data, form.pin_confirm.data
        if by_password and password:
            _check_own_password(
                errors, "password", password, "set_pin", wrong="Your password is not correct"
            )
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
                AuditEvent.about(current_user, "set_pin", by=current_user.id, at=now)
            return redirect(url_for("home.index", pin_set=1), code=303)
    return render_template(
        "account/pin.html", title="Set your kiosk PIN", errors=errors, by_password=by_password
    ), (422 if errors else 200)


@bp.post("/account/sign-in-again")
def sign_in_again():
    """End this session and go through the provider again (for the kiosk PIN page)."""
    now = clock.now()
    UserSession.end_token(current_user.session_token, now)
    logout_user()
    session.clear()
    return redirect(url_for("sso.start", next=url_for("account.pin")), code=303)
