"""The live stream through the API: stream tokens, feature flag, replay, revocation.

httpx's in-process transport hands over a response only once it is complete, so these streams
are read whole after they end (the revocation ends them); the two-instance test in
tests/scale/test_events_cluster.py reads a real stream as it arrives.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from stockdash.events.bus import EventDraft, symbol_topic, user_topic
from tests.conftest import UserFactory, UserHandle, WatchlistFactory, assert_error

WAIT = 60.0


def parse_sse(text: str) -> list[dict[str, str]]:
    """The events of an SSE body (comments dropped)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if fields:
            events.append(fields)
    return events


async def stream_token(client: httpx.AsyncClient, user: UserHandle) -> str:
    r = await client.post("/api/v1/events/token", headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"] == f"/api/v1/events?token={body['token']}"
    return str(body["token"])


@pytest.fixture
def quick_heartbeat(app: Any) -> None:
    app.state.container.settings.events_heartbeat_seconds = 0.2


async def login(client: httpx.AsyncClient, user: UserHandle) -> UserHandle:
    """A fresh login of the user (its own session), remembering the refresh token."""
    r = await client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    headers = {
        "Authorization": f"Bearer {body['access_token']}",
        "X-Refresh": body["refresh_token"],
    }
    return UserHandle(user.id, user.username, user.email, user.password, headers)


async def test_a_stream_needs_a_stream_token_not_an_access_token(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    access = user.headers["Authorization"].removeprefix("Bearer ")
    assert_error(await client.get(f"/api/v1/events?token={access}"), 401, "invalid_stream_token")
    assert_error(await client.post("/api/v1/events/token"), 401)
    token = await stream_token(client, user)
    # Nor does a stream token work as an access token.
    r = await client.get("/api/v1/watchlist", headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 401)


async def test_the_feature_flag_turns_the_stream_off(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    token = await stream_token(client, user)
    app.state.container.settings.feature_real_time_updates = False
    assert_error(
        await client.post("/api/v1/events/token", headers=user.headers), 404, "feature_disabled"
    )
    assert_error(await client.get(f"/api/v1/events?token={token}"), 404, "feature_disabled")


@pytest.mark.usefixtures("quick_heartbeat")
async def test_logout_closes_the_stream_within_a_heartbeat_after_delivering_events(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await login(client, await make_user())
    await fill_watchlist(user, ["AAPL"])
    bus = app.state.container.events
    token = await stream_token(client, user)

    async def publish_then_logout() -> list[str]:
        hub = bus.hub
        for _ in range(int(WAIT / 0.05)):
            if hub.count:
                break
            await asyncio.sleep(0.05)
        ids = await bus.publish(
            [
                EventDraft(symbol_topic("AAPL"), "symbol.update", {"symbol": "AAPL", "tiers": {}}),
                EventDraft(symbol_topic("MSFT"), "symbol.update", {"symbol": "MSFT", "tiers": {}}),
                EventDraft(user_topic(user.id), "notification", {"title": "hi"}),
            ]
        )
        r = await client.post(
            "/api/v1/auth/logout", json={"refresh_token": user.headers["X-Refresh"]}
        )
        assert r.status_code == 204, r.text
        return ids

    streaming = asyncio.create_task(client.get(f"/api/v1/events?token={token}"))
    ids = await publish_then_logout()
    response = await asyncio.wait_for(streaming, WAIT)  # the stream ended by itself
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [e["event"] for e in events]
    assert kinds == ["ready", "symbol.update", "notification", "revoked"]
    assert [e["id"] for e in events[1:3]] == [ids[0], ids[2]]  # MSFT is not on the watchlist
    assert json.loads(events[1]["data"])["symbol"] == "AAPL"
    # The stream token of an ended session opens nothing.
    assert_error(await client.get(f"/api/v1/events?token={token}"), 401, "session_ended")


@pytest.mark.usefixtures("quick_heartbeat")
async def test_a_password_change_closes_the_stream(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    token = await stream_token(client, user)
    streaming = asyncio.create_task(client.get(f"/api/v1/events?token={token}"))
    hub = app.state.container.events.hub
    for _ in range(int(WAIT / 0.05)):
        if hub.count:
            break
        await asyncio.sleep(0.05)
    r = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": user.password, "new_password": "another-horse-77"},
        headers=user.headers,
    )
    assert r.status_code in (200, 204), r.text
    response = await asyncio.wait_for(streaming, WAIT)
    assert [e["event"] for e in parse_sse(response.text)] == ["ready", "revoked"]


@pytest.mark.usefixtures("quick_heartbeat")
async def test_reconnecting_with_last_event_id_replays_missed_events_once(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await login(client, await make_user())
    await fill_watchlist(user, ["AAPL"])
    bus = app.state.container.events
    seen = await bus.publish([EventDraft(symbol_topic("AAPL"), "symbol.update", {"n": 0})])
    missed = await bus.publish(
        [EventDraft(symbol_topic("AAPL"), "symbol.update", {"n": n}) for n in (1, 2)]
    )
    token = await stream_token(client, user)
    streaming = asyncio.create_task(
        client.get(f"/api/v1/events?token={token}", headers={"Last-Event-ID": seen[0]})
    )
    hub = bus.hub
    for _ in range(int(WAIT / 0.05)):
        if hub.count:
            break
        await asyncio.sleep(0.05)
    live = await bus.publish([EventDraft(symbol_topic("AAPL"), "symbol.update", {"n": 3})])
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": user.headers["X-Refresh"]})
    assert r.status_code == 204
    events = parse_sse((await asyncio.wait_for(streaming, WAIT)).text)
    updates = [e for e in events if e["event"] == "symbol.update"]
    assert [e["id"] for e in updates] == [*missed, *live]
    assert [json.loads(e["data"])["n"] for e in updates] == [1, 2, 3]


async def test_a_watchlist_change_moves_open_streams_to_the_new_symbols_at_once(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    # A long heartbeat: only the watchlist.changed event can make the stream follow in time.
    app.state.container.settings.events_heartbeat_seconds = 3600
    user = await login(client, await make_user())
    bus = app.state.container.events
    token = await stream_token(client, user)
    streaming = asyncio.create_task(client.get(f"/api/v1/events?token={token}"))
    for _ in range(int(WAIT / 0.05)):
        if bus.hub.count:
            break
        await asyncio.sleep(0.05)
    await fill_watchlist(user, ["AAPL"])
    hub = bus.hub
    for _ in range(int(WAIT / 0.05)):  # the stream re-read the watchlist: it listens to AAPL
        if symbol_topic("AAPL") in hub._by_topic:
            break
        await asyncio.sleep(0.05)
    ids = await bus.publish([EventDraft(symbol_topic("AAPL"), "symbol.update", {"n": 1})])
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": user.headers["X-Refresh"]})
    assert r.status_code == 204
    # A change makes the stream re-check its reader at once: logged out, it ends.
    await bus.publish([EventDraft(user_topic(user.id), "watchlist.changed", {})])
    events = parse_sse((await asyncio.wait_for(streaming, WAIT)).text)
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["ready", "watchlist.changed", "symbol.update"], kinds
    assert events[2]["id"] == ids[0]
    assert kinds[-1] == "revoked"


async def test_the_stream_answers_503_while_the_event_bus_is_down(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis.asyncio as aioredis

    from stockdash.events.bus import RedisEventBus
    from tests.conftest import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client_down = aioredis.from_url(dead, socket_connect_timeout=0.5, socket_timeout=0.5)
    bus = RedisEventBus(client_down, client_down, prefix="down:", maxlen=100)
    monkeypatch.setattr(app.state.container, "events", bus)
    user = await make_user()
    token = await stream_token(client, user)
    assert_error(await client.get(f"/api/v1/events?token={token}"), 503, "events_unavailable")
    await client_down.aclose()
