"""Email verification: the link, resending it, and the optional gate on adding stocks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import UserFactory, assert_error
from tests.users.auth_helpers import RecordingSender, link_token


async def _verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/verify", json={"token": token})


async def test_resend_sends_a_new_link_and_the_old_one_stops_working(
    client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    user = await make_user()
    old = link_token(mailbox.to(user.email)[0].text, "verify-email")
    assert_error(await client.post("/api/v1/auth/verify/resend"), 401)
    r = await client.post("/api/v1/auth/verify/resend", headers=user.headers)
    assert r.status_code == 202, r.text
    new = link_token(mailbox.to(user.email)[-1].text, "verify-email")
    assert new != old
    assert_error(await _verify(client, old), 422, "invalid_token")
    assert (await _verify(client, new)).status_code == 200
    r = await client.post("/api/v1/auth/verify/resend", headers=user.headers)
    assert_error(r, 409, "already_verified")


async def test_unverified_users_cannot_add_stocks_when_verification_is_required(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    app.state.container.settings.require_email_verification = True
    user = await make_user()
    r = await client.post("/api/v1/watchlist", json={"symbol": "AAPL"}, headers=user.headers)
    assert_error(r, 403, "email_not_verified")
    assert (await _verify(client, link_token(mailbox.sent[-1].text, "verify-email"))).is_success
    r = await client.post("/api/v1/watchlist", json={"symbol": "AAPL"}, headers=user.headers)
    assert r.status_code == 201, r.text


async def test_unverified_users_can_add_stocks_by_default(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    r = await client.post("/api/v1/watchlist", json={"symbol": "MSFT"}, headers=user.headers)
    assert r.status_code == 201, r.text


async def test_invalid_token_bodies_are_422(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/api/v1/auth/verify", json={}), 422, "validation_error")
    assert_error(await _verify(client, ""), 422, "validation_error")
    assert_error(await _verify(client, "x" * 300), 422, "validation_error")
    assert_error(await _verify(client, "unknown"), 422, "invalid_token")
