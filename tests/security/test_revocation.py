"""Revocation: deactivation, reactivation, password reset and change cut every credential."""

from __future__ import annotations

import httpx

from tests.admin.helpers import AdminFactory
from tests.conftest import UserFactory, UserHandle, assert_error
from tests.users.auth_helpers import RecordingSender, bearer, link_token, login, refresh

USERS = "/api/v1/admin/users"
KEYS = "/api/v1/api-keys"
ME = "/api/v1/users/me"
WATCHLIST = "/api/v1/watchlist"


async def _credentials(client: httpx.AsyncClient, user: UserHandle) -> tuple[str, str, str]:
    """A fresh access token, refresh token and API key of the user, each checked to work."""
    tokens = await login(client, user.username, user.password)
    r = await client.post(KEYS, json={"name": "intruder"}, headers=bearer(tokens["access_token"]))
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert (await client.get(WATCHLIST, headers={"X-API-Key": key})).status_code == 200
    return tokens["access_token"], tokens["refresh_token"], key


async def _assert_all_dead(
    client: httpx.AsyncClient, access: str, refresh_token: str, key: str
) -> None:
    assert_error(await client.get(ME, headers=bearer(access)), 401)
    assert_error(await client.get(WATCHLIST, headers={"X-API-Key": key}), 401, "invalid_api_key")
    assert_error(await refresh(client, refresh_token), 401, "invalid_refresh_token")


async def test_reactivation_revives_no_token_refresh_session_or_api_key(
    client: httpx.AsyncClient, make_user: UserFactory, make_admin: AdminFactory
) -> None:
    admin, user = await make_admin(), await make_user()
    access, refresh_token, key = await _credentials(client, user)
    for active in (False, True):
        r = await client.patch(
            f"{USERS}/{user.id}", json={"is_active": active}, headers=admin.headers
        )
        assert r.status_code == 200, r.text
    await _assert_all_dead(client, access, refresh_token, key)
    # The owner signs in again and everything works afresh.
    tokens = await login(client, user.username, user.password)
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 200
    assert (await client.get(KEYS, headers=bearer(tokens["access_token"]))).json()["count"] == 0


async def test_password_reset_revokes_api_keys(
    client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    user = await make_user()
    access, refresh_token, key = await _credentials(client, user)
    r = await client.post("/api/v1/auth/password-reset/request", json={"email": user.email})
    assert r.status_code == 202
    token = link_token(mailbox.to(user.email)[-1].text, "reset-password")
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "taken-back-by-the-owner-7"},
    )
    assert r.status_code == 200, r.text
    await _assert_all_dead(client, access, refresh_token, key)


async def test_password_change_revokes_api_keys(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    access, refresh_token, key = await _credentials(client, user)
    r = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": user.password, "new_password": "a-fresh-start-for-me-42"},
        headers=bearer(access),
    )
    assert r.status_code == 204, r.text
    await _assert_all_dead(client, access, refresh_token, key)
