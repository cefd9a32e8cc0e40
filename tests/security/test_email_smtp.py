"""Email flows end to end against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from stockdash.core.config import Settings
from stockdash.jobs.store import JobKind, JobStatus
from tests.conftest import assert_error, free_port
from tests.users.auth_helpers import link_token


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    async def wait_for(self, to: str, count: int = 1) -> list[EmailMessage]:
        """The messages to an address, once `count` of them arrived (5 s at most)."""
        for _ in range(100):
            found = [m for m in self.messages if m["To"] == to]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail for {to}; got {[m['To'] for m in self.messages]}")


def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port, stopped when the generator closes."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def through_smtp(settings: Settings, port: int) -> Settings:
    """The test settings, sending through the test's SMTP server on `port`."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "emails_from": "stockdash <noreply@stockdash.test>",
            "public_base_url": "https://dash.example.com/",
        }
    )


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port."""
    yield from smtp_server()


@pytest.fixture
def settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    """The test settings, sending through the test's SMTP server."""
    return through_smtp(settings, smtp[1])


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _html(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


async def test_registration_mail_arrives_and_its_link_works_once(
    client: httpx.AsyncClient, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "mia", "email": "mia@example.com", "password": "ochre-walnut-ferry-41"},
    )
    assert r.status_code == 201 and r.json()["email_verified"] is False
    (message,) = await inbox.wait_for("mia@example.com")
    assert message["From"] == "stockdash <noreply@stockdash.test>"
    assert "Confirm" in message["Subject"]
    text = _text(message)
    assert "https://dash.example.com/verify-email?token=" in text
    token = link_token(text, "verify-email")
    assert token in _html(message)

    assert (await client.post("/api/v1/auth/verify", json={"token": token})).status_code == 200
    again = await client.post("/api/v1/auth/verify", json={"token": token})
    assert_error(again, 422, "invalid_token")

    r = await client.post(
        "/api/v1/auth/login", data={"username": "mia", "password": "ochre-walnut-ferry-41"}
    )
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["email_verified"] is True


async def test_password_reset_mail_arrives_and_its_link_works_once(
    client: httpx.AsyncClient, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    await client.post(
        "/api/v1/auth/register",
        json={"username": "noah", "email": "noah@example.com", "password": "ochre-walnut-ferry-41"},
    )
    r = await client.post("/api/v1/auth/password-reset/request", json={"email": "Noah@Example.com"})
    assert r.status_code == 202
    messages = await inbox.wait_for("noah@example.com", count=2)
    token = link_token(_text(messages[-1]), "reset-password")

    body = {"token": token, "new_password": "fresh-password-2"}
    assert (await client.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 200
    again = await client.post("/api/v1/auth/password-reset/confirm", json=body)
    assert_error(again, 422, "invalid_token")
    r = await client.post(
        "/api/v1/auth/login", data={"username": "noah", "password": "fresh-password-2"}
    )
    assert r.status_code == 200


async def test_an_unreachable_smtp_server_never_fails_the_request(
    app: Any, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.container.delivery_sender.port = free_port()  # nothing listens there
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "ola", "email": "ola@example.com", "password": "ochre-walnut-ferry-41"},
    )
    assert r.status_code == 201
    # The send_email job retried, then gave up: it is a dead letter and the outbox keeps the mail.
    assert "(send_email) failed for good" in caplog.text
    container = app.state.container
    dead, _ = await container.jobs.list(status=JobStatus.DEAD, kind=JobKind.SEND_EMAIL)
    assert [j.params["to"] for j in dead] == ["ola@example.com"]
    assert dead[0].attempts == container.settings.job_max_attempts
    kept = list((container.settings.data_dir / "outbox").glob("*.eml"))
    assert len(kept) == 1 and "ola@example.com" in kept[0].read_text()
