"""An admin can run a refresh cycle now; its alerts and live updates follow as on schedule."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from stockdash.events.bus import symbol_topic
from tests.admin.helpers import AdminFactory
from tests.conftest import UserFactory, WatchlistFactory, assert_error


async def test_an_admin_runs_a_refresh_now_and_its_updates_are_published(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_admin: AdminFactory,
    fill_watchlist: WatchlistFactory,
) -> None:
    user = await make_user()
    await fill_watchlist(user, ["AAPL"])
    assert_error(await client.post("/api/v1/admin/jobs/refresh", headers=user.headers), 403)
    admin = await make_admin()
    bus = app.state.container.events
    start = await bus.latest_id()
    r = await client.post("/api/v1/admin/jobs/refresh", headers=admin.headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(1200):  # generous: a loaded machine
        job = (await client.get(f"/api/v1/admin/jobs/{job_id}", headers=admin.headers)).json()
        if job["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "succeeded", job
    for _ in range(1200):
        replay = await bus.replay(start, {symbol_topic("AAPL")})
        if replay.events:
            break
        await asyncio.sleep(0.05)
    assert [e.data["symbol"] for e in replay.events] == ["AAPL"]
