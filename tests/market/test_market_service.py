"""The market service: two-level cache, single-flight, stale fallback, persistence, API routes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from tests.conftest import UserFactory, assert_error

from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker, utcnow
from stockdash.market.cache import Cache, MemoryCache
from stockdash.market.counting import CountingProvider
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider


@pytest.fixture
async def sessionmaker(settings: Settings):  # type: ignore[no-untyped-def]
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    yield create_sessionmaker(engine)
    await engine.dispose()


def make_service(
    provider: CountingProvider, snapshot: SnapshotProvider, cache: Cache, sm, ttl: float = 1800
) -> MarketService:  # type: ignore[no-untyped-def]
    return MarketService(provider, snapshot, cache=cache, sessionmaker=sm, ttl=ttl)


async def test_concurrent_requests_for_an_uncached_symbol_fetch_once(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, sessionmaker)
    views = await asyncio.gather(*(service.stock("AAPL") for _ in range(25)))
    assert {v.quote.price for v in views} == {views[0].quote.price}
    assert provider.endpoint_calls("quote")["AAPL"] == 1
    await asyncio.gather(*(service.history("AAPL") for _ in range(10)))
    assert provider.endpoint_calls("history")["AAPL"] == 1


async def test_second_read_is_served_from_cache(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, sessionmaker)
    first = await service.stock("KO")
    second = await service.stock("KO")
    assert first.quote == second.quote and not second.stale
    assert provider.endpoint_calls("quote")["KO"] == 1


async def test_provider_down_serves_last_good_data_marked_stale(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, sessionmaker, ttl=0.05)
    good = await service.stock("MSFT")
    await asyncio.sleep(0.1)  # the cache entry and the stored row expire
    provider.down = True
    stale = await service.stock("MSFT")
    assert stale.stale is True
    assert stale.quote == good.quote
    assert stale.fetched_at == good.fetched_at


async def test_restart_starts_warm_from_the_database(
    snapshot: SnapshotProvider, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    provider = CountingProvider(snapshot)
    await make_service(provider, snapshot, MemoryCache(), sessionmaker).stock("JNJ")
    restarted_provider = CountingProvider(snapshot)
    restarted = make_service(restarted_provider, snapshot, MemoryCache(), sessionmaker)
    view = await restarted.stock("JNJ")
    assert not view.stale
    assert restarted_provider.endpoint_calls("quote")["JNJ"] == 0


async def test_nothing_cached_and_provider_down_falls_back_to_the_snapshot_marked_stale(
    snapshot: SnapshotProvider, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    provider = CountingProvider(snapshot)
    provider.down = True
    view = await make_service(provider, snapshot, MemoryCache(), sessionmaker).stock("PG")
    assert view.stale and view.quote.source == "snapshot"


async def test_memory_cache_expires() -> None:
    now = [0.0]
    cache = MemoryCache(clock=lambda: now[0])
    await cache.set("k", "v", 10)
    assert await cache.get("k") == "v"
    now[0] = 10.5
    assert await cache.get("k") is None
    assert await cache.add("lock", "1", 5) and not await cache.add("lock", "1", 5)


async def test_stock_endpoints(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.get("/api/v1/stocks/aapl", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["symbol"] == "AAPL" and body["name"].startswith("Apple")
    assert (
        body["as_of"].startswith("2026-08")
        and body["source"] == "snapshot"
        and body["stale"] is False
    )
    assert body["price"] > 0
    r = await client.get("/api/v1/stocks/AAPL/history?range=1y", headers=user.headers)
    bars = r.json()["bars"]
    assert 240 <= len(bars) <= 260
    assert all(bars[i]["date"] < bars[i + 1]["date"] for i in range(len(bars) - 1))
    assert all(b["open"] is not None and b["volume"] is not None for b in bars)
    full = (await client.get("/api/v1/stocks/AAPL/history?range=max", headers=user.headers)).json()[
        "bars"
    ]
    assert full[0]["date"].startswith("2010")
    r = await client.get("/api/v1/stocks/AAPL/fundamentals", headers=user.headers)
    rows = r.json()["data"]
    assert r.json()["currency"] == "USD" and len(rows) >= 5
    assert rows[0]["fiscal_year"] > rows[-1]["fiscal_year"]
    fy2025 = next(row for row in rows if row["fiscal_year"] == 2025)
    assert fy2025["operating_cash_flow"] == 111_482_000_000


async def test_search_is_public_and_ranked(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/stocks/search?q=appl")
    assert r.json()["data"][0]["symbol"] == "AAPL"
    r = await client.get("/api/v1/stocks/search?q=coca")
    assert r.json()["data"][0]["symbol"] == "KO"
    assert_error(await client.get("/api/v1/stocks/search?q="), 422)


async def test_stock_errors(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    assert_error(
        await client.get("/api/v1/stocks/NOPE", headers=user.headers), 404, "unknown_symbol"
    )
    assert_error(
        await client.get("/api/v1/stocks/AAPL/history?range=2w", headers=user.headers), 422
    )
    assert_error(await client.get("/api/v1/stocks/AAPL"), 401)


async def test_stale_fields_in_persisted_row_expire(
    snapshot: SnapshotProvider, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    clock = [utcnow()]
    service = MarketService(
        CountingProvider(snapshot),
        snapshot,
        cache=MemoryCache(),
        sessionmaker=sessionmaker,
        ttl=60,
        clock=lambda: clock[0],
    )
    await service.stock("V")
    clock[0] += timedelta(seconds=120)
    persisted = await service._persisted("V")
    assert persisted is not None and persisted[1] is True
