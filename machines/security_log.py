"""Security events for the operations log: `logging.getLogger("safekeep.security")`.

Each record carries structured fields in `extra=` (who, what, when), so a JSON formatter or a
log shipper can read them without parsing the message; inside a request, services/logs.py adds
from where (address, method, path) to each record. What is never logged: service users'
details (case-system IDs, free text), passwords, PINs or reset links' tokens, and what a
stranger typed as a username (it may be someone's password typed into the wrong box): an
unknown account is logged as `known_account=False`, nothing more.

It sits below the models, who log failed sign-ins and locks as they count them: no Flask and
no queries here, only the standard library's logging.
"""

from __future__ import annotations

import logging

from machines import clock

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
    "cross_origin_refused",
    "forwarded_for_refused",
    "notify_callback_refused",
}


def security_event(event: str, *, user_id: int | None = None, **fields) -> None:
    """Log one security event with who, what and when."""
    extra = {
        "security_event": event,
        "user_id": user_id,
        "at": clock.now().isoformat(timespec="seconds") + "Z",
    }
    for key, value in fields.items():
        # A field named like a LogRecord attribute ("filename", "module") would make
        # logging raise: keep it under another name rather than lose the event.
        extra[f"field_{key}" if key in _RESERVED else key] = value
    level = logging.WARNING if event in WARNING_EVENTS else logging.INFO
    details = " ".join(f"{k}={v}" for k, v in extra.items() if k != "security_event")
    log.log(level, "security %s %s", event, details, extra=extra)
