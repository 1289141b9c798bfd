"""Plain-text email: over SMTP (the SMTP_* settings), or into a local outbox folder, a file a
message, when MAIL_OUTBOX is set (`make run`'s demo needs no mail server), or through GOV.UK
Notify when NOTIFY_API_KEY is set (services/notify.py). `mailer_for(config)` chooses;
everything that sends takes what it returns, and each `deliver` returns a Receipt: what the
channel knows of the message once it has taken it."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from services.channel import Mailer, MailerUnavailable, MessageRefused, Receipt
from services.notify import NotifyMailer

__all__ = ["Mailer", "MailerUnavailable", "MessageRefused", "Receipt", "mailer_for"]


@dataclass
class SmtpMailer:
    """Send plain-text messages over one SMTP connection, opened on first use.

    Use as a context manager so the connection is closed (QUIT) at the end of a run.
    """

    host: str = "localhost"
    port: int = 25
    sender: str = "safekeep@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping) -> SmtpMailer:
        """Build from the SMTP_* settings that create_app reads from the environment."""
        return cls(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            sender=config["SMTP_FROM"],
            username=config["SMTP_USERNAME"] or None,
            password=config["SMTP_PASSWORD"] or None,
            starttls=bool(config["SMTP_STARTTLS"]),
            timeout=float(config["SMTP_TIMEOUT"]),
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self) -> None:
        """Open the connection (and log in) now; raise MailerUnavailable when it cannot."""
        if self._smtp is not None:
            return
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise MailerUnavailable(
                f"cannot reach the mail server {self.address}: {error}"
            ) from None
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except (OSError, smtplib.SMTPException) as error:
            smtp.close()
            raise MailerUnavailable(f"mail server {self.address} refused us: {error}") from None
        self._smtp = smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        # RFC 3834: out-of-office replies should not answer a machine.
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(body)
        return msg

    channel = "smtp"

    def deliver(
        self, to: str, kind: str, personalisation: Mapping[str, str], reference: str
    ) -> Receipt:
        """Send the message's subject and body; SMTP says no more than that it went."""
        self.send(to, personalisation["subject"], personalisation["body"])
        return Receipt(self.channel, "sent")

    def send(self, to: str, subject: str, body: str) -> None:
        """Send one message; raise MessageRefused or MailerUnavailable when it does not go."""
        self.connect()
        try:
            self._smtp.send_message(self.message(to, subject, body))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
            if self._smtp.sock is not None:
                # About this message only; the connection is still good for the next one.
                raise MessageRefused(f"message to {to} refused: {error}") from None
            # smtplib hung up on a 421 reply: the server is closing, not refusing this message.
            self.close()
            raise MailerUnavailable(f"mail server {self.address} closed: {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise MailerUnavailable(f"mail server {self.address} failed: {error}") from None


@dataclass
class OutboxMailer(SmtpMailer):
    """Write each message to `folder` as an .eml file (readable only by its owner) instead of
    sending it: for demos and trials, where people want to see what Safekeep sends without a
    mail server. Never set MAIL_OUTBOX in production: a message may hold a password link."""

    folder: str = "instance/outbox"
    channel = "outbox"

    @property
    def address(self) -> str:
        return f"the outbox folder {self.folder}"

    def connect(self) -> None:
        try:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MailerUnavailable(f"cannot write to {self.address}: {error}") from None

    def close(self) -> None:
        pass

    def send(self, to: str, subject: str, body: str) -> None:
        self.connect()
        message = self.message(to, subject, body)
        name = message["Message-ID"].strip("<>").replace("@", "-at-").replace("/", "-")
        path = Path(self.folder) / f"{name}.eml"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(bytes(message))
        except OSError as error:
            raise MailerUnavailable(f"cannot write to {self.address}: {error}") from None


def mailer_for(config: Mapping) -> Mailer:
    """The mailer the settings ask for: GOV.UK Notify when NOTIFY_API_KEY is set, else the
    outbox folder when MAIL_OUTBOX is set, else SMTP."""
    if config.get("NOTIFY_API_KEY"):
        return NotifyMailer.from_config(config)
    if folder := config.get("MAIL_OUTBOX"):
        return OutboxMailer(sender=config["SMTP_FROM"], folder=str(folder))
    return SmtpMailer.from_config(config)
