"""Signing in through the council's OpenID Connect provider (services/sso.py has the rules)."""

from __future__ import annotations

from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, abort, current_app, render_template, request, session
from joserfc.errors import JoseError

from machines import clock
from machines.permissions import Can
from machines.security_log import security_event
from models.audit import AuditEvent
from models.base import write_transaction
from services.sso import claims_options, match_staff, sso_settings, subject_digest
from views.auth import same_site_path, start_session

bp = Blueprint("sso", __name__, url_prefix="/sso")

# Where to go after signing in, kept in the session cookie across the provider's pages.
NEXT_KEY = "sso_next"


def _client():
    client = current_app.extensions.get("safekeep_sso")
    if client is None:
        abort(404)  # single sign-on is not configured
    return client


def _unreachable() -> tuple[type[Exception], ...]:
    """What the provider's client raises when the provider cannot be reached or answers
    nonsense. requests is imported here, not at the top: it costs a worker about 3 MB, and a
    server with single sign-on has it already (Authlib's client is built on it)."""
    import requests

    return (requests.RequestException, ValueError, KeyError)


def callback_url() -> str:
    """The redirect URI registered with the provider: Safekeep's public address (the one in
    emails), so it is right behind a proxy that terminates TLS."""
    return current_app.config["REMINDER_BASE_URL"].rstrip("/") + "/sso/callback"


@bp.get("/start")
def start():
    client = _client()
    session[NEXT_KEY] = same_site_path(request.args.get("next")) or "/"
    try:
        return client.authorize_redirect(callback_url())
    except (AuthlibBaseError, *_unreachable()):
        security_event("sso_refused", reason="provider_unreachable")
        return _problem("unreachable", 503)


@bp.get("/callback")
def callback():
    client = _client()
    settings = sso_settings(current_app.config)
    try:
        token = client.authorize_access_token(claims_options=claims_options(settings, client))
    except (AuthlibBaseError, JoseError) as error:
        # A wrong audience or issuer, an expired or badly signed token, a state that does not
        # match (a forged or replayed callback), or the provider saying no.
        reason = getattr(error, "error", None) or type(error).__name__
        # The description names the claim or check that failed, never who it was about.
        detail = getattr(error, "description", None) or ""
        security_event("sso_refused", reason=str(reason)[:60], detail=str(detail)[:80])
        return _problem("refused", 401)
    except _unreachable():
        security_event("sso_refused", reason="provider_unreachable")
        return _problem("unreachable", 503)
    claims = token.get("userinfo")
    if not claims:
        security_event("sso_refused", reason="no_id_token")
        return _problem("refused", 401)
    found = match_staff(settings, claims)
    if found.user is None:
        now = clock.now()
        with write_transaction():
            AuditEvent.append(
                at=now,
                actor_id=None,
                entity_type="sso",
                entity_id=0,
                event="sso_unknown_identity",
                summary={"reason": found.reason, "identity": subject_digest(claims)},
            )
        security_event(
            "sso_unknown_identity",
            user_id=None,
            known_account=False,
            reason=found.reason,
            identity=subject_digest(claims),
        )
        return _problem(found.reason, 403)
    user = found.user
    if not user.active:
        security_event("sso_refused", user_id=user.id, reason="disabled")
        return _problem("disabled", 403)
    if user.can(Can.KIOSK_DEVICE):
        security_event("sso_refused", user_id=user.id, reason="kiosk_account")
        return _problem("kiosk", 403)
    next_url = session.pop(NEXT_KEY, None)
    return start_session(user, via="sso", next_url=next_url)


def _problem(reason: str | None, status: int):
    settings = sso_settings(current_app.config)
    return render_template(
        "auth/sso_problem.html",
        title="You cannot sign in yet"
        if reason in ("unknown", "ambiguous", "no_claim", "unverified")
        else "Sign-in did not work",
        reason=reason,
        provider=settings.provider_name if settings else "",
    ), status
