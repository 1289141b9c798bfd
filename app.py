"""Safekeep: create_app() wires config, database, sign-in, CSRF, templates and blueprints.

Settings and their start-up checks live in config.py; routes in views/; the command-line
interface in cli.py.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.routing import IntegerConverter

import cli
from config import check_settings, environment_settings
from machines import clock
from models.base import db
from services import assets, forwarded, logs, sso
from views.templating import TemplateEnvironment
from views.url_patterns import UrlPatterns

HERE = Path(__file__).resolve().parent

csrf = CSRFProtect()
login_manager = LoginManager()


class IdConverter(IntegerConverter):
    """`<int:...>` as an id: ASCII digits, at most 18 of them (below MAX_ID, the largest
    64-bit id). A longer number matches no route at all, so it is "not found" (404).

    Capped after matching instead, a longer number reached no page but made a GET of an
    address that also takes a POST answer 405 (werkzeug had matched the POST's rule);
    uncapped, /records/<30 digits> reached the database and SQLite raised OverflowError.
    """

    regex = r"[0-9]{1,18}"


class SafekeepFlask(Flask):
    jinja_environment = TemplateEnvironment  # views/templating.py: why

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._url_patterns = UrlPatterns()

    def url_for(self, endpoint: str, /, **values) -> str:
        # A link to a row by its ids, in a request: from a pattern (views/url_patterns.py).
        if (
            values
            and endpoint != "static"
            and endpoint[:1] != "."
            and all(type(value) is int for value in values.values())
            and has_request_context()
        ):
            url = self._url_patterns.url(super().url_for, endpoint, values, request.script_root)
            if url is not None:
                return url
        return super().url_for(endpoint, **values)


def create_app(config: dict | None = None) -> Flask:
    """Build the Safekeep application; `config` overrides the environment (tests use it)."""
    app = SafekeepFlask(__name__, instance_path=str(HERE / "instance"), static_folder="static")
    app.url_map.converters["int"] = IdConverter
    instance = Path(app.instance_path)
    app.config.update(environment_settings(instance))
    if config:
        app.config.update(config)
    check_settings(app.config, instance)
    if hops := app.config["TRUSTED_PROXIES"]:
        # The client's address (for the security log) and scheme, as the proxy saw them.
        app.wsgi_app = forwarded.trust_proxies(app.wsgi_app, hops)

    app.jinja_loader = template_loader()
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
    Compress(app)
    assets.init_app(app)  # fingerprinted static URLs, cached for a year
    Htmx(app)
    _init_login(app)
    sso.init_app(app)  # after the config: refuses settings that cannot work, at start-up

    from views import register_views

    register_views(app)
    cli.init_app(app)
    return app


def template_loader() -> ChoiceLoader:
    """The app's templates first, then GOV.UK Frontend's (govuk-frontend-jinja). A file of
    ours under govuk_frontend_jinja/ stands in front of the package's; the package's own stay
    reachable as govuk_frontend_package/ for a stand-in to hand the cases it does not write."""
    package = PackageLoader("govuk_frontend_jinja")
    return ChoiceLoader(
        [
            FileSystemLoader(str(HERE / "templates")),
            PrefixLoader({"govuk_frontend_jinja": package, "govuk_frontend_package": package}),
        ]
    )


def _init_database(app: Flask) -> None:
    from models.base import connect_database, open_for_request, release_after_request
    from models.training import set_training_period

    Path(app.config["SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    db.initialize(connect_database(app.config["DATABASE_URL"], app.config["SQLITE_PATH"]))
    set_training_period(app.config["TRAINING_VALID_MONTHS"])

    @app.before_request
    def _connect() -> None:
        # SQLite: one persistent connection per worker, never closed per request.
        # PostgreSQL: take a pooled connection, handed back at teardown. Either way one left
        # unclean by an outage is replaced (models/base.py). Static files need none: the 503
        # page's stylesheet must load while the database is down.
        if request.endpoint != "static":
            g.db_connection = open_for_request()

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        release_after_request(g.pop("db_connection", None))


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
        # current_app, not `app`: the login manager is one per process, and the loader is
        # whichever app registered last (the tests build several apps in one process)
        config = current_app.config
        user, ended = UserSession.resume(
            token,
            clock.now(),
            dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            kiosk_idle=dt.timedelta(hours=config["KIOSK_IDLE_HOURS"]),
            lifetime=dt.timedelta(hours=float(config["SESSION_MAX_HOURS"])),
            touch=request.endpoint not in UNTOUCHED_ENDPOINTS,
        )
        if ended:
            g.session_ended = ended  # the sign-in page says why
        return user
