"""Safekeep's settings: each read from the environment with its default, and checked at start-up.

`environment_settings` gives every setting as the environment (or its default) sets it;
`check_settings` turns the checked ones into the values the app uses and refuses one that
cannot work with a ValueError naming it, so a typo stops the server before its first request
instead of breaking a page later. create_app applies the two, with a test's overrides between.
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path


def environment_settings(instance: Path) -> dict:
    """Every setting from the environment, else its default; `instance` holds the files."""
    return dict(
        SECRET_KEY=None,
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        SQLITE_PATH=str(instance / "safekeep.db"),
        COUNCIL_NAME=os.environ.get("COUNCIL_NAME", "Example London Borough"),
        SERVICE_NAME="Safekeep",
        # Where the accessibility statement sends people who need help or find a problem.
        ACCESSIBILITY_EMAIL=os.environ.get("ACCESSIBILITY_EMAIL", "accessibility@example.org"),
        SESSION_IDLE_MINUTES=os.environ.get("SESSION_IDLE_MINUTES", "30"),
        # However active, a sign-in ends after this long (ASVS V7.3.2: an absolute lifetime).
        SESSION_MAX_HOURS=os.environ.get("SESSION_MAX_HOURS", "12"),
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
        MAX_CONTENT_LENGTH=os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)),
        # The audit trail's anchor outside the database (models/audit.py, services/audit_anchor.py):
        # the HMAC key from the environment, else a key file made on first use (0600), and the
        # append-only file of signed checkpoints of the chain's head.
        AUDIT_HMAC_KEY=os.environ.get("AUDIT_HMAC_KEY") or None,
        AUDIT_KEY_FILE=os.environ.get("AUDIT_KEY_FILE") or str(instance / "audit_hmac_key"),
        AUDIT_CHECKPOINT_FILE=os.environ.get("AUDIT_CHECKPOINT_FILE")
        or str(instance / "audit-checkpoints.jsonl"),
        # `flask send-reminders` (cron) and the board's confirm-location tasks.
        SMTP_HOST=os.environ.get("SMTP_HOST", "localhost"),
        SMTP_PORT=os.environ.get("SMTP_PORT", "25"),
        SMTP_FROM=os.environ.get("SMTP_FROM", "safekeep@localhost"),
        SMTP_USERNAME=os.environ.get("SMTP_USERNAME") or None,
        SMTP_PASSWORD=os.environ.get("SMTP_PASSWORD") or None,
        SMTP_STARTTLS=os.environ.get("SMTP_STARTTLS", "0") == "1",
        SMTP_TIMEOUT=os.environ.get("SMTP_TIMEOUT", "10"),
        # Demos and trials: write e-mails into this folder, a file each, instead of sending.
        MAIL_OUTBOX=os.environ.get("MAIL_OUTBOX") or None,
        REMINDER_BASE_URL=os.environ.get("REMINDER_BASE_URL", "http://localhost:5000"),
        # GOV.UK Notify instead of SMTP when NOTIFY_API_KEY is set (docs/notify.md): one
        # template id per kind of message, and the bearer token Notify's callbacks carry.
        NOTIFY_API_KEY=os.environ.get("NOTIFY_API_KEY") or None,
        NOTIFY_BASE_URL=os.environ.get("NOTIFY_BASE_URL")
        or "https://api.notifications.service.gov.uk",
        NOTIFY_CALLBACK_TOKEN=os.environ.get("NOTIFY_CALLBACK_TOKEN") or None,
        # The first wait after Notify answers 429 (or 5xx); it doubles at each try.
        NOTIFY_RETRY_SECONDS=os.environ.get("NOTIFY_RETRY_SECONDS", "1"),
        **_notify_templates(),
        REMINDER_CONFIRM_AFTER_DAYS=os.environ.get("REMINDER_CONFIRM_AFTER_DAYS", "3"),
        # Months a person's data protection training stays in date: taking papers out and
        # preparing a dispatch need it (machines/training.py). The toolkit asks for 12.
        TRAINING_VALID_MONTHS=os.environ.get("TRAINING_VALID_MONTHS", "12"),
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
        # Years a closed case, finished removal or dispatch keeps its free text (retention).
        RETENTION_YEARS=os.environ.get("RETENTION_YEARS", "6"),
        # /healthz answers 503 when the SQLite database's disk has less free than this.
        HEALTHZ_MIN_FREE_MB=os.environ.get("HEALTHZ_MIN_FREE_MB", "16"),
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
        # Council networks are slow and often have no compressing proxy: compress here.
        # (Brotli or gzip; never zstd, which Python 3.11 lacks without a backport.)
        COMPRESS_ALGORITHM=["br", "gzip"],
        # Pages are compressed as they are sent: Brotli's quality 2 takes 0.14 ms on a 15 KB
        # home page, 7% larger than quality 4 (the library's default), which takes 0.32 ms.
        # (The static files are compressed once, at the build, at quality 11.)
        COMPRESS_BR_LEVEL=2,
        COMPRESS_ALGORITHM_STREAMING=["br", "deflate"],
        COMPRESS_MIN_SIZE=1000,
    )


def _notify_templates() -> dict:
    from services.message_kinds import TEMPLATE_KINDS
    from services.notify import template_setting

    return {
        template_setting(kind): os.environ.get(template_setting(kind)) or None
        for kind in TEMPLATE_KINDS
    }


def check_settings(config: dict, instance: Path) -> None:
    """Fill in the derived settings and turn the numbers into numbers, in place; a setting
    that cannot work is a ValueError naming it and saying what it must be."""
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key(instance)
    for name, least, most in WHOLE_NUMBERS:
        config[name] = _whole_number(name, config[name], least, most)
    for name in MORE_THAN_ZERO:
        config[name] = _more_than_zero(name, config[name])
    # Form fields are parsed in memory: the same cap as the whole body (Flask's own default
    # of 500 kB would answer a 600 kB field with a bare 413 before our page could).
    config["MAX_FORM_MEMORY_SIZE"] = config["MAX_CONTENT_LENGTH"]
    config["NOTIFY_RETRY_SECONDS"] = _at_least_zero(
        "NOTIFY_RETRY_SECONDS", config["NOTIFY_RETRY_SECONDS"]
    )
    from services.notify import check_notify_settings

    check_notify_settings(config)


# (setting, least, most or None): each a whole number in that range.
WHOLE_NUMBERS = (
    ("SESSION_IDLE_MINUTES", 1, None),
    # A kiosk left idle longer than a working day is a kiosk left signed in overnight.
    ("KIOSK_IDLE_HOURS", 1, 24),
    # Below 1 KB no form could be sent at all.
    ("MAX_CONTENT_LENGTH", 1024, None),
    ("SMTP_PORT", 1, 65535),
    # 0 would raise the confirm-location task on the day the papers are due.
    ("REMINDER_CONFIRM_AFTER_DAYS", 1, None),
    ("RETENTION_YEARS", 1, None),
    # The ICO's breach form asks about the last two years: a longer period is not "in date".
    ("TRAINING_VALID_MONTHS", 1, 24),
    ("HEALTHZ_MIN_FREE_MB", 0, None),
    # More hops than any council's network has would let a client name its own address.
    ("TRUSTED_PROXIES", 0, 5),
)

# Settings that are numbers (fractions allowed) above zero: 0 or infinity cannot work.
MORE_THAN_ZERO = ("SESSION_MAX_HOURS", "SMTP_TIMEOUT")


def _whole_number(name: str, value, least: int, most: int | None) -> int:
    """`value` (a string from the environment, or a number) as an int from least to most."""
    text = str(value).strip()
    # ASCII digits only: int() also takes "²"-like digits, signs and underscores.
    number = int(text) if text.isascii() and text.isdigit() else None
    if number is None or number < least or (most is not None and number > most):
        limits = f"from {least} to {most}" if most is not None else f"{least} or more"
        raise ValueError(f"{name} must be a whole number {limits} (it is {value!r})")
    return number


def _more_than_zero(name: str, value) -> float:
    """`value` as a finite number above 0."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not (0 < number < math.inf):
        raise ValueError(f"{name} must be more than 0 (it is {value!r})")
    return number


def _at_least_zero(name: str, value) -> float:
    """`value` as a finite number, 0 or more."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not (0 <= number < math.inf):
        raise ValueError(f"{name} must be 0 or more (it is {value!r})")
    return number


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
