"""The market service: two-level cache, single-flight, stale fallback, persistence, API routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import UserFactory, assert_error

from stockdash.container import open_storage
from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import ServiceUnavailable
from stockdash.market.cache import Cache, MemoryCache
from stockdash.market.counting import CountingProvider
from stockdash.market.fallback import FallbackProvider
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import Bar, ProviderError, UnknownSymbolError
from stockdash.storage.base import Storage


@pytest.fixture
async def storage(settings: Settings) -> AsyncIterator[Storage]:
    """Where the service persists: the test's SQL database, or MongoDB on the MongoDB pass."""
    async with open_storage(settings) as opened:
        yield opened


def make_service(
    provider: Any,
    snapshot: SnapshotProvider,
    cache: Cache,
    storage: Storage,
    ttl: float = 1800,
    **kw: Any,
) -> MarketService:
    return MarketService(provider, snapshot, cache=cache, storage=storage, ttl=ttl, **kw)


async def test_concurrent_requests_for_an_uncached_symbol_fetch_once(
    snapshot: SnapshotProvider, cache: Cache, storage: Storage
) -> None:
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, storage)
    views = await asyncio.gather(*(service.stock("AAPL") for _ in range(25)))
    assert {v.quote.price for v in views} == {views[0].quote.price}
    assert provider.endpoint_calls("quote")["AAPL"] == 1
    await asyncio.gather(*(service.history("AAPL") for _ in range(10)))
    assert provider.endpoint_calls("history")["AAPL"] == 1
    await asyncio.gather(*(service.fundamentals("AAPL") for _ in range(10)))
    assert provider.endpoint_calls("fundamentals")["AAPL"] == 1


async def test_second_read_is_served_from_cache(
    snapshot: SnapshotProvider, cache: Cache, storage: Storage
) -> None:
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, storage)
    first = await service.stock("KO")
    second = await service.stock("KO")
    assert first.quote == second.quote and not second.stale
    assert provider.endpoint_calls("quote")["KO"] == 1


# --- provider down: every endpoint serves the last good copy, marked stale --------------------


async def test_provider_down_serves_last_good_quote_marked_stale(
    snapshot: SnapshotProvider, cache: Cache, storage: Storage
) -> None:
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, storage, ttl=0.05)
    good = await service.stock("MSFT")
    await asyncio.sleep(0.1)  # the cache entry and the stored row expire
    provider.down = True
    stale = await service.stock("MSFT")
    assert stale.stale is True
    assert stale.quote == good.quote
    assert stale.fetched_at == good.fetched_at


async def test_provider_down_serves_last_good_history_marked_stale(
    snapshot: SnapshotProvider, cache: Cache, storage: Storage
) -> None:
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, storage, ttl=0.05)
    good = await service.history_view("MSFT")
    await asyncio.sleep(0.1)  # the fresh entry expires; the last good copy stays
    provider.down = True
    stale = await service.history_view("MSFT")
    assert stale.stale is True and stale.fetched_at == good.fetched_at
    assert stale.bars == good.bars and stale.source == "counting"
    assert provider.endpoint_calls("history")["MSFT"] == 1


async def test_provider_down_serves_last_good_fundamentals_marked_stale(
    snapshot: SnapshotProvider, cache: Cache, storage: Storage
) -> None:
    clock = [utcnow()]
    provider = CountingProvider(snapshot)
    service = make_service(provider, snapshot, cache, storage, clock=lambda: clock[0])
    good = await service.fundamentals_view("JPM")
    await cache.delete("fundamentals:JPM")  # the day-long entry expires ...
    clock[0] += timedelta(days=2)  # ... and so does the persisted copy
    provider.down = True
    stale = await service.fundamentals_view("JPM")
    assert stale.stale is True and stale.fetched_at == good.fetched_at and stale.rows == good.rows


async def test_persisted_fundamentals_survive_a_restart_and_an_outage(
    snapshot: SnapshotProvider, storage: Storage
) -> None:
    clock = [utcnow()]
    first = CountingProvider(snapshot)
    good = await make_service(
        first, snapshot, MemoryCache(), storage, clock=lambda: clock[0]
    ).fundamentals_view("PG")
    # A restart within the day: served from the database, no upstream call.
    again = CountingProvider(snapshot)
    restarted = make_service(again, snapshot, MemoryCache(), storage, clock=lambda: clock[0])
    warm = await restarted.fundamentals_view("PG")
    assert (
        warm.rows == good.rows
        and not warm.stale
        and again.endpoint_calls("fundamentals")["PG"] == 0
    )
    # A restart days later with the provider down: the persisted copy, marked stale.
    clock[0] += timedelta(days=3)
    down = CountingProvider(snapshot)
    down.down = True
    later = make_service(down, snapshot, MemoryCache(), storage, clock=lambda: clock[0])
    stale = await later.fundamentals_view("PG")
    assert stale.stale and stale.rows == good.rows and stale.fetched_at == good.fetched_at


@pytest.mark.parametrize("what", ["stock", "history_view", "fundamentals_view"])
async def test_nothing_cached_and_provider_down_falls_back_to_the_snapshot_marked_stale(
    snapshot: SnapshotProvider, storage: Storage, what: str
) -> None:
    provider = CountingProvider(snapshot)
    provider.down = True
    service = make_service(provider, snapshot, MemoryCache(), storage)
    view = await getattr(service, what)("PG")
    assert view.stale
    assert (view.quote.source if what == "stock" else view.source) == "snapshot"


@pytest.mark.parametrize("what", ["stock", "history_view", "fundamentals_view"])
async def test_nothing_cached_provider_down_and_no_fallback_is_unavailable(
    snapshot: SnapshotProvider, storage: Storage, what: str
) -> None:
    provider = CountingProvider(snapshot)
    provider.down = True
    service = make_service(provider, snapshot, MemoryCache(), storage, snapshot_fallback=False)
    with pytest.raises(ServiceUnavailable):
        await getattr(service, what)("PG")


async def test_api_answers_503_with_the_error_body_when_nothing_is_cached(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, snapshot: SnapshotProvider
) -> None:
    user = await make_user()
    down = CountingProvider(snapshot)
    down.down = True
    market: MarketService = app.state.container.market
    market.provider, market.snapshot_fallback = down, False
    for path in ("", "/history?range=1m", "/fundamentals"):
        r = await client.get(f"/api/v1/stocks/NKE{path}", headers=user.headers)
        assert_error(r, 503, "market_data_unavailable")
    market.snapshot_fallback = True  # with the fallback on, the snapshot answers, stale
    r = await client.get("/api/v1/stocks/NKE/history?range=1m", headers=user.headers)
    assert r.status_code == 200 and r.json()["stale"] is True and r.json()["source"] == "snapshot"
    r = await client.get("/api/v1/stocks/NKE/fundamentals", headers=user.headers)
    assert r.status_code == 200 and r.json()["stale"] is True


# --- provenance ---------------------------------------------------------------------------


class LivePrimary(CountingProvider):
    """A live provider (Polygon's place) that has no history or fundamentals for a symbol."""

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        raise UnknownSymbolError(self.name, f"{symbol}: not supported", status=404)

    async def fundamentals(self, symbol: str) -> list[Any]:
        return []


async def test_source_names_the_provider_that_answered(
    snapshot: SnapshotProvider, cache: Cache, storage: Storage
) -> None:
    live = FallbackProvider(LivePrimary(snapshot, name="polygon"), snapshot)
    service = make_service(live, snapshot, cache, storage)
    assert (await service.history_view("KO")).source == "snapshot"
    assert (await service.fundamentals_view("KO")).source == "snapshot"
    plain = make_service(CountingProvider(snapshot, name="polygon"), snapshot, MemoryCache(), None)
    assert (await plain.history_view("KO")).source == "polygon"


async def test_restart_starts_warm_from_the_database(
    snapshot: SnapshotProvider, storage: Storage
) -> None:
    provider = CountingProvider(snapshot)
    await make_service(provider, snapshot, MemoryCache(), storage).stock("JNJ")
    restarted_provider = CountingProvider(snapshot)
    restarted = make_service(restarted_provider, snapshot, MemoryCache(), storage)
    view = await restarted.stock("JNJ")
    assert not view.stale
    assert restarted_provider.endpoint_calls("quote")["JNJ"] == 0


async def test_memory_cache_expires() -> None:
    now = [0.0]
    cache = MemoryCache(clock=lambda: now[0])
    await cache.set("k", "v", 10)
    assert await cache.get("k") == "v"
    now[0] = 10.5
    assert await cache.get("k") is None
    assert await cache.add("lock", "1", 5) and not await cache.add("lock", "1", 5)


# --- API --------------------------------------------------------------------------------------


async def test_stock_endpoints(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.get("/api/v1/stocks/aapl", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["symbol"] == "AAPL" and body["name"].startswith("Apple")
    assert body["as_of"] == "2026-08-21"  # the close's date, not the Saturday publication
    assert body["source"] == "snapshot" and body["stale"] is False
    assert body["price"] == 309.35 and body["price_note"] is None
    r = await client.get("/api/v1/stocks/AAPL/history?range=1y", headers=user.headers)
    history = r.json()
    bars = history["bars"]
    assert history["source"] == "snapshot" and history["stale"] is False
    assert 240 <= len(bars) <= 260
    assert all(bars[i]["date"] < bars[i + 1]["date"] for i in range(len(bars) - 1))
    assert all(b["open"] is not None and b["volume"] is not None for b in bars[:-1])
    assert bars[-1]["date"] == "2026-08-21" and bars[-1]["close"] == 309.35  # published close
    assert bars[-1]["open"] is None and bars[-1]["volume"] is None
    full = (await client.get("/api/v1/stocks/AAPL/history?range=max", headers=user.headers)).json()
    assert full["bars"][0]["date"].startswith("2010")
    r = await client.get("/api/v1/stocks/AAPL/fundamentals", headers=user.headers)
    body = r.json()
    rows = body["data"]
    assert body["currency"] == "USD" and len(rows) >= 5 and body["stale"] is False
    assert rows[0]["fiscal_year"] > rows[-1]["fiscal_year"]
    fy2025 = next(row for row in rows if row["fiscal_year"] == 2025)
    assert fy2025["operating_cash_flow"] == 111_482_000_000
    assert fy2025["sources"]["operating_cash_flow"] == "fundamentals-sec-annual"
    assert "Total Debt" in fy2025["sources"]["total_debt"]
    fy2016 = next(row for row in rows if row["fiscal_year"] == 2016)
    assert "long-term debt only" in fy2016["sources"]["total_debt"]  # the definition changes
    assert "split-adjusted" in fy2016["sources"]["eps_diluted"]
    numbers = {k for k, v in fy2016.items() if type(v) in (int, float) and k != "fiscal_year"}
    assert set(fy2016["sources"]) == numbers  # every value names its source


async def test_symbols_without_ohlcv_get_close_only_bars_and_priceless_ones_say_so(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    r = await client.get("/api/v1/stocks/BNY/history?range=1y", headers=user.headers)
    body = r.json()
    assert len(body["bars"]) >= 3 and "closes only" in body["note"]
    assert all(b["open"] is None and b["volume"] is None and b["close"] > 0 for b in body["bars"])
    quote = (await client.get("/api/v1/stocks/BNY", headers=user.headers)).json()
    assert quote["as_of"] == "2026-05-20" and quote["price"] == body["bars"][-1]["close"]
    app_quote = (await client.get("/api/v1/stocks/APP", headers=user.headers)).json()
    assert app_quote["price"] is None and app_quote["change"] is None and app_quote["price_note"]
    assert (await client.get("/api/v1/stocks/APP/history", headers=user.headers)).json()[
        "bars"
    ] == []


async def test_metrics_count_every_provider_call_over_http(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    def requests(text: str) -> dict[tuple[str, str, str], float]:
        return {
            (s.labels["provider"], s.labels["endpoint"], s.labels["status"]): s.value
            for family in text_string_to_metric_families(text)
            if family.name == "stockdash_provider_requests"
            for s in family.samples
            if s.name.endswith("_total")
        }

    user = await make_user()
    before = requests((await client.get("/metrics")).text)
    for path in ("", "/history", "/fundamentals"):
        assert (
            await client.get(f"/api/v1/stocks/WMT{path}", headers=user.headers)
        ).status_code == 200
    after = requests((await client.get("/metrics")).text)
    for endpoint in ("quote", "history", "fundamentals"):
        key = ("snapshot", endpoint, "ok")
        assert after.get(key, 0) - before.get(key, 0) >= 1, endpoint


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
    snapshot: SnapshotProvider, storage: Storage
) -> None:
    clock = [utcnow()]
    service = MarketService(
        CountingProvider(snapshot),
        snapshot,
        cache=MemoryCache(),
        storage=storage,
        ttl=60,
        clock=lambda: clock[0],
    )
    await service.stock("V")
    clock[0] += timedelta(seconds=120)
    persisted = service._persisted_view(await service._persisted_row("V"))
    assert persisted is not None and persisted.stale is True


async def test_provider_error_never_escapes_as_a_500(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, snapshot: SnapshotProvider
) -> None:
    class Broken(CountingProvider):
        async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
            raise ProviderError(self.name, "HTTP 502", status=502)

    user = await make_user()
    app.state.container.market.provider = Broken(snapshot)
    app.state.container.market.snapshot_fallback = False
    assert_error(
        await client.get("/api/v1/stocks/HD/history", headers=user.headers),
        503,
        "market_data_unavailable",
    )
