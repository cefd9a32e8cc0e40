"""Helpers for the account-lifecycle tests: a recording email sender, logins, token links."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from stockdash.notifications.email import Email
from stockdash.users.models import EmailToken, RefreshToken, User
from stockdash.users.records import UserUpdate
from tests.conftest import UserHandle

LINK = re.compile(r"https?://\S+/(verify-email|reset-password)\?token=[A-Za-z0-9_\-%]+")


class RecordingSender:
    """An EmailSender that keeps every message in memory."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        self.sent.append(email)

    def to(self, address: str) -> list[Email]:
        """The messages sent to one address, oldest first."""
        return [e for e in self.sent if e.to == address]


@pytest.fixture
def mailbox(app: Any) -> RecordingSender:
    """Replace the app's email sender with one that records messages."""
    sender = RecordingSender()
    app.state.container.delivery_sender = sender
    return sender


def link_token(text: str, page: str) -> str:
    """The token of the first `page` link (verify-email or reset-password) in a message."""
    for match in LINK.finditer(text):
        if match.group(1) == page:
            return parse_qs(urlparse(match.group(0)).query)["token"][0]
    raise AssertionError(f"no {page} link in: {text}")


async def login(client: httpx.AsyncClient, login_name: str, password: str) -> dict[str, Any]:
    """Sign in through the OAuth2 form; the token response body."""
    r = await client.post("/api/v1/auth/login", data={"username": login_name, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    """POST /auth/refresh."""
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


async def set_active(app: Any, user: UserHandle, active: bool) -> None:
    """Activate or deactivate a user directly in the storage (SQL or MongoDB)."""
    async with app.state.container.storage.unit() as uow:
        assert await uow.users.update(user.id, UserUpdate(is_active=active)) is not None
        await uow.commit()


async def stored_values(app: Any, column: Any) -> list[Any]:
    """Every stored value of an ORM column: from its table (SQL), or from the field of that name
    in the collection of the table's name (MongoDB)."""
    storage = app.state.container.storage
    if storage.backend == "mongodb":
        cursor = storage.db[column.table.name].find({}, {column.key: 1})
        return [doc[column.key] async for doc in cursor]
    async with app.state.container.sessionmaker() as session:
        return list((await session.execute(select(column))).scalars())


async def stored_secrets(app: Any) -> list[str]:
    """Every password hash and token hash in the database."""
    found: list[str] = []
    for column in (User.password_hash, RefreshToken.token_hash, EmailToken.token_hash):
        found += await stored_values(app, column)
    return found
