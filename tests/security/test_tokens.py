"""Access and refresh tokens, one-time email tokens, and what revokes them."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy

from stockdash.core.db import utcnow
from stockdash.core.security import create_access_token
from tests.conftest import UserFactory, assert_error
from tests.users.auth_helpers import (
    RecordingSender,
    bearer,
    link_token,
    login,
    refresh,
    set_active,
    stored_secrets,
)

SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: int, **extra: Any) -> dict[str, Any]:
    now = int(utcnow().timestamp())
    return {
        "sub": str(user_id),
        "type": "access",
        "iss": "stockdash",
        "iat": now,
        "exp": now + 600,
        "ver": 0,
        **extra,
    }


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/users/me", headers=bearer(token))


@pytest.mark.filterwarnings("ignore:The HMAC key")  # the HS512 forgery uses the HS256 test key
async def test_forged_tampered_and_expired_access_tokens_are_401(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    good = (await login(client, user.username, user.password))["access_token"]
    assert (await _me(client, good)).status_code == 200

    header, _, signature = good.split(".")
    tampered = f"{header}.{_b64(_claims(user.id + 1))}.{signature}"
    none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user.id))}."
    wrong_key = jwt.encode(_claims(user.id), "another-key-another-key-another-key", "HS256")
    other_alg = jwt.encode(_claims(user.id), SECRET, algorithm="HS512")
    no_version = jwt.encode({k: v for k, v in _claims(user.id).items() if k != "ver"}, SECRET)
    expired = create_access_token(
        str(user.id),
        secret=SECRET,
        algorithm="HS256",
        lifetime=timedelta(seconds=-5),
        extra={"ver": 0},
    ).token
    refresh_as_bearer = (await login(client, user.username, user.password))["refresh_token"]
    for token in (tampered, none_alg, wrong_key, other_alg, no_version, expired, refresh_as_bearer):
        assert_error(await _me(client, token), 401, "not_authenticated")
    # The same claims, correctly signed, are accepted: the rejections above are about the token.
    assert (await _me(client, jwt.encode(_claims(user.id), SECRET, "HS256"))).status_code == 200


async def test_refresh_rotates_and_the_old_token_is_spent(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    first = await login(client, user.username, user.password)
    assert set(first) == {"access_token", "token_type", "expires_in", "refresh_token"}
    r = await refresh(client, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 15 * 60
    assert (await _me(client, second["access_token"])).status_code == 200
    assert_error(await refresh(client, first["refresh_token"]), 401, "invalid_refresh_token")


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    other_session = await login(client, user.username, user.password)
    r0 = (await login(client, user.username, user.password))["refresh_token"]
    r1 = (await refresh(client, r0)).json()["refresh_token"]
    r2 = (await refresh(client, r1)).json()["refresh_token"]

    assert_error(await refresh(client, r0), 401, "invalid_refresh_token")  # replayed
    assert_error(await refresh(client, r2), 401, "invalid_refresh_token")  # descendant revoked
    assert_error(await refresh(client, r1), 401, "invalid_refresh_token")
    # Another login of the same user is a different family and keeps working.
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200


async def test_logout_revokes_the_refresh_token(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    tokens = await login(client, user.username, user.password)
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 204 and r.content == b""
    assert_error(await refresh(client, tokens["refresh_token"]), 401, "invalid_refresh_token")
    # Unknown or already revoked tokens log out quietly.
    again = await client.post("/api/v1/auth/logout", json={"refresh_token": "not-a-token"})
    assert again.status_code == 204
    assert_error(await refresh(client, "not-a-token"), 401, "invalid_refresh_token")


async def test_refresh_token_expires(
    client: httpx.AsyncClient, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user()
    tokens = await login(client, user.username, user.password)
    later = utcnow() + timedelta(hours=24, seconds=1)
    monkeypatch.setattr("stockdash.users.sessions.utcnow", lambda: later)
    assert_error(await refresh(client, tokens["refresh_token"]), 401, "invalid_refresh_token")


async def test_deactivated_user_tokens_stop_working_at_once(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    tokens = await login(client, user.username, user.password)
    await set_active(app, user, False)
    assert_error(await _me(client, tokens["access_token"]), 401)
    assert_error(await refresh(client, tokens["refresh_token"]), 401, "invalid_refresh_token")


async def _reset_link(client: httpx.AsyncClient, mailbox: RecordingSender, email: str) -> str:
    r = await client.post("/api/v1/auth/password-reset/request", json={"email": email})
    assert r.status_code == 202, r.text
    return link_token(mailbox.to(email)[-1].text, "reset-password")


async def _confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def test_password_reset_revokes_earlier_access_and_refresh_tokens(
    client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    user = await make_user()
    old = await login(client, user.username, user.password)
    token = await _reset_link(client, mailbox, user.email)

    assert (await _confirm(client, token, "brand-new-pass-1")).status_code == 200
    assert_error(await _me(client, old["access_token"]), 401)
    assert_error(await _me(client, user.headers["Authorization"].split()[1]), 401)
    assert_error(await refresh(client, old["refresh_token"]), 401, "invalid_refresh_token")
    r = await client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    assert_error(r, 401, "invalid_credentials")
    new = await login(client, user.username, "brand-new-pass-1")
    assert (await _me(client, new["access_token"])).status_code == 200


async def test_password_change_revokes_earlier_tokens(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    old = await login(client, user.username, user.password)
    path = "/api/v1/users/me/password"
    wrong = {"current_password": "not-my-password", "new_password": "changed-pass-22"}
    assert_error(await client.post(path, json=wrong, headers=user.headers), 403, "wrong_password")
    body = {"current_password": user.password, "new_password": "changed-pass-22"}
    assert (await client.post(path, json=body, headers=user.headers)).status_code == 204
    assert_error(await _me(client, old["access_token"]), 401)
    assert_error(await client.get("/api/v1/users/me", headers=user.headers), 401)
    assert_error(await refresh(client, old["refresh_token"]), 401, "invalid_refresh_token")
    assert (await login(client, user.email, "changed-pass-22"))["access_token"]


async def test_reset_token_is_single_use_and_superseded(
    client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    user = await make_user()
    first = await _reset_link(client, mailbox, user.email)
    second = await _reset_link(client, mailbox, user.email)
    assert_error(await _confirm(client, first, "another-pass-1"), 422, "invalid_token")
    assert (await _confirm(client, second, "another-pass-1")).status_code == 200
    assert_error(await _confirm(client, second, "another-pass-2"), 422, "invalid_token")
    assert_error(await _confirm(client, "made-up-token", "another-pass-3"), 422, "invalid_token")


async def test_reset_token_expires(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    mailbox: RecordingSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await make_user()
    token = await _reset_link(client, mailbox, user.email)
    later = utcnow() + timedelta(minutes=60, seconds=1)
    monkeypatch.setattr("stockdash.users.account.utcnow", lambda: later)
    assert_error(await _confirm(client, token, "another-pass-1"), 422, "invalid_token")


async def test_verification_token_is_single_use_and_expires(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, mailbox: RecordingSender
) -> None:
    for name in ("early", "late"):
        r = await client.post(
            "/api/v1/auth/register",
            json={
                "username": name,
                "email": f"{name}@example.com",
                "password": "ochre-walnut-ferry-41",
            },
        )
        assert r.status_code == 201
    early = link_token(mailbox.to("early@example.com")[0].text, "verify-email")
    late = link_token(mailbox.to("late@example.com")[0].text, "verify-email")

    assert (await client.post("/api/v1/auth/verify", json={"token": early})).status_code == 200
    assert_error(await client.post("/api/v1/auth/verify", json={"token": early}), 422)

    later = utcnow() + timedelta(hours=48, seconds=1)
    monkeypatch.setattr("stockdash.users.account.utcnow", lambda: later)
    r = await client.post("/api/v1/auth/verify", json={"token": late})
    assert_error(r, 422, "invalid_token")


async def test_reset_request_answers_the_same_for_known_and_unknown_emails(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    user, inactive = await make_user(), await make_user()
    await set_active(app, inactive, False)
    answers = []
    for email in (user.email, "nobody@example.com", inactive.email, user.email.upper()):
        r = await client.post("/api/v1/auth/password-reset/request", json={"email": email})
        # Every response carries its own random request id, whatever the address.
        headers = sorted(h for h in r.headers.multi_items() if h[0] != "x-request-id")
        answers.append((r.status_code, r.content, headers))
    assert answers[0][0] == 202
    assert all(a == answers[0] for a in answers), answers
    # Only the active, known account got mail (twice: lower- and upper-case address).
    reset_mail = [e for e in mailbox.sent if "reset-password" in e.text]
    assert [e.to for e in reset_mail] == [user.email, user.email]


@pytest.mark.sql_only(reason="watches the SQL statements (SQLAlchemy cursor events)")
async def test_reset_request_answers_before_touching_the_database(
    app: Any, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    """Known and unknown addresses do the same work before the answer: none at all.

    Lookup, token and email happen in a background task once the answer is sent, so the answer's
    timing cannot tell whether an account exists.
    """
    user = await make_user()
    events: list[str] = []

    def on_sql(*_: Any) -> None:
        events.append("sql")

    async def recording_app(scope: Any, receive: Any, send: Any) -> None:
        async def recording_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                events.append("answered")

        await app(scope, receive, recording_send)

    sqlalchemy.event.listen(app.state.container.engine.sync_engine, "before_cursor_execute", on_sql)
    try:
        transport = httpx.ASGITransport(app=recording_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            for email in (user.email, "nobody@example.com"):
                events.clear()
                r = await c.post("/api/v1/auth/password-reset/request", json={"email": email})
                assert r.status_code == 202
                assert events[0] == "answered" and "sql" in events, (email, events)
    finally:
        sqlalchemy.event.remove(
            app.state.container.engine.sync_engine, "before_cursor_execute", on_sql
        )
    assert [e.to for e in mailbox.sent if "reset-password" in e.text] == [user.email]


async def test_no_response_ever_contains_a_password_or_token_hash(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    mailbox: RecordingSender,
    responses: list[httpx.Response],
) -> None:
    user = await make_user()
    tokens = await login(client, user.username, user.password)
    verify = link_token(mailbox.to(user.email)[0].text, "verify-email")
    await client.post("/api/v1/auth/verify", json={"token": verify})
    await client.post("/api/v1/auth/verify", json={"token": verify})
    await client.post("/api/v1/auth/verify/resend", headers=user.headers)
    rotated = (await refresh(client, tokens["refresh_token"])).json()
    await refresh(client, tokens["refresh_token"])
    reset = await _reset_link(client, mailbox, user.email)
    await _confirm(client, reset, "whole-new-pass-1")
    await _confirm(client, reset, "whole-new-pass-2")
    await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    await client.get("/api/v1/users/me", headers=bearer(rotated["access_token"]))

    secrets = await stored_secrets(app)
    assert len(secrets) >= 5
    assert len(responses) >= 12
    for response in responses:
        text = response.text
        assert "password_hash" not in text and "$2b$" not in text, text
        assert not any(secret in text for secret in secrets), text


async def test_concurrent_refreshes_with_one_token_let_at_most_one_through(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    tokens = await login(client, user.username, user.password)
    results = await asyncio.gather(*(refresh(client, tokens["refresh_token"]) for _ in range(5)))
    statuses = sorted(r.status_code for r in results)
    # The first spends it; every other use is a replay, which also revokes the winner's family.
    assert statuses == [200, 401, 401, 401, 401], statuses
    (winner,) = [r.json() for r in results if r.status_code == 200]
    assert_error(await refresh(client, winner["refresh_token"]), 401, "invalid_refresh_token")
