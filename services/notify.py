"""GOV.UK Notify as the channel for Safekeep's e-mails, through the official client.

Each kind of message has its own Notify template (NOTIFY_TEMPLATE_<KIND>), which the
council's comms team words; Safekeep sends the template's id and the personalisation (the
same facts its SMTP e-mails carry: a subject line, the message, a link, a reference; never a
name nor anything typed). Notify answers with the message's id, kept in a Delivery row, and
later its fate (callback or poll: services/deliveries.py).

Notify's errors (its documentation's "Error codes"): 400 is about this one message (the
address, the template, the personalisation), so it is refused and the others still go; 403
is the API key, and 429 (rate or daily limit) and 5xx are Notify unable to take messages
now. 429 and 5xx are tried again after a wait that doubles, a bounded number of times; then
the run stops and the message is given back, to go on a later run. Nothing is lost.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.deliveries import CREATED, NOTIFY, NOTIFY_STATUSES
from services.channel import MailerUnavailable, MessageRefused, Receipt
from services.message_kinds import TEMPLATE_KINDS

if TYPE_CHECKING:
    from notifications_python_client.notifications import NotificationsAPIClient

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.notifications.service.gov.uk"
# Tries of one request while Notify answers 429 or 5xx, and the first wait between them.
TRIES = 4
FIRST_WAIT = 1.0
# Notify's ids are UUIDs: anything else handed to us (a callback) is no id of ours.
NOTIFY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# An API key: "name-" then the service id and the secret, each a UUID (the client takes the
# last 73 characters apart by position, so a key that is not so fails oddly later).
API_KEY = re.compile(r".*-(" + NOTIFY_ID.pattern + r")-(" + NOTIFY_ID.pattern + r")", re.S)


def pause(seconds: float) -> None:
    """Wait before asking Notify again (tests count the waits instead of making them)."""
    time.sleep(seconds)


def template_setting(kind: str) -> str:
    return f"NOTIFY_TEMPLATE_{kind.upper()}"


@dataclass
class NotifyMailer:
    """Send each message through GOV.UK Notify with its kind's template."""

    api_key: str
    templates: Mapping[str, str]
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 10.0
    first_wait: float = FIRST_WAIT
    _client: NotificationsAPIClient | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping) -> NotifyMailer:
        return cls(
            api_key=config["NOTIFY_API_KEY"],
            templates={kind: config[template_setting(kind)] for kind in TEMPLATE_KINDS},
            base_url=config["NOTIFY_BASE_URL"],
            timeout=float(config["SMTP_TIMEOUT"]),
            first_wait=float(config["NOTIFY_RETRY_SECONDS"]),
        )

    @property
    def client(self) -> NotificationsAPIClient:
        if self._client is None:
            # Imported here, not at the top: the client brings PyJWT and cryptography (about
            # 9 MB a process), and only a server that sends through Notify needs them; this
            # module is imported by every worker, for the mailer's choice and the callback.
            from notifications_python_client.notifications import NotificationsAPIClient

            self._client = NotificationsAPIClient(
                self.api_key, base_url=self.base_url, timeout=self.timeout
            )
        return self._client

    def connect(self) -> None:
        """Nothing to open: each request is signed on its own."""

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.request_session.close()

    def __enter__(self) -> NotifyMailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def deliver(self, to: str, kind: str, personalisation: Mapping[str, str], reference: str):
        """Hand one message to Notify; return its Receipt (Notify's id, status "created")."""
        answer = self._call(
            lambda: self.client.send_email_notification(
                email_address=to,
                template_id=self.templates[kind],
                personalisation=dict(personalisation),
                reference=reference,
            )
        )
        notify_id = str((answer or {}).get("id", ""))
        if not NOTIFY_ID.fullmatch(notify_id):
            raise MailerUnavailable("GOV.UK Notify accepted a message but gave no id for it")
        return Receipt(NOTIFY, CREATED, notify_id)

    def status_of(self, notify_id: str) -> str | None:
        """Notify's status for one message now; None when Notify no longer knows it."""
        try:
            answer = self._call(lambda: self.client.get_notification_by_id(notify_id))
        except MessageRefused:
            return None
        status = str((answer or {}).get("status", ""))
        return status if status in NOTIFY_STATUSES else None

    def _call(self, request: Callable[[], dict]) -> dict:
        from notifications_python_client.errors import APIError

        wait = self.first_wait
        for attempt in range(1, TRIES + 1):
            try:
                return request()
            except APIError as error:
                code = error.status_code
                if code == 429 or code >= 500:
                    if attempt < TRIES:
                        log.info("GOV.UK Notify answered %s: waiting %.1f s", code, wait)
                        pause(wait)
                        wait *= 2
                        continue
                    raise MailerUnavailable(
                        f"GOV.UK Notify answered {code} {TRIES} times"
                        f"{' (rate or daily limit)' if code == 429 else ''}"
                    ) from None
                if code in (401, 403):
                    raise MailerUnavailable(
                        f"GOV.UK Notify refused the API key ({code}): check NOTIFY_API_KEY"
                    ) from None
                # 400 or 404: about this message only. Notify's words may repeat the
                # address, so only the code is kept.
                raise MessageRefused(f"GOV.UK Notify refused the message ({code})") from None
        raise AssertionError("unreachable")  # pragma: no cover


def check_notify_settings(config: dict) -> None:
    """With NOTIFY_API_KEY set, every kind needs its template id, and the key must be one."""
    key = config.get("NOTIFY_API_KEY")
    if not key:
        return
    if not API_KEY.fullmatch(key):
        raise ValueError(
            "NOTIFY_API_KEY must be a GOV.UK Notify API key (its name, the service id and "
            "the secret, joined by hyphens)"
        )
    for kind in TEMPLATE_KINDS:
        name = template_setting(kind)
        value = (config.get(name) or "").strip().lower()
        if not NOTIFY_ID.fullmatch(value):
            raise ValueError(
                f"{name} must be the id of a GOV.UK Notify e-mail template (a UUID), "
                f"as NOTIFY_API_KEY is set (it is {config.get(name)!r})"
            )
        config[name] = value
    callback_token = config.get("NOTIFY_CALLBACK_TOKEN") or ""
    if callback_token and len(callback_token) < 32:
        raise ValueError("NOTIFY_CALLBACK_TOKEN must be at least 32 characters")
