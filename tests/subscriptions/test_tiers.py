"""Tier table and tier changes."""

from __future__ import annotations

import httpx

from stockdash.subscriptions import tiers
from tests.conftest import UserFactory, WatchlistFactory, assert_error

SIX = ["AAPL", "MSFT", "KO", "JNJ", "JPM", "XOM"]


def test_tier_table_matches_the_product() -> None:
    assert [(s.max_stocks, [m.value for m in s.models]) for s in tiers.TIERS.values()] == [
        (5, ["basic"]),
        (10, ["basic", "warren_buffett", "peter_lynch"]),
        (20, ["basic", "warren_buffett", "peter_lynch", "dcf_math"]),
    ]
    assert tiers.required_tier("dcf_math") is tiers.Tier.EXPERT
    assert tiers.required_tier("peter_lynch") is tiers.Tier.PRO
    assert tiers.highest_tier(["free", "expert", "pro"]) is tiers.Tier.EXPERT
    assert tiers.highest_tier([]) is tiers.Tier.FREE


async def test_list_tiers(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/subscriptions/tiers")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3
    assert [(t["tier"], t["max_stocks"], len(t["models"])) for t in body["data"]] == [
        ("free", 5, 1),
        ("pro", 10, 3),
        ("expert", 20, 4),
    ]


async def test_upgrade_changes_limits(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.put("/api/v1/subscriptions/me", json={"tier": "expert"}, headers=user.headers)
    assert r.status_code == 200
    assert r.json()["max_stocks"] == 20
    me = (await client.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["subscription_tier"] == "expert" and len(me["allowed_models"]) == 4


async def test_downgrade_below_watchlist_size_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user("pro")
    await fill_watchlist(user, [*SIX, "PG"])
    r = await client.put("/api/v1/subscriptions/me", json={"tier": "free"}, headers=user.headers)
    error = assert_error(r, 409, "watchlist_exceeds_tier")
    assert "remove 2 stocks" in error["message"]
    assert error["details"] == {"tracked": 7, "max_stocks": 5, "remove": 2}
    me = (await client.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["subscription_tier"] == "pro"
    await client.delete("/api/v1/watchlist/PG", headers=user.headers)
    await client.delete("/api/v1/watchlist/XOM", headers=user.headers)
    r = await client.put("/api/v1/subscriptions/me", json={"tier": "free"}, headers=user.headers)
    assert r.status_code == 200 and r.json()["subscription_tier"] == "free"


async def test_unknown_tier_is_422(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.put(
        "/api/v1/subscriptions/me", json={"tier": "platinum"}, headers=user.headers
    )
    assert_error(r, 422, "validation_error")
