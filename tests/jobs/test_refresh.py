"""The refresh pipeline: one fetch per distinct symbol however many users track it."""

from __future__ import annotations

import random

import httpx
import pytest
from sqlalchemy import insert

from stockdash.analysis.service import AnalysisService
from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker, utcnow
from stockdash.core.metrics import REGISTRY
from stockdash.jobs.refresh import run_refresh_cycle
from stockdash.market.cache import Cache
from stockdash.market.counting import CountingProvider
from stockdash.market.models import StockCache
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock
from tests.conftest import POPULAR_SYMBOLS

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


def fetch_metric(provider: str, endpoint: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "stockdash_provider_fetches_total", {"provider": provider, "endpoint": endpoint}
        )
        or 0.0
    )


async def test_one_fetch_per_distinct_symbol_for_200_users(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    await seed_users(sessionmaker, 200, FORTY)
    name = f"counting-{id(cache)}"
    provider = CountingProvider(snapshot, name=name)
    market = MarketService(provider, snapshot, cache=cache, sessionmaker=sessionmaker)
    analysis = AnalysisService(market, risk_free_rate=0.042, equity_risk_premium=0.05)
    before = {e: fetch_metric(name, e) for e in ("quote", "history", "fundamentals", "profile")}

    report = await run_refresh_cycle(sessionmaker, market, analysis)

    assert report.symbols == 40 and len(report.refreshed) == 40 and not report.failed
    assert len(provider.batches) == 1 and sorted(provider.batches[0]) == sorted(FORTY)
    for endpoint in ("quote", "history", "fundamentals", "profile"):
        per_symbol = provider.endpoint_calls(endpoint)
        assert set(per_symbol) == set(FORTY), endpoint
        assert max(per_symbol.values()) == 1, endpoint
    # /metrics counts the same: one batched quote call, one fetch per symbol for the rest.
    assert fetch_metric(name, "quote") - before["quote"] == 1
    for endpoint in ("history", "fundamentals", "profile"):
        assert fetch_metric(name, endpoint) - before[endpoint] == 40
    async with sessionmaker() as session:
        from sqlalchemy import select

        rows = (await session.execute(select(StockCache))).scalars().all()
    assert len(rows) == 40
    expert_tracked = {r.symbol: r for r in rows}
    assert all(r.ai_analyses for r in rows)
    assert "dcf_math" in expert_tracked["AAPL"].ai_analyses  # some expert tracks every popular name

    again = await run_refresh_cycle(sessionmaker, market, analysis)
    assert again.symbols == 40
    assert len(provider.batches) == 2  # quotes are re-fetched each cycle, in one batch
    assert max(provider.endpoint_calls("history").values()) == 1  # history still cached


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
    analysis = AnalysisService(market, risk_free_rate=0.042, equity_risk_premium=0.05)
    report = await run_refresh_cycle(sessionmaker, market, analysis)
    assert sorted(report.refreshed) == ["KO", "PG"]
    async with sessionmaker() as session:
        from sqlalchemy import select

        rows = {r.symbol: r for r in (await session.execute(select(StockCache))).scalars()}
    assert sorted(rows["KO"].ai_analyses) == ["basic", "peter_lynch", "warren_buffett"]
    assert sorted(rows["PG"].ai_analyses) == ["basic"]


async def test_provider_down_for_a_cycle_loses_nothing(
    snapshot: SnapshotProvider, cache: Cache, sessionmaker, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    await seed_users(sessionmaker, 10, FORTY[:8])
    provider = CountingProvider(snapshot)
    market = MarketService(provider, snapshot, cache=cache, sessionmaker=sessionmaker, ttl=0.01)
    await run_refresh_cycle(sessionmaker, market, None)
    async with sessionmaker() as session:
        from sqlalchemy import select

        before = {
            r.symbol: dict(r.stock_data)
            for r in (await session.execute(select(StockCache))).scalars()
        }
    provider.down = True
    report = await run_refresh_cycle(sessionmaker, market, None)
    assert len(report.failed) == report.symbols == len(before)
    async with sessionmaker() as session:
        from sqlalchemy import select

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
    assert await cache.add("lock:refresh-cycle", "other-instance", 30)
    report = await run_refresh_cycle(sessionmaker, market, None)
    assert report.skipped
