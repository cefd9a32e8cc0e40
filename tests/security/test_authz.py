"""Authorization: users only reach their own data, admins only the admin API, secrets never leak."""

from __future__ import annotations

from typing import Any

import httpx

from stockdash.apikeys.models import ApiKey
from stockdash.users.models import User
from tests.admin.helpers import AdminFactory, make_admin  # noqa: F401 - a fixture
from tests.conftest import UserFactory, WatchlistFactory, assert_error
from tests.users.auth_helpers import stored_values

ADMIN_ROUTES = [
    ("GET", "/api/v1/admin/users", None),
    ("GET", "/api/v1/admin/stats", None),
    ("GET", "/api/v1/admin/audit", None),
    ("PATCH", "/api/v1/admin/users/1", {"tier": "expert"}),
]


async def test_normal_user_gets_403_and_anonymous_401_on_every_admin_route(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    for method, path, body in ADMIN_ROUTES:
        r = await client.request(method, path, json=body, headers=user.headers)
        assert_error(r, 403, "admin_required")
        assert_error(await client.request(method, path, json=body), 401)
    me = (await client.get("/api/v1/users/me", headers=user.headers)).json()
    assert (me["role"], me["subscription_tier"]) == ("user", "free")


async def test_user_cannot_reach_another_users_watchlist_keys_or_profile(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    await fill_watchlist(bob, ["AAPL"])
    key = (await client.post("/api/v1/api-keys", json={"name": "bob"}, headers=bob.headers)).json()
    # Every per-user route is scoped to the token's user: there is no id to tamper with...
    assert (await client.get("/api/v1/watchlist", headers=alice.headers)).json()["count"] == 0
    assert_error(await client.delete("/api/v1/watchlist/AAPL", headers=alice.headers), 404)
    assert (await client.get("/api/v1/api-keys", headers=alice.headers)).json()["count"] == 0
    assert_error(await client.delete(f"/api/v1/api-keys/{key['id']}", headers=alice.headers), 404)
    assert (await client.get("/api/v1/users/me", headers=alice.headers)).json()["id"] == alice.id
    # ...and the only id-addressed account route is the admin one.
    r = await client.patch(
        f"/api/v1/admin/users/{bob.id}", json={"is_active": False}, headers=alice.headers
    )
    assert_error(r, 403)
    assert (await client.get("/api/v1/watchlist", headers=bob.headers)).json()["count"] == 1
    assert (await client.get("/api/v1/api-keys", headers=bob.headers)).json()["count"] == 1


async def test_deactivated_users_old_token_fails_at_once(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_admin: AdminFactory,  # noqa: F811
) -> None:
    admin, user = await make_admin(), await make_user()
    assert (await client.get("/api/v1/watchlist", headers=user.headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/admin/users/{user.id}", json={"is_active": False}, headers=admin.headers
    )
    assert r.status_code == 200
    for path in ("/api/v1/users/me", "/api/v1/watchlist", "/api/v1/stocks/AAPL"):
        assert_error(await client.get(path, headers=user.headers), 401)
    login = {"username": user.username, "password": user.password}
    assert_error(await client.post("/api/v1/auth/login", data=login), 403, "account_inactive")
    await client.patch(
        f"/api/v1/admin/users/{user.id}", json={"is_active": True}, headers=admin.headers
    )
    # Reactivation revives nothing: the old token stays dead, a new login works.
    assert_error(await client.get("/api/v1/users/me", headers=user.headers), 401)
    fresh = (await client.post("/api/v1/auth/login", data=login)).json()["access_token"]
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200


async def test_no_response_contains_a_password_or_api_key_hash(
    app: Any,
    client: httpx.AsyncClient,
    responses: list[httpx.Response],
    make_user: UserFactory,
    make_admin: AdminFactory,  # noqa: F811
    fill_watchlist: WatchlistFactory,
) -> None:
    admin, user = await make_admin(), await make_user("pro")
    await fill_watchlist(user, ["AAPL"])
    created = (
        await client.post("/api/v1/api-keys", json={"name": "k"}, headers=user.headers)
    ).json()
    key = {"X-API-Key": created["key"]}
    for headers in (user.headers, admin.headers):
        for path in (
            "/api/v1/users/me",
            "/api/v1/api-keys",
            "/api/v1/watchlist",
            "/api/v1/dashboard",
            "/api/v1/subscriptions/me/history",
        ):
            await client.get(path, headers=headers)
    await client.get("/api/v1/watchlist", headers=key)
    await client.get("/api/v1/admin/users", params={"size": 100}, headers=admin.headers)
    await client.get("/api/v1/admin/audit", headers=admin.headers)
    await client.patch(
        f"/api/v1/admin/users/{user.id}", json={"role": "user"}, headers=admin.headers
    )
    password_hashes = await stored_values(app, User.password_hash)
    key_hashes = await stored_values(app, ApiKey.key_hash)
    secrets = ["$2b$", *password_hashes, *key_hashes]
    assert len(responses) > 15
    for response in responses:
        for secret in secrets:
            assert secret not in response.text, (response.request.url, secret)
    # The key itself appears exactly once: in the creation response.
    assert sum(created["key"] in r.text for r in responses) == 1
