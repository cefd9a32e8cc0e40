"""The email senders: the outbox fallback and the choice between SMTP and it."""

from __future__ import annotations

import logging
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockdash.core.config import Settings
from stockdash.notifications.email import (
    Email,
    OutboxEmailSender,
    SmtpEmailSender,
    sender_from_settings,
)
from tests.users.auth_helpers import link_token


async def test_without_smtp_mail_goes_to_the_outbox_and_is_logged(
    app: Any, client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="stockdash.notifications.email")
    assert isinstance(app.state.container.delivery_sender, OutboxEmailSender)
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "eve", "email": "eve@example.com", "password": "ochre-walnut-ferry-41"},
    )
    assert r.status_code == 201
    (path,) = (settings.data_dir / "outbox").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "eve@example.com"
    assert "eve@example.com" in caplog.text and str(path) in caplog.text
    assert "verify-email?token=" not in caplog.text  # only development logs the text
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    token = link_token(text, "verify-email")
    assert (await client.post("/api/v1/auth/verify", json={"token": token})).status_code == 200


async def test_outbox_sender_writes_text_and_html(tmp_path: Path) -> None:
    sender = OutboxEmailSender(tmp_path / "outbox", sender="me@example.com")
    await sender.send(Email("you@example.com", "Hi", "plain <b>", "<p>html</p>"))
    (path,) = (tmp_path / "outbox").iterdir()
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["From"] == "me@example.com" and message["Subject"] == "Hi"
    assert message.get_body(preferencelist=("plain",)).get_content() == "plain <b>\n"  # type: ignore[union-attr]
    assert "<p>html</p>" in message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("log_text", [True, False])
async def test_outbox_logs_the_text_only_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, log_text: bool
) -> None:
    """Development reads the link off the console; elsewhere no token reaches the log."""
    sender = OutboxEmailSender(tmp_path / "outbox", sender="me@example.com", log_text=log_text)
    with caplog.at_level(logging.INFO, logger="stockdash.notifications.email"):
        await sender.send(Email("you@example.com", "Hi", "link ?token=s3cret-token", "<p>hi</p>"))
    (path,) = (tmp_path / "outbox").iterdir()
    assert str(path) in caplog.text
    assert ("s3cret-token" in caplog.text) is log_text


def test_the_outbox_logs_text_in_development_only(tmp_path: Path) -> None:
    for environment, expected in (("development", True), ("production", False)):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment=environment,
            data_dir=tmp_path,
            jwt_secret_key="k" * 48,
        )
        assert OutboxEmailSender.from_settings(settings).log_text is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", "starttls"), ("false", "none"), ("tls", "tls"), ("STARTTLS", "starttls")],
)
def test_smtp_settings_choose_the_smtp_sender(raw: str, expected: str) -> None:
    settings = Settings(
        smtp_host="mail.example.com",
        smtp_port=465,
        smtp_tls=raw,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    sender = sender_from_settings(settings)
    assert isinstance(sender, SmtpEmailSender)
    assert (sender.host, sender.port, sender.tls) == ("mail.example.com", 465, expected)


def test_blank_smtp_host_means_the_outbox() -> None:
    settings = Settings(smtp_host="", _env_file=None)  # type: ignore[call-arg]
    assert isinstance(sender_from_settings(settings), OutboxEmailSender)
