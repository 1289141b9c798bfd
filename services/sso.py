"""Single sign-on with the council's OpenID Connect provider (Microsoft Entra ID, or another).

Configured by environment variables only (app.py reads them; README: "Running Safekeep for a
council"). The flow is the authorization code flow with PKCE (S256), a `state` and a `nonce`,
through Authlib's Flask client: Authlib keeps all three in the signed session cookie between
the redirect and the callback, exchanges the code with the verifier and checks the ID token's
signature against the provider's published keys.

What is checked beyond Authlib's defaults: the audience. Authlib (1.9) accepts an ID token
whose `aud` is another client when its `azp` names ours; OpenID Connect Core 3.1.3.7 says
the client MUST find its own client id in `aud`. So `claims_options` asks for it, with the
issuer, as essential claims.

Staff are matched, never created: the configured claim (email, or the UPN in
`preferred_username` / `upn`) is compared without case to a member of staff's email address
or username. An identity that names no one, or more than one, is refused.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from peewee import fn

from machines.permissions import Can
from models.people import User

CLAIMS = ("email", "preferred_username", "upn")
MATCH_FIELDS = ("email", "username")


@dataclass(frozen=True)
class SsoSettings:
    issuer: str
    client_id: str
    client_secret: str
    claim: str  # which ID token claim names the member of staff
    match: str  # which of their details it is compared with: "email" or "username"
    provider_name: str  # "Sign in with <provider_name>"
    only: bool  # local passwords off (break-glass accounts and kiosks aside)
    break_glass: frozenset[str]  # usernames that keep a local password under SSO_ONLY
    scopes: str = "openid email profile"

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class SsoSettingError(ValueError):
    """A single sign-on setting that cannot work: said at start-up, not at the first sign-in."""


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def sso_settings(config: Mapping) -> SsoSettings | None:
    """The single sign-on settings, or None when OIDC_ISSUER is not set (SSO off)."""
    issuer = (config.get("OIDC_ISSUER") or "").strip()
    only = str(config.get("SSO_ONLY") or "0").strip() == "1"
    if not issuer:
        if only:
            raise SsoSettingError("SSO_ONLY=1 needs single sign-on: set OIDC_ISSUER too")
        return None
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
        raise SsoSettingError(f"OIDC_ISSUER must be an https:// address (it is {issuer!r})")
    client_id = (config.get("OIDC_CLIENT_ID") or "").strip()
    secret = config.get("OIDC_CLIENT_SECRET") or ""
    if not client_id or not secret:
        raise SsoSettingError("OIDC_ISSUER is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too")
    claim = (config.get("OIDC_STAFF_CLAIM") or "email").strip()
    if claim not in CLAIMS:
        raise SsoSettingError(f"OIDC_STAFF_CLAIM must be one of {', '.join(CLAIMS)} ({claim!r})")
    match = (config.get("OIDC_MATCH_FIELD") or "email").strip()
    if match not in MATCH_FIELDS:
        raise SsoSettingError(
            f"OIDC_MATCH_FIELD must be one of {', '.join(MATCH_FIELDS)} ({match!r})"
        )
    break_glass = frozenset(
        name.strip().lower()
        for name in (config.get("SSO_BREAK_GLASS") or "").split(",")
        if name.strip()
    )
    return SsoSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        claim=claim,
        match=match,
        provider_name=(config.get("OIDC_PROVIDER_NAME") or "your council account").strip(),
        only=only,
        break_glass=break_glass,
    )


def local_password_allowed(config: Mapping, user: User | None, username: str = "") -> bool:
    """May this account sign in with a password here? Always, unless SSO_ONLY: then only the
    break-glass administrators and team-base kiosks (a shared PC is no one's council identity).
    """
    settings = sso_settings(config)
    if settings is None or not settings.only:
        return True
    name = (user.username if user is not None else username).strip().lower()
    if name in settings.break_glass:
        return True
    return user is not None and user.can(Can.KIOSK_DEVICE)


def init_app(app) -> None:
    """Check the settings at start-up and register the provider with Authlib when configured."""
    settings = sso_settings(app.config)
    app.extensions["safekeep_sso"] = None
    if settings is None:
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    client = oauth.register(
        name="council",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256"},
    )
    app.extensions["safekeep_sso"] = client


def claims_options(settings: SsoSettings, client) -> dict:
    """The ID token checks Authlib is asked for: our issuer, and our client in the audience."""
    metadata = client.load_server_metadata()
    return {
        "iss": {"essential": True, "values": [metadata.get("issuer") or settings.issuer]},
        "aud": {"essential": True, "values": [settings.client_id]},
    }


@dataclass(frozen=True)
class Match:
    user: User | None
    reason: str | None  # why no one: "no_claim", "unverified", "unknown", "ambiguous"


def match_staff(settings: SsoSettings, claims: Mapping) -> Match:
    """The member of staff an ID token names, or why none."""
    value = claims.get(settings.claim)
    if not isinstance(value, str) or not value.strip():
        return Match(None, "no_claim")
    if settings.claim == "email" and claims.get("email_verified") is False:
        return Match(None, "unverified")
    column = User.email if settings.match == "email" else User.username
    found = list(User.select().where(fn.LOWER(column) == value.strip().lower()).limit(2))
    if not found:
        return Match(None, "unknown")
    if len(found) > 1:
        return Match(None, "ambiguous")
    return Match(found[0], None)


def subject_digest(claims: Mapping) -> str:
    """A short digest of the identity (issuer and subject) for the security log: lets an
    operator see one identity trying again, without logging who it is."""
    raw = f"{claims.get('iss', '')}|{claims.get('sub', '')}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
