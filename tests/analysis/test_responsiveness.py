"""Heavy analysis work runs off the event loop, and concurrent requests share it.

Every test here gets its own, never-read snapshot, so the first analysis is truly cold: the
universe context (every history read and averaged, about a second of CPU) is built from nothing.
The assertions are about order, not speed: another request is answered *while* that build is
still running, which cannot happen when the build holds the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from stockdash.analysis.schemas import MODEL_NAMES
from stockdash.analysis.service import AnalysisService
from stockdash.core.db import utcnow
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.watchlist.models import UserStock
from tests.conftest import UserFactory, analysis_runs


@pytest.fixture
def snapshot() -> SnapshotProvider:
    """A fresh snapshot for this test only (the shared one is warm from other tests)."""
    return SnapshotProvider()


async def context_build_started(analysis: AnalysisService, request: asyncio.Task[Any]) -> None:
    """Wait until the cold request is building the universe context (holding its lock)."""
    while not analysis._context_lock.locked():
        # With the build on the loop, the lock is only ever held inside one synchronous stretch:
        # this check never sees it, and the request finishes first.
        assert not request.done(), "the request finished without the build ever yielding"
        await asyncio.sleep(0.001)


async def test_healthz_answers_while_a_cold_analysis_is_computed(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user("expert")
    analysis: AnalysisService = app.state.container.analysis
    slow = asyncio.create_task(client.get("/api/v1/stocks/AAPL/analysis", headers=user.headers))
    await context_build_started(analysis, slow)

    health = await client.get("/healthz")

    assert health.status_code == 200
    assert analysis._context_lock.locked() and not slow.done()  # answered mid-build
    response = await slow
    assert response.status_code == 200, response.text
    assert list(response.json()["analyses"]) == list(MODEL_NAMES)


async def test_watchlist_answers_while_a_cold_dashboard_is_computed(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user("expert")
    symbols = ["AAPL", "MSFT", "KO", "JPM", "XOM", "BRK.B"]
    # Straight into the table: adding through the API would warm the analyses in the background.
    async with app.state.container.sessionmaker() as session:
        now = utcnow()
        await session.execute(
            insert(UserStock), [{"user_id": user.id, "symbol": s, "added_at": now} for s in symbols]
        )
        await session.commit()
    analysis: AnalysisService = app.state.container.analysis
    slow = asyncio.create_task(client.get("/api/v1/dashboard", headers=user.headers))
    await context_build_started(analysis, slow)

    watchlist = await client.get("/api/v1/watchlist", headers=user.headers)

    assert watchlist.status_code == 200
    assert [i["symbol"] for i in watchlist.json()["data"]] == symbols
    assert analysis._context_lock.locked() and not slow.done()  # answered mid-build
    dashboard = await slow
    assert dashboard.status_code == 200
    assert [i["symbol"] for i in dashboard.json()["data"]] == symbols
    assert all(i["analysis"]["consensus"] for i in dashboard.json()["data"])


async def test_concurrent_cold_requests_compute_each_analysis_once(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    expert, free = await make_user("expert"), await make_user("free")
    before = analysis_runs()
    responses = await asyncio.gather(
        *(client.get("/api/v1/stocks/KO/analysis", headers=expert.headers) for _ in range(4)),
        client.get("/api/v1/stocks/KO/analysis", headers=free.headers),
    )
    assert [r.status_code for r in responses] == [200] * 5
    # Five requests, one context, four analyst runs: the free user's `basic` is the experts'.
    assert analysis_runs() - before == len(MODEL_NAMES)
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies[:4])
    assert bodies[4]["analyses"]["basic"] == bodies[0]["analyses"]["basic"]
