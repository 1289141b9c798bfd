"""Structured logs: one JSON object a line on standard error, and a request id per request.

Each request writes one line, for example

    {"time": "2026-11-29T10:04:05.120+00:00", "level": "INFO", "logger": "safekeep.request",
     "message": "request", "request_id": "3f9c2a7d1b6e4a05", "user_id": 12, "method": "POST",
     "endpoint": "records.transition", "route": "/removals/<int:removal_id>/<event>",
     "status": 303, "duration_ms": 14.2}

and anything else logged during the request (an unexpected error's traceback) carries the
same request_id and user_id. The request id is returned in the X-Request-ID header and shown
on the 500 and 503 pages, so a person can quote it to the service desk and the desk can find
the line. An incoming X-Request-ID (from a proxy) is kept only when it is a short token of
letters, digits, `.`, `_` and `-`; anything else is replaced, never logged.

No personal data of service users reaches the log: the route is the URL rule, never the path
with its query string (a record search carries a case-system ID); no form values; and an
exception is logged as its type and stack without its message, because a database error can
quote the row it refused. The user id is the member of staff's database id.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
import traceback

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter
from werkzeug.routing import BaseConverter

from machines.security_log import security_event
from services import forwarded

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_HANDLER_NAME = "safekeep-json"


class JsonFormatter(_JsonFormatter):
    """python-json-logger with our field names, and exceptions without their messages."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "{levelname}{name}{message}")
        kwargs.setdefault("style", "{")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def formatException(self, exc_info) -> str:  # noqa: N802 - logging's name
        error_type, error, tb = exc_info
        frames = "".join(traceback.format_tb(tb))
        return f"Traceback (most recent call last):\n{frames}{error_type.__qualname__}"


class RequestContext(logging.Filter):
    """Put the request id and the signed-in person's id on every record logged in a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            if not hasattr(record, "user_id"):
                record.user_id = _user_id()
        return True


class Secret(str):
    """A URL argument that is a secret (a reset link's token): its path is never logged."""


class SecretConverter(BaseConverter):
    """`<secret:token>`: a path segment that must never reach a log line.

    The security log names a request by its path (the object ids help an investigation); a
    route whose path carries a secret is named by its pattern instead, so a refused or
    mistyped link does not put a live token in the log.
    """

    def to_python(self, value: str) -> Secret:
        return Secret(value)


def loggable_path() -> str | None:
    """The request's path for a log line: the route's pattern when the path holds a secret,
    nothing when no route matched (the path is whatever the client typed)."""
    rule = request.url_rule
    if rule is None:
        return None
    if any(isinstance(value, Secret) for value in (request.view_args or {}).values()):
        return rule.rule
    return request.path  # object ids only: no query string, no form values


class SecurityRequestFields(logging.Filter):
    """Add from where (address, method, path) to each security event logged in a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            # The client's address as this process sees it: behind a proxy, TRUSTED_PROXIES
            # makes it the address the proxy saw (checked to be an address, see forwarded.py).
            record.remote_addr = request.remote_addr
            record.method = request.method
            record.path = loggable_path()
        return True


class _NoDevServerAccessLines(logging.Filter):
    """The development server's own request lines quote the path and query: ours replace them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " - - [" not in str(record.msg)


def configure(level: str = "INFO") -> None:
    """Send every log record to standard error as JSON (once per process)."""
    root = logging.getLogger()
    if not any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestContext())
        root.addHandler(handler)
        # The development server's banner stays as it was, for people; its request lines go.
        werkzeug = logging.getLogger("werkzeug")
        plain = logging.StreamHandler(sys.stderr)
        plain.addFilter(_NoDevServerAccessLines())
        werkzeug.addHandler(plain)
        werkzeug.propagate = False
        werkzeug.setLevel(logging.INFO)
    security = logging.getLogger("safekeep.security")
    if not any(isinstance(f, SecurityRequestFields) for f in security.filters):
        security.addFilter(SecurityRequestFields())
    root.setLevel(level.upper())


def init_app(app: Flask) -> None:
    """Give each request an id and log it when done; call before anything else is registered,
    so even a request whose database connection fails has its id."""
    configure(app.config.get("LOG_LEVEL", "INFO"))
    app.url_map.converters["secret"] = SecretConverter
    # Flask's own handler would print tracebacks a second time, as plain text.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()
        if refused := request.environ.get(forwarded.REFUSED):
            # Which headers, never their values: they are whatever the client chose to send.
            security_event("forwarded_for_refused", user_id=None, headers=",".join(refused))

    @app.after_request
    def _finish(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        log_request(response.status_code)
        return response

    @app.context_processor
    def _request_id():
        return {"request_id": g.get("request_id")}


def request_id_from(incoming: str | None) -> str:
    """The caller's id when it is a safe short token, else a new one."""
    if incoming and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(8)


def log_request(status: int) -> None:
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    # 503 is an outage already reported where it began (the database); 500 is a fault.
    level = logging.WARNING if status == 503 else logging.ERROR if status >= 500 else logging.INFO
    logging.getLogger("safekeep.request").log(
        level,
        "request",
        extra={
            "method": request.method,
            "endpoint": request.endpoint,
            "route": request.url_rule.rule if request.url_rule else None,
            "status": status,
            "duration_ms": duration,
        },
    )


def _user_id() -> int | None:
    # Only a user Flask-Login has already loaded: logging must not query the database (it
    # may be the thing that failed).
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "id", None)
    return None
