"""API keys: shown once, stored hashed, read-only, revocable, tied to an active owner."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx

from stockdash.apikeys.entities import ApiKeyRecord
from tests.admin.helpers import AdminFactory
from tests.conftest import UserFactory, UserHandle, WatchlistFactory, assert_error

KEYS = "/api/v1/api-keys"


async def _create(
    client: httpx.AsyncClient, user: UserHandle, name: str = "script"
) -> dict[str, Any]:
    r = await client.post(KEYS, json={"name": name}, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _stored(app: Any, prefix: str) -> ApiKeyRecord | None:
    """The key as the storage (SQL or MongoDB) keeps it."""
    async with app.state.container.storage.unit(read_only=True) as uow:
        return await uow.api_keys.by_prefix(prefix)


async def test_create_shows_the_key_once_and_stores_only_its_hash(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    created = await _create(client, user, "  my sheet  ")
    assert re.fullmatch(r"sdk_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", created["key"])
    assert created["name"] == "my sheet"
    assert created["key"].startswith(f"sdk_{created['prefix']}_")
    assert created["last_used_at"] is None
    stored = await _stored(app, created["prefix"])
    assert stored is not None and stored.id == created["id"]
    assert stored.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    listed = await client.get(KEYS, headers=user.headers)
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert set(listed.json()["data"][0]) == {"id", "name", "prefix", "created_at", "last_used_at"}
    assert created["key"] not in listed.text and stored.key_hash not in listed.text


async def test_key_reads_market_analysis_and_watchlist(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL"])
    key = {"X-API-Key": (await _create(client, user))["key"]}
    for path in (
        "/api/v1/stocks/AAPL",
        "/api/v1/stocks/AAPL/history?range=1m",
        "/api/v1/stocks/AAPL/fundamentals",
        "/api/v1/stocks/AAPL/analysis",
        "/api/v1/dashboard",
        "/api/v1/watchlist",
    ):
        r = await client.get(path, headers=key)
        assert r.status_code == 200, (path, r.text)
    watchlist = (await client.get("/api/v1/watchlist", headers=key)).json()
    assert [i["symbol"] for i in watchlist["data"]] == ["AAPL"] and watchlist["max_stocks"] == 10
    listed = (await client.get(KEYS, headers=user.headers)).json()
    assert listed["data"][0]["last_used_at"] is not None


async def test_key_is_refused_on_writes_and_other_reads(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    key = {"X-API-Key": (await _create(client, user))["key"]}
    writes = [
        client.post("/api/v1/watchlist", json={"symbol": "AAPL"}, headers=key),
        client.delete("/api/v1/watchlist/AAPL", headers=key),
        client.put("/api/v1/subscriptions/me", json={"tier": "expert"}, headers=key),
        client.post(KEYS, json={"name": "another"}, headers=key),
    ]
    for request in writes:
        assert_error(await request, 403, "api_key_read_only")
    for path in ("/api/v1/users/me", KEYS, "/api/v1/subscriptions/me/history"):
        assert_error(await client.get(path, headers=key), 403, "api_key_not_allowed")
    watchlist = await client.get("/api/v1/watchlist", headers=user.headers)
    assert watchlist.json()["count"] == 0


async def test_invalid_revoked_and_foreign_keys(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    created = await _create(client, alice)
    for bad in ("nonsense", "sdk__x", created["key"] + "x", "sdk_000000000000_" + "a" * 43):
        assert_error(
            await client.get("/api/v1/stocks/AAPL", headers={"X-API-Key": bad}),
            401,
            "invalid_api_key",
        )
    assert_error(await client.delete(f"{KEYS}/{created['id']}", headers=bob.headers), 404)
    assert (await client.get(KEYS, headers=bob.headers)).json()["count"] == 0
    r = await client.delete(f"{KEYS}/{created['id']}", headers=alice.headers)
    assert r.status_code == 204
    assert_error(
        await client.get("/api/v1/stocks/AAPL", headers={"X-API-Key": created["key"]}), 401
    )
    assert_error(await client.delete(f"{KEYS}/{created['id']}", headers=alice.headers), 404)


async def test_key_stops_working_when_its_owner_is_deactivated(
    client: httpx.AsyncClient, make_user: UserFactory, make_admin: AdminFactory
) -> None:
    admin, user = await make_admin(), await make_user()
    key = {"X-API-Key": (await _create(client, user))["key"]}
    assert (await client.get("/api/v1/stocks/AAPL", headers=key)).status_code == 200
    r = await client.patch(
        f"/api/v1/admin/users/{user.id}", json={"is_active": False}, headers=admin.headers
    )
    assert r.status_code == 200
    assert_error(await client.get("/api/v1/stocks/AAPL", headers=key), 401, "invalid_api_key")


async def test_key_count_is_capped_and_names_validated(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    assert_error(await client.post(KEYS, json={"name": ""}, headers=user.headers), 422)
    assert_error(await client.post(KEYS, json={"name": "x" * 65}, headers=user.headers), 422)
    for i in range(20):
        await _create(client, user, f"k{i}")
    assert_error(
        await client.post(KEYS, json={"name": "one more"}, headers=user.headers),
        409,
        "api_key_limit_reached",
    )


async def test_keys_need_a_login(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(KEYS), 401)
    assert_error(await client.post(KEYS, json={"name": "x"}), 401)
