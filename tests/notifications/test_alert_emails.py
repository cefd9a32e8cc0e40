"""Alert emails through the real SMTP test server (aiosmtpd): immediate, digest, unsubscribe."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from stockdash.core.config import Settings
from tests.alerts.helpers import add_alert, evaluate, snap
from tests.conftest import UserFactory, UserHandle, WatchlistFactory
from tests.security.test_email_smtp import Inbox, _html, _text, smtp_server, through_smtp


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port."""
    yield from smtp_server()


@pytest.fixture
def settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    """The test settings, sending through the test's SMTP server."""
    return through_smtp(settings, smtp[1])


def alert_mail(inbox: Inbox, to: str) -> list[EmailMessage]:
    """The messages to an address other than the sign-up confirmation."""
    return [m for m in inbox.messages if m["To"] == to and "Confirm" not in m["Subject"]]


async def wait_alert_mail(inbox: Inbox, to: str) -> EmailMessage:
    """The first alert email to an address (waits on the inbox, generously)."""
    for _ in range(600):
        found = alert_mail(inbox, to)
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no alert mail for {to}")


async def email_mode(client: httpx.AsyncClient, user: UserHandle, mode: str) -> None:
    r = await client.put(
        "/api/v1/notifications/settings", json={"email": mode}, headers=user.headers
    )
    assert r.status_code == 200, r.text


async def test_an_immediate_alert_email_arrives_and_its_unsubscribe_link_works(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, _ = smtp
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await email_mode(client, user, "immediate")
    await add_alert(client, user, kind="price_above", threshold=150)
    await evaluate(app, snap(price=151.25))

    message = await wait_alert_mail(inbox, user.email)
    assert message["Subject"] == "AAPL rose to 151.25"
    text = _text(message)
    assert "https://dash.example.com/stocks/AAPL" in text
    match = re.search(
        r"https://dash\.example\.com(/api/v1/notifications/unsubscribe\?token=\S+)", text
    )
    assert match is not None, text
    assert "Unsubscribe" in _html(message)

    r = await client.get(match.group(1))
    assert r.status_code == 200 and "Unsubscribed" in r.text
    settings = await client.get("/api/v1/notifications/settings", headers=user.headers)
    assert settings.json() == {"email": "off"}
    await evaluate(app, snap(price=149.0))
    await evaluate(app, snap(price=152.0))
    assert len(await titles_of(client, user)) == 2  # still notified in the app
    assert len(alert_mail(inbox, user.email)) == 1  # but not emailed


async def titles_of(client: httpx.AsyncClient, user: UserHandle) -> list[str]:
    r = await client.get("/api/v1/notifications", headers=user.headers)
    return [n["title"] for n in r.json()["data"]]


async def test_a_digest_lists_the_pending_alerts_in_one_email(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, _ = smtp
    notifier = app.state.container.notifier
    user, quiet = await make_user(), await make_user()
    await fill_watchlist(user, ["AAPL"])
    await fill_watchlist(quiet, ["AAPL"])
    await email_mode(client, user, "digest")
    await add_alert(client, user, kind="price_above", threshold=150)
    await add_alert(client, user, kind="daily_move", threshold=2)
    await add_alert(client, quiet, kind="price_above", threshold=150)  # emails off
    await evaluate(app, snap(price=151.0, change_percent=2.5))
    assert alert_mail(inbox, user.email) == []  # nothing until the digest

    assert await notifier.send_digests() == 1
    message = await wait_alert_mail(inbox, user.email)
    assert message["Subject"] == "stockdash: 2 alerts"
    text = _text(message)
    assert "AAPL rose to 151.00" in text and "AAPL moved +2.50% today" in text
    assert "/api/v1/notifications/unsubscribe?token=" in text
    # Sent: nothing pending, and not again within the digest interval.
    assert await notifier.send_digests() == 0
