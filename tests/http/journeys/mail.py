"""Mail for the HTTP tests: a real SMTP server on loopback (aiosmtpd) that keeps what it
receives. The `inbox` and `mail_app` fixtures (tests/http/conftest.py) use it."""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.policy import default as default_policy

BASE_URL = "https://safekeep.council.test"


class Inbox:
    """An aiosmtpd handler that keeps every message, and can refuse or hang up on request."""

    def __init__(self):
        self.messages: list[tuple[str, object]] = []
        self.refuse: set[str] = set()  # answered 550 at RCPT TO
        self.hang_up_after: int | None = None  # answer DATA with 421 once this many arrived
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.hang_up_after is not None and len(self.messages) >= self.hang_up_after:
                return "421 4.3.2 Service shutting down"
            message = message_from_bytes(envelope.original_content, policy=default_policy)
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, message))
        return "250 OK"

    def received(self) -> list[tuple[str, str]]:
        """(recipient, subject) of every message, in arrival order."""
        return [(to, msg["Subject"]) for to, msg in self.messages]

    def to(self, address: str) -> list:
        return [msg for to, msg in self.messages if to == address]

    def clear(self) -> None:
        self.messages.clear()
