"""The refresh pipeline: one fetch per distinct symbol however many users track it."""

from __future__ import annotations

import asyncio
import contextvars
import random
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, select

from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker, utcnow
from stockdash.core.locks import Locks, ProcessLocalLocks, RedisLocks
from stockdash.jobs.refresh import CYCLE_LOCK, run_refresh_cycle
from stockdash.market.cache import Cache, MemoryCache, RedisCache
from stockdash.market.counting import CountingProvider
from stockdash.market.models import StockCache
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock
from tests.conftest import POPULAR_SYMBOLS, REDIS_URL, UserFactory, analysis_runs, analysis_service

FORTY = POPULAR_SYMBOLS


@pytest.fixture
async def sessionmaker(settings: Settings):  # type: ignore[no-untyped-def]
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def seed_users(sessionmaker, users: int, symbols: list[str], seed: int = 7) -> None:  # type: ignore[no-untyped-def]
    """Insert users with overlapping random watchlists straight into the tables."""
    rng = random.Random(seed)
    now = utcnow()
    tiers = ["free", "pro", "expert"]
    async with sessionmaker() as session:
        await session.execute(
            insert(User),
            [
                {
                    "username": f"bulk{i}",
                    "email": f"bulk{i}@example.com",
                    "password_hash": "x",
                    "subscription_tier": tiers[i % 3],
                    "role": "user",
                    "is_active": True,
                    "email_verified": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(users)
            ],
        )
        rows = []
        for user_id in range(1, users + 1):
            limit = {0: 5, 1: 10, 2: 20}[(user_id - 1) % 3]
            for symbol in rng.sample(symbols, rng.randint(1, min(limit, len(symbols)))):
                rows.append({"user_id": user_id, "symbol": symbol, "added_at": now})
        await session.execute(insert(UserStock), rows)
        await session.commit()


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_one_fetch_per_distinct_symbol_for_200_users(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker: Any, client: httpx.AsyncClient
) -> None:
    await seed_users(sessionmaker, 200, FORTY)
    name = f"counting-{id(cache)}"
    provider = CountingProvider(snapshot, name=name)
    market = MarketService(provider, snapshot, cache=cache, sessionmaker=sessionmaker)
    analysis = analysis_service(market)
    before = scrape((await client.get("/metrics")).text)

    report = await run_refresh_cycle(sessionmaker, market, analysis)

    assert report.symbols == 40 and len(report.refreshed) == 40 and not report.failed
    assert len(provider.batches) == 1 and sorted(provider.batches[0]) == sorted(FORTY)
    for endpoint in ("quote", "history", "fundamentals", "profile"):
        per_symbol = provider.endpoint_calls(endpoint)
        assert set(per_symbol) == set(FORTY), endpoint
        assert max(per_symbol.values()) == 1, endpoint
    # GET /metrics shows the same: one batched quote request, one request per symbol for the rest.
    after = scrape((await client.get("/metrics")).text)
    requests = "stockdash_provider_requests_total"
    fetches = "stockdash_provider_fetches_total"
    assert delta(before, after, requests, provider=name, endpoint="quote", status="ok") == 1
    assert delta(before, after, fetches, provider=name, endpoint="quote") == 1
    for endpoint in ("history", "fundamentals", "profile"):
        assert delta(before, after, requests, provider=name, endpoint=endpoint, status="ok") == 40
        assert delta(before, after, fetches, provider=name, endpoint=endpoint) == 40
    assert after[("stockdash_refresh_symbols", ())] == 40
    assert delta(before, after, "stockdash_refresh_cycle_seconds_count") == 1
    async with sessionmaker() as session:
        rows = (await session.execute(select(StockCache))).scalars().all()
    assert len(rows) == 40
    by_symbol = {r.symbol: r for r in rows}
    assert all(r.ai_analyses["models"] and r.stock_data["fundamentals"]["rows"] for r in rows)
    assert "dcf_math" in by_symbol["AAPL"].ai_analyses["models"]  # an expert tracks every one

    again = await run_refresh_cycle(sessionmaker, market, analysis)
    assert again.symbols == 40
    assert len(provider.batches) == 2  # quotes are re-fetched each cycle, in one batch
    assert max(provider.endpoint_calls("history").values()) == 1  # history still cached
    final = scrape((await client.get("/metrics")).text)
    assert delta(before, final, requests, provider=name, endpoint="quote", status="ok") == 2
    assert delta(before, final, requests, provider=name, endpoint="history", status="ok") == 40


async def test_analyses_follow_the_highest_tracking_tier(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    async with sessionmaker() as session:
        await session.execute(
            insert(User),
            [
                {
                    "username": n,
                    "email": f"{n}@e.com",
                    "password_hash": "x",
                    "subscription_tier": t,
                    "role": "user",
                    "is_active": a,
                    "email_verified": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, t, a in [("f", "free", True), ("p", "pro", True), ("x", "expert", False)]
            ],
        )
        await session.execute(
            insert(UserStock),
            [
                {"user_id": 1, "symbol": "KO", "added_at": now},
                {"user_id": 2, "symbol": "KO", "added_at": now},
                {"user_id": 1, "symbol": "PG", "added_at": now},
                {"user_id": 3, "symbol": "PG", "added_at": now},  # inactive expert: ignored
                {
                    "user_id": 3,
                    "symbol": "HD",
                    "added_at": now,
                },  # only an inactive user: not refreshed
            ],
        )
        await session.commit()
    market = MarketService(
        CountingProvider(snapshot), snapshot, cache=cache, sessionmaker=sessionmaker
    )
    analysis = analysis_service(market)
    report = await run_refresh_cycle(sessionmaker, market, analysis)
    assert sorted(report.refreshed) == ["KO", "PG"]
    async with sessionmaker() as session:
        rows = {r.symbol: r for r in (await session.execute(select(StockCache))).scalars()}
    assert sorted(rows["KO"].ai_analyses["models"]) == ["basic", "peter_lynch", "warren_buffett"]
    assert sorted(rows["PG"].ai_analyses["models"]) == ["basic"]


async def test_provider_down_for_a_cycle_loses_nothing(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    await seed_users(sessionmaker, 10, FORTY[:8])
    provider = CountingProvider(snapshot)
    market = MarketService(provider, snapshot, cache=cache, sessionmaker=sessionmaker, ttl=0.01)
    await run_refresh_cycle(sessionmaker, market, None)
    async with sessionmaker() as session:
        before = {
            r.symbol: dict(r.stock_data)
            for r in (await session.execute(select(StockCache))).scalars()
        }
    provider.down = True
    report = await run_refresh_cycle(sessionmaker, market, None)
    assert len(report.failed) == report.symbols == len(before)
    async with sessionmaker() as session:
        after = {
            r.symbol: dict(r.stock_data)
            for r in (await session.execute(select(StockCache))).scalars()
        }
    assert after == before
    view = await market.stock(next(iter(before)))
    assert view.stale is True


async def test_only_one_instance_runs_a_cycle_at_a_time(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    market = MarketService(
        CountingProvider(snapshot), snapshot, cache=cache, sessionmaker=sessionmaker
    )
    locks = await _locks(cache)
    other = await locks.acquire(CYCLE_LOCK, ttl=30, wait=None)  # another instance runs one
    assert other is not None
    report = await run_refresh_cycle(sessionmaker, market, None, locks=locks)
    assert report.skipped
    await other.release()
    assert not (await run_refresh_cycle(sessionmaker, market, None, locks=locks)).skipped


async def _locks(cache: Cache) -> Locks:
    """Locks of the cache's kind: Redis locks beside a Redis cache, else process-local ones."""
    if not isinstance(cache, RedisCache):
        return ProcessLocalLocks()
    return RedisLocks(aioredis.from_url(REDIS_URL), prefix=f"test-{uuid.uuid4().hex[:8]}:")


async def test_provider_down_for_a_cycle_keeps_history_and_fundamentals_stale_not_lost(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker: Any
) -> None:
    await seed_users(sessionmaker, 5, ["KO", "PG"])
    provider = CountingProvider(snapshot)
    market = MarketService(provider, snapshot, cache=cache, sessionmaker=sessionmaker, ttl=0.05)
    await run_refresh_cycle(sessionmaker, market, None)
    good = await market.history_view("KO")
    await asyncio.sleep(0.1)
    provider.down = True
    report = await run_refresh_cycle(sessionmaker, market, None)
    assert set(report.failed) == {"KO", "PG"} and not report.refreshed
    stale = await market.history_view("KO")
    assert stale.stale and stale.bars == good.bars and stale.fetched_at == good.fetched_at
    assert (await market.fundamentals_view("KO")).rows


async def test_a_cold_start_reads_the_persisted_analyses_back(
    snapshot: SnapshotProvider, sessionmaker: Any
) -> None:
    await seed_users(sessionmaker, 3, ["MSFT"])  # free, pro and expert: every model
    market = MarketService(
        CountingProvider(snapshot), snapshot, cache=MemoryCache(), sessionmaker=sessionmaker
    )
    analysis = analysis_service(market)
    await run_refresh_cycle(sessionmaker, market, analysis)
    async with sessionmaker() as session:
        stored = (await session.execute(select(StockCache))).scalars().one().ai_analyses
    # A restart: empty in-process cache, new services, the same database.
    market2 = MarketService(
        CountingProvider(snapshot), snapshot, cache=MemoryCache(), sessionmaker=sessionmaker
    )
    analysis2 = analysis_service(market2)
    await analysis2.context()
    runs = analysis_runs()
    result = await analysis2.analyse("MSFT", ["basic", "warren_buffett", "peter_lynch", "dcf_math"])
    assert analysis_runs() == runs  # nothing recomputed: every analysis came from stock_cache
    assert {m: a.model_dump(mode="json") for m, a in result.items()} == stored["models"]


async def test_a_newly_added_symbol_is_fetched_at_once(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, snapshot: SnapshotProvider
) -> None:
    user = await make_user("pro")
    provider = CountingProvider(snapshot, name="watchlist-warm")
    app.state.container.market.provider = provider
    r = await client.post("/api/v1/watchlist", json={"symbol": "cost"}, headers=user.headers)
    assert r.status_code == 201
    # No refresh cycle runs in tests (REFRESH_INTERVAL_SECONDS=0): the add itself fetched it.
    for endpoint in ("quote", "history", "fundamentals"):
        assert provider.endpoint_calls(endpoint)["COST"] == 1, endpoint
    r = await client.get("/api/v1/stocks/COST", headers=user.headers)
    assert r.status_code == 200 and provider.endpoint_calls("quote")["COST"] == 1  # cached


async def stored_quotes(sessionmaker: Any) -> dict[str, Any]:
    """The quote in each stock_cache row."""
    async with sessionmaker() as session:
        rows = (await session.execute(select(StockCache))).scalars().all()
    return {r.symbol: r.stock_data.get("quote") for r in rows}


async def test_a_batch_writes_at_its_end_and_only_for_its_own_task(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker: Any
) -> None:
    market = MarketService(
        CountingProvider(snapshot), snapshot, cache=cache, sessionmaker=sessionmaker
    )
    async with market.batched_writes(["KO", "PG"]):
        await market.fetch_quotes(["KO", "PG"])
        await market.refresh_series("KO")
        assert await stored_quotes(sessionmaker) == {}  # deferred to the end of the batch
        # An API request served meanwhile (the server starts it in a context of its own) is
        # not part of the batch: its write goes straight through.
        await asyncio.create_task(market.fetch_quotes(["HD"]), context=contextvars.Context())
        assert set(await stored_quotes(sessionmaker)) == {"HD"}
    stored = await stored_quotes(sessionmaker)
    assert set(stored) == {"KO", "PG", "HD"} and stored["KO"]["price"] > 0
    async with sessionmaker() as session:
        ko = (
            await session.execute(select(StockCache).where(StockCache.symbol == "KO"))
        ).scalar_one()
    assert ko.stock_data["fundamentals"]["rows"] and ko.expires_at > ko.last_updated


async def test_a_later_batch_keeps_what_it_does_not_rewrite(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker: Any
) -> None:
    await seed_users(sessionmaker, 3, ["MSFT"])  # free, pro and expert: every model
    market = MarketService(
        CountingProvider(snapshot), snapshot, cache=cache, sessionmaker=sessionmaker
    )
    analysis = analysis_service(market)
    await run_refresh_cycle(sessionmaker, market, analysis)
    async with sessionmaker() as session:
        first = (await session.execute(select(StockCache))).scalars().one()
        first_data, first_analyses = dict(first.stock_data), dict(first.ai_analyses)
    # A quotes-only cycle (no analysis service; fundamentals still cached): the row keeps its
    # fundamentals and analyses, and gets the new quote.
    report = await run_refresh_cycle(sessionmaker, market, None)
    assert report.refreshed == ["MSFT"]
    async with sessionmaker() as session:
        again = (await session.execute(select(StockCache))).scalars().one()
    assert again.ai_analyses == first_analyses
    assert again.stock_data["fundamentals"] == first_data["fundamentals"]
    assert again.stock_data["quote"] == first_data["quote"]
    assert again.last_updated >= first.last_updated
