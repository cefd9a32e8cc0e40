"""The notifications API: pages, unread count, mark read / read all, privacy, email settings."""

from __future__ import annotations

from typing import Any

import httpx

from tests.alerts.helpers import add_alert, evaluate, snap
from tests.conftest import UserFactory, UserHandle, WatchlistFactory, assert_error


async def fire(app: Any, client: httpx.AsyncClient, user: UserHandle, times: int) -> None:
    """`times` notifications for the user (a price alert crossing up and down)."""
    await add_alert(client, user, kind="price_above", threshold=150)
    for _ in range(times):
        await evaluate(app, snap(price=151.0))
        await evaluate(app, snap(price=149.0))


async def test_pages_unread_count_and_marking_read(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    await fire(app, client, user, 5)

    r = await client.get("/api/v1/notifications?page=1&size=2", headers=user.headers)
    body = r.json()
    assert (body["count"], body["unread"], body["page"], body["size"]) == (5, 5, 1, 2)
    newest = body["data"][0]
    assert len(body["data"]) == 2 and newest["read"] is False and newest["symbol"] == "AAPL"
    last = (await client.get("/api/v1/notifications?page=3&size=2", headers=user.headers)).json()
    assert len(last["data"]) == 1

    r = await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=user.headers)
    assert r.status_code == 200 and r.json()["read"] is True
    page = (await client.get("/api/v1/notifications", headers=user.headers)).json()
    assert page["unread"] == 4
    unread = await client.get("/api/v1/notifications?unread_only=true", headers=user.headers)
    assert unread.json()["count"] == 4
    r = await client.post("/api/v1/notifications/read-all", headers=user.headers)
    assert r.json() == {"updated": 4}
    assert (await client.get("/api/v1/notifications", headers=user.headers)).json()["unread"] == 0


async def test_other_users_notifications_are_invisible(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    owner, other = await make_user(), await make_user()
    await fill_watchlist(owner, ["AAPL"])
    await fire(app, client, owner, 1)
    (note,) = (await client.get("/api/v1/notifications", headers=owner.headers)).json()["data"]
    theirs = (await client.get("/api/v1/notifications", headers=other.headers)).json()
    assert theirs["data"] == [] and theirs["unread"] == 0
    r = await client.post(f"/api/v1/notifications/{note['id']}/read", headers=other.headers)
    assert_error(r, 404, "notification_not_found")
    assert (await client.post("/api/v1/notifications/read-all", headers=other.headers)).json() == {
        "updated": 0
    }
    mine = (await client.get("/api/v1/notifications", headers=owner.headers)).json()
    assert mine["unread"] == 1


async def test_email_settings(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.get("/api/v1/notifications/settings", headers=user.headers)
    assert r.json() == {"email": "off"}
    r = await client.put(
        "/api/v1/notifications/settings", json={"email": "digest"}, headers=user.headers
    )
    assert r.json() == {"email": "digest"}
    r = await client.put(
        "/api/v1/notifications/settings", json={"email": "hourly"}, headers=user.headers
    )
    assert_error(r, 422, "validation_error")
    r = await client.get("/api/v1/notifications/unsubscribe?token=nonsense")
    assert_error(r, 422, "invalid_token")
