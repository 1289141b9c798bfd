"""Safekeep: create_app() wires config, database, sign-in, CSRF, templates and blueprints.

Routes live in views/; the command-line interface is at the bottom of this file.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, g
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.routing import IntegerConverter

from models import clock
from models.base import MAX_ID, db

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
        SESSION_IDLE_MINUTES=int(os.environ.get("SESSION_IDLE_MINUTES", "30")),
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
    )
    if config:
        app.config.update(config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(instance)
    if int(app.config["REMINDER_CONFIRM_AFTER_DAYS"]) < 1:
        # Fail at start-up, not as a broken board later: 0 would raise the task on the due day.
        raise ValueError("REMINDER_CONFIRM_AFTER_DAYS must be 1 or more")
    app.config["KIOSK_IDLE_HOURS"] = _kiosk_idle_hours(app.config["KIOSK_IDLE_HOURS"])

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(HERE / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    _init_database(app)
    csrf.init_app(app)
    # Council networks are slow and often have no compressing proxy: compress here.
    # (Brotli or gzip; never zstd, which Python 3.11 lacks without a backport.)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 1000)
    Compress(app)
    Htmx(app)
    _init_login(app)

    from views import register_views

    register_views(app)
    _register_cli(app)
    return app


def _init_database(app: Flask) -> None:
    from models.base import connect_database, is_postgres

    Path(app.config["SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    db.initialize(connect_database(app.config["DATABASE_URL"], app.config["SQLITE_PATH"]))

    @app.before_request
    def _connect() -> None:
        # SQLite: one persistent connection per worker (reuse_if_open), never closed per
        # request. PostgreSQL: take a pooled connection, handed back at teardown.
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        if is_postgres() and not db.is_closed():
            db.close()


def _init_login(app: Flask) -> None:
    from models.people import UserSession

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = None  # the server-side session table is the protection

    @login_manager.user_loader
    def load_user(token: str):
        idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
        kiosk_idle = dt.timedelta(hours=app.config["KIOSK_IDLE_HOURS"])
        return UserSession.resume(token, clock.now(), idle, kiosk_idle=kiosk_idle)

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)


def _register_cli(app: Flask) -> None:
    from models.audit import verify_chain
    from models.seed import DEMO_PASSWORD, demo_accounts, seed_demo

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the schema (safe to run again) and record its version."""
        from models import create_schema

        version = create_schema()
        click.echo(f"Database ready (schema version {version}).")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--name", "display_name", required=True, help="Display name")
    @click.option("--staff-number", required=True)
    @click.option("--team", required=True, help="Team name (created if new)")
    @click.option("--role", "roles", multiple=True, required=True, help="Repeat for several")
    @click.option("--manager", default=None, help="Username of the line manager")
    @click.option("--email", default=None, help="Work email address, for reminders")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
    def create_user(
        username, display_name, staff_number, team, roles, manager, email, password_stdin
    ):
        """Create a staff account; the password is prompted for unless --password-stdin."""
        from models.seed import UserInputError, add_user

        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            add_user(
                username, display_name, staff_number, team, roles, manager, password, email=email
            )
        except UserInputError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Created {username}.")

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Fill an empty database with a demo council (two teams, every role)."""
        from models import create_schema

        create_schema()
        if seed_demo():
            from models.demo_activity import seed_demo_activity

            seed_demo_activity()
            click.echo(f"Demo council created. Every demo account's password: {DEMO_PASSWORD}")
        else:
            click.echo("The database already has users; nothing added.")

    @app.cli.command("seed-volume")
    @click.option("--removals", default=100_000, show_default=True, type=click.IntRange(0))
    @click.option("--breaches", default=10_000, show_default=True, type=click.IntRange(0))
    def seed_volume_command(removals: int, breaches: int) -> None:
        """Add years of synthetic removals and breach cases, for measuring at volume."""
        from models import create_schema
        from models.volume import seed_volume

        create_schema()
        result = seed_volume(removals=removals, breaches=breaches)
        click.echo(
            f"Added {result.records:,} records, {result.removals:,} removals and "
            f"{result.breaches:,} breach cases in {result.seconds:.1f} s."
        )

    @app.cli.command("demo-sign-ins")
    def demo_sign_ins() -> None:
        """Print the demo accounts to sign in with."""
        click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for username, roles in demo_accounts():
            click.echo(f"  {username:<14} {roles}")

    @app.cli.command("audit-verify")
    def audit_verify() -> None:
        """Check the audit trail's hash chain; exit 1 naming the first broken event."""
        checked, broken, why = verify_chain()
        if broken is not None:
            click.echo(
                f"Audit chain BROKEN at event {broken.id} ({broken.event} on "
                f"{broken.entity_type} {broken.entity_id}): {why}. {checked} events before it "
                "are intact.",
                err=True,
            )
            sys.exit(1)
        click.echo(f"Audit chain intact: {checked} events checked.")

    @app.cli.command("send-reminders")
    def send_reminders_command() -> None:
        """Email the reminders now due, each once however many servers run this (for cron)."""
        from models.mailer import MailerUnavailable, SmtpMailer
        from models.reminders import SettingError, send_reminders, summary

        opened_here = db.is_closed()
        db.connect(reuse_if_open=True)
        try:
            with SmtpMailer.from_config(app.config) as mailer:
                mailer.connect()  # an unreachable server fails the run even when nothing is due
                counts = send_reminders(
                    clock.now(),
                    mailer,
                    app.config["REMINDER_BASE_URL"],
                    app.config["REMINDER_CONFIRM_AFTER_DAYS"],
                )
        except MailerUnavailable as error:
            raise click.ClickException(f"{error}. Unsent reminders go on the next run.") from None
        except SettingError as error:
            raise click.ClickException(str(error)) from None
        finally:
            if opened_here:
                db.close()
        click.echo(summary(counts))
        if counts["failed"]:
            sys.exit(1)

    @app.cli.command("update-readme")
    def update_readme() -> None:
        """Regenerate the README's lifecycle diagrams from the state machines."""
        from machines.diagrams import render_readme

        readme = Path(app.root_path) / "README.md"
        text = readme.read_text(encoding="utf-8")
        updated = render_readme(text)
        if updated == text:
            click.echo("README diagrams already match the machines.")
            return
        readme.write_text(updated, encoding="utf-8")
        click.echo("README diagrams regenerated from the machines.")
