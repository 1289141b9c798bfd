"""What every way of sending an e-mail has in common: the Mailer each `deliver`s through, the
Receipt it gives back, and its two failures. services/mail.py (SMTP, the outbox folder) and
services/notify.py (GOV.UK Notify) implement it; `services.mail.mailer_for` chooses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class MailerUnavailable(Exception):
    """The mail server cannot be used (refused, timed out, bad login, dropped): stop the run."""


class MessageRefused(Exception):
    """The server refused this one message (e.g. an unknown recipient); others may still go."""


@dataclass(frozen=True)
class Receipt:
    """What a channel says when it takes a message: its name, the status, Notify's id."""

    channel: str
    status: str
    notify_id: str | None = None


class Mailer(Protocol):
    channel: str

    def deliver(
        self, to: str, kind: str, personalisation: Mapping[str, str], reference: str
    ) -> Receipt:
        """Send one message; raise MessageRefused or MailerUnavailable when it does not go."""

    def connect(self) -> None:
        """Fail now (MailerUnavailable) when the channel cannot be used at all."""
