"""Alert evaluation: each condition fires once per crossing and again only after re-arming;
cost per distinct symbol; paused alerts; the refresh runs it; notifications go live."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from stockdash.events.bus import user_topic
from stockdash.subscriptions.tiers import Tier
from tests.alerts.helpers import add_alert, evaluate, snap, titles
from tests.conftest import UserFactory, WatchlistFactory
from tests.events.test_refresh_updates import run_batch


@pytest.mark.parametrize(
    ("alert", "off", "on"),
    [
        ({"kind": "price_above", "threshold": 150}, {"price": 149.0}, {"price": 151.0}),
        ({"kind": "price_below", "threshold": 90}, {"price": 95.0}, {"price": 89.5}),
        ({"kind": "daily_move", "threshold": 3}, {"change_percent": 1.0}, {"change_percent": -3.5}),
        (
            {"kind": "score_above", "threshold": 70, "model": "basic"},
            {"basic": 60.0},
            {"basic": 71.0},
        ),
        (
            {"kind": "score_below", "threshold": 40, "model": "consensus"},
            {"consensus": 45.0},
            {"consensus": 39.0},
        ),
    ],
)
async def test_a_condition_fires_once_per_crossing_and_again_after_rearming(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    alert: dict[str, Any],
    off: dict[str, Any],
    on: dict[str, Any],
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await add_alert(client, user, **alert)

    await evaluate(app, snap(**off))
    assert await titles(client, user) == []
    await evaluate(app, snap(**on))
    assert len(await titles(client, user)) == 1
    (listed,) = (await client.get("/api/v1/alerts", headers=user.headers)).json()["data"]
    assert listed["armed"] is False and listed["last_fired_at"] is not None
    await evaluate(app, snap(**on))  # still true: no repeat
    await evaluate(app, snap(**on))
    assert len(await titles(client, user)) == 1
    await evaluate(app, snap(**off))  # false again: re-armed
    assert len(await titles(client, user)) == 1
    await evaluate(app, snap(**on))  # the next crossing fires again
    assert len(await titles(client, user)) == 2


async def test_an_unknown_value_neither_fires_nor_rearms(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await add_alert(client, user, kind="price_above", threshold=150)
    await evaluate(app, snap(price=151.0))
    await evaluate(app, snap(price=None))  # no price: cannot tell, stays disarmed
    await evaluate(app, snap(price=152.0))
    assert len(await titles(client, user)) == 1


async def test_a_signal_change_fires_on_each_change(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await add_alert(client, user, kind="signal_change")
    await evaluate(app, snap(signal="neutral"))  # first look: recorded only
    await evaluate(app, snap(signal="neutral"))
    assert await titles(client, user) == []
    await evaluate(app, snap(signal="bullish"))
    await evaluate(app, snap(signal="bullish"))
    await evaluate(app, snap(signal="bearish"))
    assert await titles(client, user) == [
        "AAPL consensus is now bullish",
        "AAPL consensus is now bearish",
    ]
    r = await client.get("/api/v1/notifications", headers=user.headers)
    assert r.json()["data"][0]["data"]["from"] == "bullish"


async def test_alerts_off_the_watchlist_are_paused_and_resume_when_it_is_back(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await add_alert(client, user, kind="price_above", threshold=150)
    assert (await client.delete("/api/v1/watchlist/AAPL", headers=user.headers)).status_code == 204
    await evaluate(app, snap(price=160.0))
    assert await titles(client, user) == []  # paused: not evaluated
    await fill_watchlist(user, ["AAPL"])
    await evaluate(app, snap(price=160.0))
    assert len(await titles(client, user)) == 1


async def test_disabled_alerts_are_not_evaluated(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    alert = await add_alert(client, user, kind="price_above", threshold=150)
    r = await client.patch(
        f"/api/v1/alerts/{alert['id']}", json={"enabled": False}, headers=user.headers
    )
    assert r.status_code == 200
    await evaluate(app, snap(price=160.0))
    assert await titles(client, user) == []


async def test_evaluation_costs_the_same_for_one_alert_or_forty_on_a_symbol(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    container = app.state.container
    user = await make_user("expert")
    await fill_watchlist(user, ["AAPL"])
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async def measured() -> tuple[int, int]:
        stats = container.alerts.stats
        before = (stats.symbols, stats.alert_queries, len(statements))
        await evaluate(app, snap(price=100.0))
        return stats.symbols - before[0], len(statements) - before[2]

    await add_alert(client, user, kind="price_above", threshold=1000)
    event.listen(container.engine.sync_engine, "before_cursor_execute", count)
    try:
        one = await measured()
        for n in range(39):
            await add_alert(client, user, kind="price_above", threshold=1001 + n)
        forty = await measured()
    finally:
        event.remove(container.engine.sync_engine, "before_cursor_execute", count)
    assert container.alerts.stats.alerts >= 41
    # One symbol looked at, the same statements, whether it carries one alert or forty.
    assert one == forty
    assert one[0] == 1


async def test_the_refresh_evaluates_alerts_and_pushes_the_notification_live(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    container = app.state.container
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await add_alert(client, user, kind="price_above", threshold=1)  # any real price is above
    start = await container.events.latest_id()
    report = await run_batch(container, {"AAPL": Tier.FREE})
    assert report.refreshed == ["AAPL"]
    (title,) = await titles(client, user)
    assert title.startswith("AAPL rose to ")
    replay = await container.events.replay(start, {user_topic(user.id)})
    (pushed,) = replay.events
    assert pushed.type == "notification" and pushed.data["title"] == title
    r = await client.get("/api/v1/notifications", headers=user.headers)
    assert r.json()["unread"] == 1
