"""Security events for the operations log: `logging.getLogger("safekeep.security")`.

Each record carries structured fields in `extra=` (who, what, when, from where), so a JSON
formatter or a log shipper can read them without parsing the message. What is never logged:
service users' details (case-system IDs, free text), passwords or PINs, and what a stranger
typed as a username (it may be someone's password typed into the wrong box): an unknown
account is logged as `known_account=False`, nothing more.
"""

from __future__ import annotations

import logging

from flask import has_request_context, request

from services import clock

log = logging.getLogger("safekeep.security")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Failures an operator may want to alert on; everything else is INFO.
WARNING_EVENTS = {
    "sign_in_failed",
    "account_locked",
    "password_check_failed",
    "pin_failed",
    "pin_locked",
    "kiosk_paused",
    "access_denied",
    "audit_checkpoint_refused",
}


def security_event(event: str, *, user_id: int | None = None, **fields) -> None:
    """Log one security event with who, what, when and, inside a request, from where."""
    extra = {
        "security_event": event,
        "user_id": user_id,
        "at": clock.now().isoformat(timespec="seconds") + "Z",
    }
    if has_request_context():
        # The client's address as this process sees it: behind a proxy, configure the proxy
        # to pass it and Werkzeug's ProxyFix to read it, or this is the proxy's address.
        extra["remote_addr"] = request.remote_addr
        extra["method"] = request.method
        extra["path"] = request.path  # object ids only: no query string, no form values
    for key, value in fields.items():
        # A field named like a LogRecord attribute ("filename", "module") would make
        # logging raise: keep it under another name rather than lose the event.
        extra[f"field_{key}" if key in _RESERVED else key] = value
    level = logging.WARNING if event in WARNING_EVENTS else logging.INFO
    details = " ".join(f"{k}={v}" for k, v in extra.items() if k != "security_event")
    log.log(level, "security %s %s", event, details, extra=extra)
