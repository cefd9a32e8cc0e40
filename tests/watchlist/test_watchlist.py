"""Watchlist rules: symbols, duplicates, limits, isolation between users, concurrency."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import POPULAR_SYMBOLS, UserFactory, WatchlistFactory, assert_error

THIRTY = POPULAR_SYMBOLS[:30]


async def test_add_list_remove(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.post("/api/v1/watchlist", json={"symbol": " aapl "}, headers=user.headers)
    assert r.status_code == 201
    assert r.json()["symbol"] == "AAPL"
    r = await client.get("/api/v1/watchlist", headers=user.headers)
    body = r.json()
    assert body["count"] == 1 and body["max_stocks"] == 5
    assert [i["symbol"] for i in body["data"]] == ["AAPL"]
    r = await client.delete("/api/v1/watchlist/aapl", headers=user.headers)
    assert r.status_code == 204
    assert (await client.get("/api/v1/watchlist", headers=user.headers)).json()["count"] == 0


async def test_share_class_symbols_normalise(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    r = await client.post("/api/v1/watchlist", json={"symbol": "brk-b"}, headers=user.headers)
    assert r.status_code == 201 and r.json()["symbol"] == "BRK.B"
    assert (await client.delete("/api/v1/watchlist/BRK-B", headers=user.headers)).status_code == 204


async def test_unknown_symbol_is_404(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.post("/api/v1/watchlist", json={"symbol": "ZZZZ"}, headers=user.headers)
    error = assert_error(r, 404, "unknown_symbol")
    assert "ZZZZ" in error["message"]


async def test_malformed_symbol_is_422(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    for bad in ("", "A" * 40, "AA PL", "<script>"):
        r = await client.post("/api/v1/watchlist", json={"symbol": bad}, headers=user.headers)
        assert_error(r, 422, "validation_error")


async def test_duplicate_is_409(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["KO"])
    r = await client.post("/api/v1/watchlist", json={"symbol": "ko"}, headers=user.headers)
    assert_error(r, 409, "already_tracked")


async def test_removing_untracked_is_404(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    assert_error(
        await client.delete("/api/v1/watchlist/KO", headers=user.headers), 404, "not_tracked"
    )


async def test_limit_is_403_with_the_limit_in_the_message(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, THIRTY[:5])
    r = await client.post("/api/v1/watchlist", json={"symbol": THIRTY[5]}, headers=user.headers)
    error = assert_error(r, 403, "watchlist_limit_reached")
    assert "5" in error["message"]
    assert error["details"]["max_stocks"] == 5


async def test_users_cannot_see_or_change_each_other(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    await fill_watchlist(alice, ["AAPL", "KO"])
    assert (await client.get("/api/v1/watchlist", headers=bob.headers)).json()["count"] == 0
    assert_error(await client.delete("/api/v1/watchlist/AAPL", headers=bob.headers), 404)
    assert (await client.get("/api/v1/watchlist", headers=alice.headers)).json()["count"] == 2


async def test_requires_authentication(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/watchlist"), 401)
    assert_error(await client.post("/api/v1/watchlist", json={"symbol": "AAPL"}), 401)
    assert_error(await client.delete("/api/v1/watchlist/AAPL"), 401)


async def test_tier_limit_holds_under_concurrency(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    """30 parallel adds for a free user store exactly 5; the rest are refused cleanly."""
    user = await make_user()
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/watchlist", json={"symbol": s}, headers=user.headers)
            for s in THIRTY
        )
    )
    statuses = sorted(r.status_code for r in responses)
    body = (await client.get("/api/v1/watchlist", headers=user.headers)).json()
    # On a very loaded machine an add can wait out the statement timeout on the user's row
    # lock: a clean 503 to retry, never a 500. Either way nothing past the limit is stored and
    # every stored symbol was acknowledged.
    assert set(statuses) <= {201, 403, 503}, statuses
    assert statuses.count(201) == body["count"] <= 5, (statuses, body["count"])
    if 503 not in statuses:
        assert statuses.count(201) == 5 and statuses.count(403) == 25, statuses


async def test_concurrent_duplicate_adds_store_one(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/watchlist", json={"symbol": "AAPL"}, headers=user.headers)
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
