"""Safekeep: create_app() wires config, database, sign-in, CSRF, templates and blueprints.

Routes live in views/; the command-line interface in cli.py.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask, g, request
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.routing import IntegerConverter

import cli
from machines import clock
from models.base import MAX_ID, db
from services import assets, forwarded, logs, sso

HERE = Path(__file__).resolve().parent

csrf = CSRFProtect()
login_manager = LoginManager()


def _secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, else one kept in instance/ for every worker."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class IdConverter(IntegerConverter):
    """`<int:...>` capped at the largest 64-bit id: a longer number is no such page (404).

    Without the cap /records/<30 digits> reached the database and SQLite raised
    OverflowError (a 500) instead of answering "not found".
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _kiosk_idle_hours(value) -> int:
    """KIOSK_IDLE_HOURS as a whole number of hours from 1 to 24; fail at start-up otherwise."""
    try:
        hours = int(str(value).strip())
    except ValueError:
        hours = 0
    if not 1 <= hours <= 24:
        raise ValueError(f"KIOSK_IDLE_HOURS must be a whole number from 1 to 24 (it is {value!r})")
    return hours


def _trusted_proxies(value) -> int:
    """TRUSTED_PROXIES as a whole number from 0 to 5; fail at start-up otherwise."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and int(text) <= 5):
        raise ValueError(f"TRUSTED_PROXIES must be a whole number from 0 to 5 (it is {value!r})")
    return int(text)


def _retention_years(value) -> int:
    """RETENTION_YEARS as a whole number of years, 1 or more; fail at start-up otherwise."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise ValueError(f"RETENTION_YEARS must be a whole number of years, 1 or more ({value!r})")
    return int(text)


def create_app(config: dict | None = None) -> Flask:
    """Build the Safekeep application; `config` overrides the environment (tests use it)."""
    app = Flask(__name__, instance_path=str(HERE / "instance"), static_folder="static")
    app.url_map.converters["int"] = IdConverter
    instance = Path(app.instance_path)
    app.config.update(
        SECRET_KEY=None,
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        SQLITE_PATH=str(instance / "safekeep.db"),
        COUNCIL_NAME=os.environ.get("COUNCIL_NAME", "Example London Borough"),
        SERVICE_NAME="Safekeep",
        # Where the accessibility statement sends people who need help or find a problem.
        ACCESSIBILITY_EMAIL=os.environ.get("ACCESSIBILITY_EMAIL", "accessibility@example.org"),
        SESSION_IDLE_MINUTES=int(os.environ.get("SESSION_IDLE_MINUTES", "30")),
        # However active, a sign-in ends after this long (ASVS V7.3.2: an absolute lifetime).
        SESSION_MAX_HOURS=float(os.environ.get("SESSION_MAX_HOURS", "12")),
        # A team-base kiosk stays signed in through a working day without use; the person
        # identified at it is still forgotten after 60 seconds (views/kiosk.py).
        KIOSK_IDLE_HOURS=os.environ.get("KIOSK_IDLE_HOURS", "12"),
        # A board or kiosk stays open for hours: the CSRF token lives as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        SESSION_COOKIE_NAME="safekeep_session",
        PAGE_SIZE=25,
        # No form here needs more than a few kilobytes: refuse bigger bodies with a 413 page
        # before anything parses them. Form fields are held in memory up to the same cap.
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        # The audit trail's anchor outside the database (models/audit.py, services/audit_anchor.py):
        # the HMAC key from the environment, else a key file made on first use (0600), and the
        # append-only file of signed checkpoints of the chain's head.
        AUDIT_HMAC_KEY=os.environ.get("AUDIT_HMAC_KEY") or None,
        AUDIT_KEY_FILE=os.environ.get("AUDIT_KEY_FILE") or str(instance / "audit_hmac_key"),
        AUDIT_CHECKPOINT_FILE=os.environ.get("AUDIT_CHECKPOINT_FILE")
        or str(instance / "audit-checkpoints.jsonl"),
        # `flask send-reminders` (cron) and the board's confirm-location tasks.
        SMTP_HOST=os.environ.get("SMTP_HOST", "localhost"),
        SMTP_PORT=int(os.environ.get("SMTP_PORT", "25")),
        SMTP_FROM=os.environ.get("SMTP_FROM", "safekeep@localhost"),
        SMTP_USERNAME=os.environ.get("SMTP_USERNAME") or None,
        SMTP_PASSWORD=os.environ.get("SMTP_PASSWORD") or None,
        SMTP_STARTTLS=os.environ.get("SMTP_STARTTLS", "0") == "1",
        SMTP_TIMEOUT=float(os.environ.get("SMTP_TIMEOUT", "10")),
        REMINDER_BASE_URL=os.environ.get("REMINDER_BASE_URL", "http://localhost:5000"),
        REMINDER_CONFIRM_AFTER_DAYS=int(os.environ.get("REMINDER_CONFIRM_AFTER_DAYS", "3")),
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
        # Years a closed case, finished removal or dispatch keeps its free text (retention).
        RETENTION_YEARS=os.environ.get("RETENTION_YEARS", "6"),
        # /healthz answers 503 when the SQLite database's disk has less free than this.
        HEALTHZ_MIN_FREE_MB=int(os.environ.get("HEALTHZ_MIN_FREE_MB", "16")),
        # Single sign-on with the council's OpenID Connect provider (services/sso.py); off
        # while OIDC_ISSUER is unset. SSO_ONLY=1 turns local passwords off but for the
        # usernames in SSO_BREAK_GLASS and team-base kiosks.
        OIDC_ISSUER=os.environ.get("OIDC_ISSUER") or None,
        OIDC_CLIENT_ID=os.environ.get("OIDC_CLIENT_ID") or None,
        OIDC_CLIENT_SECRET=os.environ.get("OIDC_CLIENT_SECRET") or None,
        OIDC_STAFF_CLAIM=os.environ.get("OIDC_STAFF_CLAIM", "email"),
        OIDC_MATCH_FIELD=os.environ.get("OIDC_MATCH_FIELD", "email"),
        OIDC_PROVIDER_NAME=os.environ.get("OIDC_PROVIDER_NAME") or None,
        SSO_ONLY=os.environ.get("SSO_ONLY", "0"),
        SSO_BREAK_GLASS=os.environ.get("SSO_BREAK_GLASS", ""),
        # How many proxies in front add X-Forwarded-For and -Proto (one nginx: 1). None are
        # believed by default, so a client cannot put another address in the security log.
        TRUSTED_PROXIES=os.environ.get("TRUSTED_PROXIES", "0"),
    )
    if config:
        app.config.update(config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(instance)
    # Form fields are parsed in memory: the same cap as the whole body (Flask's own default
    # of 500 kB would answer a 600 kB field with a bare 413 before our page could).
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    if float(app.config["SESSION_MAX_HOURS"]) <= 0:
        raise ValueError("SESSION_MAX_HOURS must be more than 0")
    if int(app.config["REMINDER_CONFIRM_AFTER_DAYS"]) < 1:
        # Fail at start-up, not as a broken board later: 0 would raise the task on the due day.
        raise ValueError("REMINDER_CONFIRM_AFTER_DAYS must be 1 or more")
    app.config["KIOSK_IDLE_HOURS"] = _kiosk_idle_hours(app.config["KIOSK_IDLE_HOURS"])
    app.config["RETENTION_YEARS"] = _retention_years(app.config["RETENTION_YEARS"])
    app.config["TRUSTED_PROXIES"] = hops = _trusted_proxies(app.config["TRUSTED_PROXIES"])
    if hops:
        # The client's address (for the security log) and scheme, as the proxy saw them.
        app.wsgi_app = forwarded.trust_proxies(app.wsgi_app, hops)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(HERE / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    logs.init_app(app)  # first: every request has its id, even one the database fails

    @app.before_request
    def _nonce() -> None:
        # Before the database is touched, so a 503 page's one inline script still runs.
        g.csp_nonce = secrets.token_urlsafe(16)

    _init_database(app)
    _init_audit_key(app)
    csrf.init_app(app)
    # Council networks are slow and often have no compressing proxy: compress here.
    # (Brotli or gzip; never zstd, which Python 3.11 lacks without a backport.)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 1000)
    Compress(app)
    assets.init_app(app)  # fingerprinted static URLs, cached for a year
    Htmx(app)
    _init_login(app)
    sso.init_app(app)  # after the config: refuses settings that cannot work, at start-up

    from views import register_views

    register_views(app)
    cli.init_app(app)
    return app


def _init_database(app: Flask) -> None:
    from models.base import connect_database, open_for_request, release_after_request

    Path(app.config["SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    db.initialize(connect_database(app.config["DATABASE_URL"], app.config["SQLITE_PATH"]))

    @app.before_request
    def _connect() -> None:
        # SQLite: one persistent connection per worker, never closed per request.
        # PostgreSQL: take a pooled connection, handed back at teardown. Either way one left
        # unclean by an outage is replaced (models/base.py). Static files need none: the 503
        # page's stylesheet must load while the database is down.
        if request.endpoint != "static":
            open_for_request()

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        release_after_request()


def _init_audit_key(app: Flask) -> None:
    from services.audit_anchor import load_hmac_key

    load_hmac_key(app.config)


# Requests that are not the person's activity: the timeout warning's question, and the files
# a page loads (the page itself already counted), which need no write each.
UNTOUCHED_ENDPOINTS = {"auth.session_status", "static", "health.healthz"}


def _init_login(app: Flask) -> None:
    from flask import request

    from models.people import UserSession

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = None  # the server-side session table is the protection

    @login_manager.user_loader
    def load_user(token: str):
        """The one place a session is judged valid: idle limit, absolute lifetime, sign-out."""
        user, ended = UserSession.resume(
            token,
            clock.now(),
            dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
            kiosk_idle=dt.timedelta(hours=app.config["KIOSK_IDLE_HOURS"]),
            lifetime=dt.timedelta(hours=float(app.config["SESSION_MAX_HOURS"])),
            touch=request.endpoint not in UNTOUCHED_ENDPOINTS,
        )
        if ended:
            g.session_ended = ended  # the sign-in page says why
        return user
