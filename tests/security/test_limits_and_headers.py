"""Limits an attacker leaned on: lockouts, password-change guessing, reset flooding, header size,
token length and caching of personal answers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.core.security import create_access_token
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import UserFactory, assert_error
from tests.users.auth_helpers import bearer, login

PASSWORD = "quartz-lantern-meadow-91"
_names = itertools.count(1)
Peer = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def limited(settings: Settings, snapshot: SnapshotProvider) -> AsyncIterator[Peer]:
    """One app with real login limits (Redis-backed on the PostgreSQL pass) and a client factory
    whose clients connect from the given address (the peer address, no proxy headers)."""
    app = create_app(
        settings.model_copy(
            update={
                "rate_limit_login_ip": "10/minute",
                "rate_limit_login_account": "5/minute",
                "rate_limit_login_account_total": "12/minute",
                "rate_limit_password_reset": "2/hour",
            }
        ),
        snapshot=snapshot,
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(LifespanManager(app))

        def peer(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            client = httpx.AsyncClient(transport=transport, base_url="http://test")
            stack.push_async_callback(client.aclose)
            return client

        yield peer


async def _sign_up(client: httpx.AsyncClient) -> dict[str, str]:
    n = next(_names)
    creds = {"username": f"lk{n}", "email": f"lk{n}@example.com", "password": PASSWORD}
    r = await client.post("/api/v1/auth/register", json=creds)
    assert r.status_code == 201, r.text
    return creds


async def _login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", data={"username": name, "password": password})


async def test_a_guesser_elsewhere_cannot_lock_the_owner_out(limited: Peer) -> None:
    owner_side, attacker = limited("198.51.100.10"), limited("203.0.113.66")
    creds = await _sign_up(owner_side)
    for _ in range(5):
        assert_error(await _login(attacker, creds["username"], "not-the-password"), 401)
    assert_error(await _login(attacker, creds["username"], PASSWORD), 429, "rate_limited")
    # The owner, from their usual address, still gets in with the right password.
    assert (await _login(owner_side, creds["username"], PASSWORD)).status_code == 200


async def test_distributed_guessing_meets_the_per_account_ceiling(limited: Peer) -> None:
    """The trade-off: past the ceiling (12/minute here) the identifier guessed is closed to
    everyone. The username counts apart (see test_ratelimit: a shared count would link it to the
    email), so it is a second quota under the same ceiling."""
    creds = await _sign_up(limited("198.51.100.11"))
    for i in range(3):
        bot = limited(f"203.0.113.{i + 1}")
        for _ in range(4):
            assert_error(await _login(bot, creds["email"], "not-the-password"), 401)
    assert_error(await _login(limited("203.0.113.9"), creds["email"].upper(), "x-guess"), 429)


async def test_password_change_counts_as_a_failed_login(limited: Peer) -> None:
    client = limited("198.51.100.12")
    creds = await _sign_up(client)
    headers = bearer((await login(client, creds["username"], PASSWORD))["access_token"])
    for i in range(5):
        r = await client.post(
            "/api/v1/users/me/password",
            json={"current_password": f"guess-{i}", "new_password": "another-fine-passphrase-3"},
            headers=headers,
        )
        assert_error(r, 403, "wrong_password")
    r = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another-fine-passphrase-3"},
        headers=headers,
    )
    assert_error(r, 429, "rate_limited")
    # And the same account's login from that client is limited too: one count.
    assert_error(await _login(client, creds["username"], PASSWORD), 429)


async def test_reset_requests_are_limited_per_mailbox_whatever_the_spelling(
    limited: Peer,
) -> None:
    # The same mailbox: a Unicode domain, its punycode, and a fullwidth "who" (NFKC).
    spellings = [
        "who@ex\u00e4mple.com",
        "WHO@xn--exmple-cua.com",
        "\uff57\uff48\uff4f@ex\u00e4mple.com",
    ]
    answers = []
    for i, address in enumerate(spellings):
        # A new address each time, so only the per-mailbox limit (2/hour) can refuse.
        client = limited(f"203.0.113.{100 + i}")
        answers.append(
            await client.post("/api/v1/auth/password-reset/request", json={"email": address})
        )
    assert [r.status_code for r in answers[:2]] == [202, 202]
    assert_error(answers[2], 429, "rate_limited")


async def test_oversized_headers_are_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Padding": "a" * 40_000})
    assert_error(r, 431, "headers_too_large")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/healthz", headers={"X-Padding": "a" * 4_000})).status_code == 200


async def test_a_huge_bearer_token_is_not_decoded(
    client: httpx.AsyncClient, settings: Settings, make_user: UserFactory
) -> None:
    """Even correctly signed, a 20 kB token is refused before it is decoded."""
    user = await make_user()
    token = create_access_token(
        str(user.id),
        secret=settings.jwt_secret_key,
        algorithm=settings.jwt_algorithm,
        lifetime=timedelta(minutes=5),
        extra={"ver": 0, "pad": "A" * 20_000},
    ).token
    assert_error(await client.get("/api/v1/users/me", headers=bearer(token)), 401)
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 200


async def test_secrets_and_personal_data_are_never_cached(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    tokens = await login(client, user.username, user.password)
    key = await client.post("/api/v1/api-keys", json={"name": "k"}, headers=user.headers)
    answers: list[Any] = [
        await client.post(
            "/api/v1/auth/login", data={"username": user.username, "password": user.password}
        ),
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        key,
        await client.get("/api/v1/api-keys", headers=user.headers),
        await client.get("/api/v1/users/me", headers=user.headers),
        await client.get("/api/v1/users/me"),
    ]
    for r in answers:
        assert r.headers["Cache-Control"] == "no-store", (r.request.url, r.headers)
