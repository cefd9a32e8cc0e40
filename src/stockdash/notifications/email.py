"""Outgoing email: an `EmailSender` protocol, an SMTP sender and a log + outbox fallback."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from stockdash.core.config import Settings
from stockdash.core.db import utcnow

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Email:
    """One message to one recipient, with a plain-text and an HTML body."""

    to: str
    subject: str
    text: str
    html: str


class EmailSender(Protocol):
    """Anything that can deliver an email (SMTP now, a queue worker later)."""

    async def send(self, email: Email) -> None: ...


def to_mime(email: Email, sender: str) -> EmailMessage:
    """The email as a multipart/alternative MIME message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="stockdash")
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class SmtpEmailSender:
    """Delivers through an SMTP server with aiosmtplib."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        tls: Literal["starttls", "tls", "none"] = "starttls",
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.tls = username, password, tls

    async def send(self, email: Email) -> None:
        """Send one message; raises aiosmtplib errors on failure."""
        await aiosmtplib.send(
            to_mime(email, self.sender),
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls == "tls",
            # Require STARTTLS when asked for it: opportunistic TLS could be stripped.
            start_tls=self.tls == "starttls",
            timeout=SMTP_TIMEOUT_SECONDS,
        )


class OutboxEmailSender:
    """No SMTP configured: writes each message as a .eml file to an outbox folder and logs it.

    The log shows the text (its links included) only when `log_text` is on, as in development,
    where reading the verification link off the console is the point; elsewhere a log line must
    not carry a one-time token, so it names the file only.
    """

    def __init__(self, outbox: Path, *, sender: str, log_text: bool = False) -> None:
        self.outbox, self.sender, self.log_text = outbox, sender, log_text

    async def send(self, email: Email) -> None:
        """Store the message under the outbox folder and log where it went."""
        path = self.outbox / f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
        await asyncio.to_thread(self._write, path, to_mime(email, self.sender).as_bytes())
        shown = f"\n{email.text}" if self.log_text else ""
        logger.info(
            "email to %s (%s), no SMTP configured: saved to %s%s",
            email.to,
            email.subject,
            path,
            shown,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxEmailSender:
        """The outbox under DATA_DIR, logging the text in development only."""
        return cls(
            settings.data_dir / "outbox",
            sender=settings.emails_from,
            log_text=settings.environment == "development",
        )

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def sender_from_settings(settings: Settings) -> EmailSender:
    """SMTP when SMTP_HOST is set, otherwise the log + outbox fallback."""
    if settings.smtp_host:
        return SmtpEmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.emails_from,
            username=settings.smtp_user,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
        )
    return OutboxEmailSender.from_settings(settings)


async def deliver(sender: EmailSender, email: Email) -> None:
    """Send in the background: a failure is logged, never raised into a request."""
    try:
        await sender.send(email)
    except Exception:
        logger.exception("could not send email %r to %s", email.subject, email.to)
