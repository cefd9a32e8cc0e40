"""The alerts API: validation with clear 422s, tier limits, privacy (404 for others' alerts)."""

from __future__ import annotations

import httpx
import pytest

from tests.alerts.helpers import add_alert
from tests.conftest import UserFactory, WatchlistFactory, assert_error


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"kind": "price_above"}, "needs a threshold"),
        ({"kind": "price_above", "threshold": -1}, "above 0"),
        ({"kind": "daily_move", "threshold": 150}, "at most 100"),
        ({"kind": "score_above", "threshold": 60}, "needs a model"),
        ({"kind": "score_above", "threshold": 160, "model": "basic"}, "between 0 and 100"),
        ({"kind": "price_below", "threshold": 5, "model": "basic"}, "takes no model"),
        ({"kind": "signal_change", "threshold": 5}, "takes no threshold"),
        ({"kind": "volume_spike", "threshold": 5}, "kind"),
        ({"kind": "score_above", "threshold": 5, "model": "gpt"}, "model"),
    ],
)
async def test_invalid_alerts_are_422_with_the_reason(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    body: dict[str, object],
    needle: str,
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    r = await client.post("/api/v1/alerts", json={"symbol": "AAPL", **body}, headers=user.headers)
    error = assert_error(r, 422, "validation_error")
    assert needle in str(error), error


async def test_alerts_need_a_watched_symbol_and_an_analyst_in_the_plan(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    r = await client.post(
        "/api/v1/alerts",
        json={"symbol": "MSFT", "kind": "price_above", "threshold": 1},
        headers=user.headers,
    )
    assert_error(r, 422, "symbol_not_watched")
    r = await client.post(
        "/api/v1/alerts",
        json={"symbol": "AAPL", "kind": "score_above", "threshold": 70, "model": "dcf_math"},
        headers=user.headers,
    )
    assert assert_error(r, 422, "model_not_in_plan")["details"]["required_tier"] == "expert"
    await add_alert(client, user, kind="score_above", threshold=70, model="basic")
    await add_alert(client, user, kind="score_below", threshold=30, model="consensus")
    r = await client.post(
        "/api/v1/alerts",
        json={"symbol": "aapl", "kind": "score_above", "threshold": 70, "model": "basic"},
        headers=user.headers,
    )
    assert_error(r, 409, "alert_exists")


async def test_the_free_plan_keeps_five_alerts(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    for n in range(5):
        await add_alert(client, user, kind="price_above", threshold=100 + n)
    r = await client.post(
        "/api/v1/alerts",
        json={"symbol": "AAPL", "kind": "price_above", "threshold": 999},
        headers=user.headers,
    )
    error = assert_error(r, 403, "alert_limit_reached")
    assert error["details"] == {"max_alerts": 5, "tier": "free"}
    listed = (await client.get("/api/v1/alerts", headers=user.headers)).json()
    assert listed["count"] == 5 and listed["max_alerts"] == 5
    tiers = (await client.get("/api/v1/subscriptions/tiers")).json()["data"]
    assert [t["max_alerts"] for t in tiers] == [5, 20, 50]


async def test_change_and_delete_only_your_own_alerts(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    owner, other = await make_user(), await make_user()
    await fill_watchlist(owner, ["AAPL"])
    alert = await add_alert(client, owner, kind="price_above", threshold=150)
    path = f"/api/v1/alerts/{alert['id']}"

    assert (await client.get("/api/v1/alerts", headers=other.headers)).json()["data"] == []
    r = await client.patch(path, json={"threshold": 10}, headers=other.headers)
    assert_error(r, 404, "alert_not_found")
    assert_error(await client.delete(path, headers=other.headers), 404, "alert_not_found")

    r = await client.patch(path, json={"threshold": 0}, headers=owner.headers)
    assert_error(r, 422, "invalid_threshold")
    r = await client.patch(path, json={"threshold": 160, "enabled": False}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["threshold"] == 160 and not r.json()["enabled"]
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    assert_error(await client.delete(path, headers=owner.headers), 404)


async def test_an_alert_whose_symbol_left_the_watchlist_is_shown_paused(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await add_alert(client, user, kind="price_above", threshold=150)
    assert (await client.delete("/api/v1/watchlist/AAPL", headers=user.headers)).status_code == 204
    (alert,) = (await client.get("/api/v1/alerts", headers=user.headers)).json()["data"]
    assert alert["paused"] is True
