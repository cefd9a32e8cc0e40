"""Market data for the API: the provider behind a two-level cache, single-flight and stale fallback.

Level 1 is the `Cache` (in-process or Redis, keys `stock:{symbol}` ...), level 2 the `stock_cache`
table, so a restart starts warm and a failing provider leaves users with the last good data,
marked stale, instead of an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.db import utcnow
from stockdash.core.errors import NotFound, ServiceUnavailable
from stockdash.core.metrics import PROVIDER_FETCHES
from stockdash.market import serialize
from stockdash.market.cache import Cache, MemoryCache
from stockdash.market.repository import SqlStockCacheRepository
from stockdash.market.singleflight import SingleFlight
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import (
    Bar,
    FundamentalsYear,
    MarketDataProvider,
    Profile,
    ProviderError,
    Quote,
    SearchHit,
    StockData,
    UnknownSymbolError,
)

logger = logging.getLogger(__name__)

FUNDAMENTALS_TTL = 24 * 3600.0
PROFILE_TTL = 24 * 3600.0


def normalise_symbol(raw: str) -> str:
    """Upper-case a ticker and use the S&P style class separator (BRK-B -> BRK.B)."""
    return raw.strip().upper().replace("-", ".").replace("/", ".")


@dataclass(frozen=True, slots=True)
class StockView:
    """A quote with its profile and freshness."""

    profile: Profile
    quote: Quote
    fetched_at: datetime
    stale: bool


class MarketService:
    """Front door to market data for routers, the refresh job and the analysts."""

    def __init__(
        self,
        provider: MarketDataProvider,
        snapshot: SnapshotProvider,
        *,
        cache: Cache | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        ttl: float = 1800.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.provider = provider
        self.snapshot = snapshot
        self.cache: Cache = cache or MemoryCache()
        self.sessionmaker = sessionmaker
        self.ttl = ttl
        self.clock = clock
        self._quotes: SingleFlight[StockView] = SingleFlight()
        self._history: SingleFlight[list[Bar]] = SingleFlight()
        self._fundamentals: SingleFlight[list[FundamentalsYear]] = SingleFlight()

    # -- directory -------------------------------------------------------------------------

    async def resolve_symbol(self, raw: str) -> str | None:
        """The canonical symbol, or None when no market data source knows it."""
        symbol = normalise_symbol(raw)
        return symbol if symbol in self.snapshot.known_symbols() else None

    async def require_symbol(self, raw: str) -> str:
        """The canonical symbol; 404 when unknown."""
        symbol = await self.resolve_symbol(raw)
        if symbol is None:
            raise NotFound(
                f"Unknown symbol '{raw.strip().upper()}': search with /api/v1/stocks/search?q=...",
                code="unknown_symbol",
            )
        return symbol

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Symbols by ticker prefix, then by name."""
        return await self.snapshot.search(query, limit)

    # -- quotes ----------------------------------------------------------------------------

    async def stock(self, symbol: str) -> StockView:
        """Latest quote and profile: cache, then database, then one upstream fetch, then stale."""
        return await self._cached_view(symbol) or await self._quotes.do(
            symbol, lambda: self._load_view(symbol)
        )

    async def _cached_view(self, symbol: str) -> StockView | None:
        cached = await self.cache.get(f"stock:{symbol}")
        return None if cached is None else self._view_from(json.loads(cached), stale=False)

    async def _load_view(self, symbol: str) -> StockView:
        # Re-check: a flight that finished between our cache miss and now has filled it.
        view = await self._cached_view(symbol)
        if view is not None:
            return view
        persisted = await self._persisted(symbol)
        if persisted is not None and not persisted[1]:
            await self._cache_view(symbol, persisted[0])
            return persisted[0]
        try:
            return (await self.fetch_quotes([symbol]))[symbol]
        except ProviderError as exc:
            return await self._stale_or_fail(symbol, exc, persisted)

    async def fetch_quotes(self, symbols: list[str]) -> dict[str, StockView]:
        """Fetch quotes for many symbols in one batched provider call and store them."""
        self._count("quote")
        quotes = await self.provider.quote(symbols)
        now = self.clock()
        views: dict[str, StockView] = {}
        for symbol in symbols:
            quote = quotes.get(symbol)
            if quote is None:
                raise UnknownSymbolError(self.provider.name, f"no quote for {symbol}")
            views[symbol] = StockView(await self.profile(symbol), quote, now, stale=False)
        await self._store_views(views)
        return views

    async def _stale_or_fail(
        self, symbol: str, exc: ProviderError, persisted: tuple[StockView, bool] | None
    ) -> StockView:
        logger.warning("provider failed for %s, serving last good data: %s", symbol, exc)
        if persisted is not None:
            return StockView(
                persisted[0].profile, persisted[0].quote, persisted[0].fetched_at, True
            )
        if self.provider is not self.snapshot and symbol in self.snapshot.known_symbols():
            quote = (await self.snapshot.quote([symbol]))[symbol]
            profile = await self.snapshot.profile(symbol)
            return StockView(profile, quote, self.clock(), stale=True)
        raise ServiceUnavailable(
            f"Market data for {symbol} is unavailable right now and nothing is cached; try again soon.",
            code="market_data_unavailable",
        )

    async def profile(self, symbol: str) -> Profile:
        """Company profile (cached for a day)."""
        key = f"profile:{symbol}"
        cached = await self.cache.get(key)
        if cached is not None:
            return serialize.profile_from(json.loads(cached))
        try:
            self._count("profile")
            profile = await self.provider.profile(symbol)
        except ProviderError:
            profile = await self.snapshot.profile(symbol)
        await self.cache.set(key, serialize.dumps(profile), PROFILE_TTL)
        return profile

    # -- history and fundamentals ------------------------------------------------------------

    async def history(self, symbol: str, start: date | None = None) -> list[Bar]:
        """Daily bars since start (full history cached once per TTL, sliced here)."""
        bars = await self._full_history(symbol)
        return bars if start is None else [b for b in bars if b.date >= start]

    async def _full_history(self, symbol: str) -> list[Bar]:
        key = f"history:{symbol}"
        cached = await self.cache.get(key)
        if cached is not None:
            return serialize.loads_bars(cached)

        async def fetch() -> list[Bar]:
            again = await self.cache.get(key)
            if again is not None:
                return serialize.loads_bars(again)
            self._count("history")
            bars = await self.provider.history(symbol, None, None)
            await self.cache.set(key, serialize.dumps_bars(bars), self.ttl)
            return bars

        return await self._history.do(symbol, fetch)

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual statements, oldest first (cached for a day)."""
        key = f"fundamentals:{symbol}"
        cached = await self.cache.get(key)
        if cached is not None:
            return serialize.fundamentals_from(json.loads(cached))

        async def fetch() -> list[FundamentalsYear]:
            again = await self.cache.get(key)
            if again is not None:
                return serialize.fundamentals_from(json.loads(again))
            self._count("fundamentals")
            rows = await self.provider.fundamentals(symbol)
            await self.cache.set(key, serialize.dumps(rows), FUNDAMENTALS_TTL)
            return rows

        return await self._fundamentals.do(symbol, fetch)

    async def stock_data(self, symbol: str) -> StockData:
        """Everything the analysts need for one symbol."""
        view = await self.stock(symbol)
        return StockData(
            profile=view.profile,
            quote=view.quote,
            history=await self.history(symbol),
            fundamentals=await self.fundamentals(symbol),
        )

    async def refresh_series(self, symbol: str) -> None:
        """Re-fetch a symbol's history and fundamentals when their cache entries have expired."""
        await self._full_history(symbol)
        await self.fundamentals(symbol)

    async def warm(self, symbol: str) -> None:
        """Fetch a newly tracked symbol now rather than at the next refresh."""
        try:
            await self.stock(symbol)
        except Exception:  # a background warm-up must never crash the worker
            logger.exception("warming %s failed", symbol)

    def _count(self, endpoint: str) -> None:
        PROVIDER_FETCHES.labels(self.provider.name, endpoint).inc()

    # -- storage -----------------------------------------------------------------------------

    def _view_from(self, data: dict[str, Any], *, stale: bool) -> StockView:
        return StockView(
            profile=serialize.profile_from(data["profile"]),
            quote=serialize.quote_from(data["quote"]),
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
            stale=stale,
        )

    @staticmethod
    def _view_json(view: StockView) -> dict[str, Any]:
        return {
            "profile": json.loads(serialize.dumps(view.profile)),
            "quote": json.loads(serialize.dumps(view.quote)),
            "fetched_at": view.fetched_at.isoformat(),
        }

    async def _cache_view(self, symbol: str, view: StockView) -> None:
        await self.cache.set(f"stock:{symbol}", json.dumps(self._view_json(view)), self.ttl)

    async def _store_views(self, views: dict[str, StockView]) -> None:
        for symbol, view in views.items():
            await self._cache_view(symbol, view)
        if self.sessionmaker is None:
            return
        now = self.clock()
        async with self.sessionmaker() as session:
            repo = SqlStockCacheRepository(session)
            for symbol, view in views.items():
                await repo.upsert_data(
                    symbol, self._view_json(view), now, now + timedelta(seconds=self.ttl)
                )
            await session.commit()

    async def _persisted(self, symbol: str) -> tuple[StockView, bool] | None:
        """The stock_cache row as a view and whether it has expired."""
        if self.sessionmaker is None:
            return None
        async with self.sessionmaker() as session:
            row = await SqlStockCacheRepository(session).get(symbol)
        if row is None or not row.stock_data:
            return None
        expired = row.expires_at <= self.clock()
        return self._view_from(row.stock_data, stale=expired), expired

    async def store_analyses(self, analyses: dict[str, dict[str, Any]]) -> None:
        """Persist the latest analyses of several symbols next to their data, in one transaction."""
        if self.sessionmaker is None or not analyses:
            return
        async with self.sessionmaker() as session:
            repo = SqlStockCacheRepository(session)
            now = self.clock()
            for symbol, payload in analyses.items():
                await repo.set_analyses(symbol, payload, now)
            await session.commit()

    async def close(self) -> None:
        """Release the cache connection."""
        await self.cache.close()
