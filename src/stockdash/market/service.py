"""Market data for the API: the provider behind a two-level cache, single-flight and stale fallback.

Level 1 is the `Cache` (in-process or Redis, keys `stock:{symbol}` ...), level 2 the `stock_cache`
table, so a restart starts warm. Quotes, history and fundamentals share one rule when the provider
fails: users get the last good copy, marked stale with the time it was fetched; without one, the
shipped snapshot answers (stale, credited to the snapshot) unless that fallback is switched off;
only with nothing at all is the answer a 503, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.db import utcnow
from stockdash.core.errors import NotFound, ServiceUnavailable
from stockdash.core.locks import Locks
from stockdash.core.metrics import PROVIDER_FETCHES
from stockdash.market import serialize
from stockdash.market.cache import Cache, MemoryCache
from stockdash.market.providers.guard import ProviderGuard
from stockdash.market.repository import RowWrite, StockCacheEntry
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
    SourcedSeries,
    StockData,
    UnknownSymbolError,
)
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact
from stockdash.storage.sql import sessions_storage

logger = logging.getLogger(__name__)

FUNDAMENTALS_TTL = 24 * 3600.0
PROFILE_TTL = 24 * 3600.0
# Parsed cache texts kept per kind (histories, statements): enough for an expert's whole
# dashboard (20 stocks), whose cold load reads each history twice; not all, as a long parsed
# history takes a megabyte or two.
PARSED_HISTORIES = 32
# Quotes are small and read on every stock page: keep the parsed form of every symbol's.
PARSED_VIEWS = 1024
LAST_GOOD_TTL = 7 * 24 * 3600.0  # how long the last good history/fundamentals stay servable
UNAVAILABLE = "market_data_unavailable"


T = TypeVar("T")

# An opaque JSON document per symbol that another package keeps in the symbol's stock_cache row
# (the analysis package's latest analyses): market stores it and hands it back, never reads it.
Attachment = dict[str, Any]
# Called with (symbol, attachment) when a cold cache reads the symbol's row back (a restart).
AttachmentRestorer = Callable[[str, Attachment], Awaitable[object]]


def normalise_symbol(raw: str) -> str:
    """Upper-case a ticker and use the S&P style class separator (BRK-B -> BRK.B)."""
    return raw.strip().upper().replace("-", ".").replace("/", ".")


# The keys every quote and history request reads: kept in each process for
# MARKET_NEAR_CACHE_SECONDS in front of Redis (they change once per refresh).
NEAR_CACHED_PREFIXES = ("stock:", "history:")


class ParsedTexts(Generic[T]):
    """The last few cache texts parsed, per symbol: a refresh reads each one several times in a
    row, and parsing a long history costs more than comparing its text."""

    def __init__(self, size: int = PARSED_HISTORIES) -> None:
        self._items: OrderedDict[str, tuple[str, T]] = OrderedDict()
        self._size = size

    def get(self, symbol: str, text: str) -> T | None:
        """The value parsed from exactly this text, if it is still held."""
        seen = self._items.get(symbol)
        return seen[1] if seen is not None and seen[0] == text else None

    def put(self, symbol: str, text: str, value: T) -> T:
        """Remember what `text` parses to; returns value."""
        self._items[symbol] = (text, value)
        self._items.move_to_end(symbol)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return value


@dataclass
class WriteBatch:
    """A refresh batch's stock_cache rows as read at its start, and the writes it defers."""

    rows: dict[str, StockCacheEntry | None]
    writes: dict[str, RowWrite] = field(default_factory=dict)

    def add(
        self,
        symbol: str,
        patch: dict[str, Any] | None = None,
        *,
        expires: datetime | None = None,
        attachment: Attachment | None = None,
    ) -> None:
        """Fold one more change of a symbol's row into the batch."""
        write = self.writes.setdefault(symbol, RowWrite({}))
        write.patch.update(patch or {})
        if expires is not None:
            write.expires = expires
        if attachment is not None:
            write.attachment = attachment


@dataclass(frozen=True, slots=True)
class StockView:
    """A quote with its profile and freshness."""

    profile: Profile
    quote: Quote
    fetched_at: datetime
    stale: bool


@dataclass(frozen=True, slots=True)
class HistoryView:
    """Daily bars, who supplied them, when, and whether they are a stale last good copy."""

    bars: list[Bar]
    source: str
    fetched_at: datetime
    stale: bool


@dataclass(frozen=True, slots=True)
class FundamentalsView:
    """Annual statements, who supplied them, when, and whether they are a stale last good copy."""

    rows: list[FundamentalsYear]
    source: str
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
        storage: Storage | None = None,
        ttl: float = 1800.0,
        clock: Callable[[], datetime] = utcnow,
        snapshot_fallback: bool = True,
        locks: Locks | None = None,
        provider_deadline: float | None = None,
        guard: ProviderGuard | None = None,
    ) -> None:
        self.provider = provider
        # How long a user request waits for the live provider for any one thing (a quote, a
        # history, fundamentals, a profile; None: no limit) before answering from the last good
        # copy or the snapshot; the refresh fetches it meanwhile, without this deadline.
        self.provider_deadline = provider_deadline
        # The live provider's shared failure state (None for the snapshot): the refresh backs
        # off between cycles through it.
        self.guard = guard
        # Per task: set while a refresh batch or a warm-up runs, which may wait for the provider.
        self._background: ContextVar[bool] = ContextVar(
            f"stockdash-market-background-{id(self)}", default=False
        )
        self.snapshot = snapshot
        self.cache: Cache = cache or MemoryCache()
        # Where the latest data persists (SQL or MongoDB); a bare session factory means SQL.
        self.storage: Storage | None = storage or (
            sessions_storage(sessionmaker) if sessionmaker is not None else None
        )
        self.ttl = ttl
        self.clock = clock
        self.snapshot_fallback = snapshot_fallback
        self.locks = locks
        self._quotes: SingleFlight[StockView] = SingleFlight(locks, name="quote")
        self._history: SingleFlight[HistoryView] = SingleFlight(locks, name="history")
        self._fundamentals: SingleFlight[FundamentalsView] = SingleFlight(
            locks, name="fundamentals"
        )
        # Per task (a context variable), so API requests served while a refresh batch runs in
        # the same process write straight through instead of joining the batch. A batch is one
        # task's unit of work; nothing about it needs to be seen by another process.
        self._batch: ContextVar[WriteBatch | None] = ContextVar(
            f"stockdash-write-batch-{id(self)}", default=None
        )
        self._parsed_history: ParsedTexts[HistoryView] = ParsedTexts()
        self._parsed_views: ParsedTexts[StockView] = ParsedTexts(PARSED_VIEWS)
        self._parsed_fundamentals: ParsedTexts[FundamentalsView] = ParsedTexts()
        self._sourced_check: tuple[object, bool] = (None, False)
        self._restore_attachment: AttachmentRestorer | None = None

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
        """Symbols by ticker prefix, then by name (the snapshot's directory: no provider call,
        so search answers at once whatever a live provider does)."""
        return await self.snapshot.search(query, limit)

    # -- fallbacks ---------------------------------------------------------------------------

    def _snapshot_answers(self, symbol: str) -> bool:
        """Whether the shipped snapshot may stand in for a failing live provider."""
        return (
            self.snapshot_fallback
            and self.provider is not self.snapshot
            and symbol in self.snapshot.known_symbols()
        )

    def _snapshot_time(self) -> datetime:
        """When the snapshot's data is from (midnight UTC of its as-of date)."""
        return datetime.combine(self.snapshot.as_of(), time(), UTC)

    @staticmethod
    def _unavailable(symbol: str, what: str) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"{what} for {symbol} is unavailable right now and nothing is cached; try again soon.",
            code=UNAVAILABLE,
        )

    def _deadline(self) -> float | None:
        """The provider deadline for this task: a user request's, none in the background."""
        return None if self._background.get() else self.provider_deadline

    @contextlib.contextmanager
    def in_background(self) -> Iterator[None]:
        """Lift the user-request deadline for this task (a refresh batch, a warm-up): these
        fetch what user requests gave up waiting for."""
        token = self._background.set(True)
        try:
            yield
        finally:
            self._background.reset(token)

    # -- quotes ----------------------------------------------------------------------------

    async def stock(self, symbol: str) -> StockView:
        """Latest quote and profile: cache, then database, then one upstream fetch, then stale."""
        view = await self._cached_view(symbol)
        if view is not None:
            return view
        try:
            return await self._quotes.do(
                symbol, lambda: self._load_view(symbol), wait=self._deadline()
            )
        except TimeoutError as exc:  # another request's fetch outlasted this one's deadline
            persisted = self._persisted_view(await self._persisted_row(symbol))
            return persisted or await self._snapshot_view(symbol, exc)

    async def _cached_view(self, symbol: str) -> StockView | None:
        cached = await self.cache.get(f"stock:{symbol}")
        if cached is None:
            return None
        # The same text parses to the same (immutable) view: callers may memoise on its identity.
        seen = self._parsed_views.get(symbol, cached)
        if seen is None:
            seen = self._parsed_views.put(
                symbol, cached, self._view_from(json.loads(cached), stale=False)
            )
        return seen

    async def _load_view(self, symbol: str) -> StockView:
        # Re-check: a flight that finished between our cache miss and now has filled it.
        view = await self._cached_view(symbol)
        if view is not None:
            return view
        row = await self._persisted_row(symbol)
        persisted = self._persisted_view(row)
        if persisted is not None and row is not None:
            if row.ai_analyses and self._restore_attachment is not None:
                await self._restore_attachment(symbol, row.ai_analyses)
            if not persisted.stale:
                await self._cache_view(symbol, persisted)
                return persisted
        try:
            async with asyncio.timeout(self._deadline()):
                return (await self.fetch_quotes([symbol]))[symbol]
        except (ProviderError, TimeoutError) as exc:
            logger.warning("provider failed for %s quote, serving last good data: %s", symbol, exc)
            return persisted or await self._snapshot_view(symbol, exc)

    async def _snapshot_view(self, symbol: str, exc: Exception) -> StockView:
        """The snapshot's quote, stale, for a failing provider; 503 where it may not answer."""
        if not self._snapshot_answers(symbol):
            raise self._unavailable(symbol, "Market data") from exc
        quote = (await self.snapshot.quote([symbol]))[symbol]
        profile = await self.snapshot.profile(symbol)
        return StockView(profile, quote, self._snapshot_time(), stale=True)

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

    async def profile(self, symbol: str) -> Profile:
        """Company profile (cached for a day; the snapshot's when the provider fails)."""
        key = f"profile:{symbol}"
        cached = await self.cache.get(key)
        if cached is not None:
            return serialize.profile_from(json.loads(cached))
        try:
            self._count("profile")
            async with asyncio.timeout(self._deadline()):
                profile = await self.provider.profile(symbol)
        except (ProviderError, TimeoutError) as exc:
            logger.warning(
                "provider failed for %s profile, serving the snapshot's: %s", symbol, exc
            )
            profile = await self.snapshot.profile(symbol)
        await self.cache.set(key, serialize.dumps(profile), PROFILE_TTL)
        return profile

    # -- history ---------------------------------------------------------------------------

    async def history(self, symbol: str, start: date | None = None) -> list[Bar]:
        """Daily bars since start (full history cached once per TTL, sliced here)."""
        bars = (await self.history_view(symbol)).bars
        return bars if start is None else [b for b in bars if b.date >= start]

    async def history_tail(self, symbol: str, days: int) -> list[Bar]:
        """The last `days` daily bars (the cached history, parsed once per cached text)."""
        if days <= 0:
            return []
        cached = await self.cache.get(f"history:{symbol}")
        if cached is None:
            return (await self.history_view(symbol)).bars[-days:]
        seen = self._parsed_history.get(symbol, cached)
        if seen is None:
            # Parse once and keep it: a dashboard reads every card's tail on every request.
            seen = self._parsed_history.put(symbol, cached, self._history_from(cached, stale=False))
        return seen.bars[-days:]

    async def history_view(self, symbol: str) -> HistoryView:
        """The full daily history with its source and freshness."""
        cached = await self.cache.get(f"history:{symbol}")
        if cached is not None:
            seen = self._parsed_history.get(symbol, cached)
            if seen is not None:
                return seen
            return self._parsed_history.put(symbol, cached, self._history_from(cached, stale=False))
        try:
            return await self._history.do(
                symbol, lambda: self._load_history(symbol), wait=self._deadline()
            )
        except TimeoutError as exc:  # another request's fetch outlasted this one's deadline
            return await self._stale_history(symbol, exc)

    async def _load_history(self, symbol: str) -> HistoryView:
        again = await self.cache.get(f"history:{symbol}")
        if again is not None:
            return self._history_from(again, stale=False)
        try:
            self._count("history")
            async with asyncio.timeout(self._deadline()):
                bars, source = await self._fetch_history(symbol)
        except (ProviderError, TimeoutError) as exc:
            return await self._stale_history(symbol, exc)
        view = HistoryView(bars, source, self.clock(), stale=False)
        payload = {
            "fetched_at": view.fetched_at.isoformat(),
            "source": source,
            "bars": serialize.bars_columns(bars),
        }
        text = await self._cache_series("history", symbol, payload, self.ttl)
        return self._parsed_history.put(symbol, text, view)  # the next read need not parse it

    async def _fetch_history(self, symbol: str) -> tuple[list[Bar], str]:
        sourced = self._sourced()
        if sourced is not None:
            return await sourced.history_sourced(symbol, None, None)
        return await self.provider.history(symbol, None, None), self.provider.name

    def _history_from(self, text: str, *, stale: bool) -> HistoryView:
        # Histories are long and read several times per refresh: parse each cached text once.
        data = json.loads(text)
        return HistoryView(
            bars=serialize.bars_from_columns(data["bars"]),
            source=data["source"],
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
            stale=stale,
        )

    async def _stale_history(self, symbol: str, exc: Exception) -> HistoryView:
        logger.warning("provider failed for %s history, serving last good data: %s", symbol, exc)
        last = await self.cache.get(f"last:history:{symbol}")
        if last is not None:
            return self._history_from(last, stale=True)
        if self._snapshot_answers(symbol):
            bars = await self.snapshot.history(symbol, None, None)
            return HistoryView(bars, self.snapshot.name, self._snapshot_time(), stale=True)
        raise self._unavailable(symbol, "Price history") from exc

    # -- fundamentals ----------------------------------------------------------------------

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual statements, oldest first (cached for a day)."""
        return (await self.fundamentals_view(symbol)).rows

    async def fundamentals_view(self, symbol: str) -> FundamentalsView:
        """Annual statements with their source and freshness."""
        cached = await self.cache.get(f"fundamentals:{symbol}")
        if cached is not None:
            seen = self._parsed_fundamentals.get(symbol, cached)
            if seen is not None:
                return seen
            view = self._fundamentals_from(json.loads(cached), stale=False)
            return self._parsed_fundamentals.put(symbol, cached, view)
        try:
            return await self._fundamentals.do(
                symbol, lambda: self._load_fundamentals(symbol), wait=self._deadline()
            )
        except TimeoutError as exc:  # another request's fetch outlasted this one's deadline
            return await self._stale_fundamentals(symbol, exc, None)

    async def _load_fundamentals(self, symbol: str) -> FundamentalsView:
        again = await self.cache.get(f"fundamentals:{symbol}")
        if again is not None:
            return self._fundamentals_from(json.loads(again), stale=False)
        row = await self._persisted_row(symbol)
        stored = (row.stock_data or {}).get("fundamentals") if row is not None else None
        if stored is not None:
            view = self._fundamentals_from(stored, stale=False)
            if view.fetched_at + timedelta(seconds=FUNDAMENTALS_TTL) > self.clock():
                await self._cache_fundamentals(symbol, stored)  # a restart starts warm
                return view
        try:
            self._count("fundamentals")
            async with asyncio.timeout(self._deadline()):
                rows, source = await self._fetch_fundamentals(symbol)
        except (ProviderError, TimeoutError) as exc:
            return await self._stale_fundamentals(symbol, exc, stored)
        fetched_at = self.clock()
        payload = {
            "fetched_at": fetched_at.isoformat(),
            "source": source,
            "rows": serialize.fundamentals_json(rows),
        }
        text = await self._cache_fundamentals(symbol, payload)
        await self._persist(symbol, {"fundamentals": payload}, expires=None)
        view = FundamentalsView(list(rows), source, fetched_at, stale=False)
        return self._parsed_fundamentals.put(symbol, text, view)

    async def _fetch_fundamentals(self, symbol: str) -> tuple[list[FundamentalsYear], str]:
        sourced = self._sourced()
        if sourced is not None:
            return await sourced.fundamentals_sourced(symbol)
        return await self.provider.fundamentals(symbol), self.provider.name

    async def _cache_fundamentals(self, symbol: str, payload: dict[str, Any]) -> str:
        return await self._cache_series("fundamentals", symbol, payload, FUNDAMENTALS_TTL)

    async def _cache_series(
        self, kind: str, symbol: str, payload: dict[str, Any], ttl: float
    ) -> str:
        """Cache a fetched series, and keep it as the last good copy for a failing provider."""
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        await self.cache.set(f"{kind}:{symbol}", text, ttl)
        await self.cache.set(f"last:{kind}:{symbol}", text, LAST_GOOD_TTL)
        return text

    @staticmethod
    def _fundamentals_from(data: dict[str, Any], *, stale: bool) -> FundamentalsView:
        return FundamentalsView(
            rows=serialize.fundamentals_from(data["rows"]),
            source=data["source"],
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
            stale=stale,
        )

    async def _stale_fundamentals(
        self, symbol: str, exc: Exception, stored: dict[str, Any] | None
    ) -> FundamentalsView:
        logger.warning(
            "provider failed for %s fundamentals, serving last good data: %s", symbol, exc
        )
        last = await self.cache.get(f"last:fundamentals:{symbol}")
        if last is not None:
            return self._fundamentals_from(json.loads(last), stale=True)
        if stored is not None:
            return self._fundamentals_from(stored, stale=True)
        if self._snapshot_answers(symbol):
            rows = await self.snapshot.fundamentals(symbol)
            return FundamentalsView(rows, self.snapshot.name, self._snapshot_time(), stale=True)
        raise self._unavailable(symbol, "Fundamentals") from exc

    # -- everything for the analysts -------------------------------------------------------

    async def stock_data(self, symbol: str, *, last_bars: int | None = None) -> StockData:
        """Everything the analysts need for one symbol (only the last bars when given: what an
        analysis depends on can be told from the last one, without reading the whole history)."""
        view = await self.stock(symbol)
        history = (
            await self.history(symbol)
            if last_bars is None
            else await self.history_tail(symbol, last_bars)
        )
        return StockData(
            profile=view.profile,
            quote=view.quote,
            history=history,
            fundamentals=await self.fundamentals(symbol),
        )

    async def refresh_series(self, symbol: str) -> bool:
        """Re-fetch history and fundamentals whose cache entries expired; whether both are fresh."""
        history = await self.history_view(symbol)
        fundamentals = await self.fundamentals_view(symbol)
        return not (history.stale or fundamentals.stale)

    async def warm(self, symbol: str) -> None:
        """Fetch a newly tracked symbol now rather than at the next refresh."""
        try:
            with self.in_background():
                await self.stock(symbol)
                await self.refresh_series(symbol)
        except Exception:  # a background warm-up must never crash the worker
            logger.exception("warming %s failed", symbol)

    def _sourced(self) -> SourcedSeries | None:
        """The provider if it names the source of its series (remembered per provider object,
        as a protocol isinstance check inspects every method each time)."""
        provider = self.provider
        if self._sourced_check[0] is not provider:
            self._sourced_check = (provider, isinstance(provider, SourcedSeries))
        return cast(SourcedSeries, provider) if self._sourced_check[1] else None

    def _count(self, endpoint: str) -> None:
        PROVIDER_FETCHES.labels(self.provider.name, endpoint).inc()

    # -- the refresh's backoff while the live provider fails --------------------------------

    async def refresh_wait(self) -> float:
        """Seconds the refresh should leave the live provider alone still (0: go ahead)."""
        return await self.guard.refresh_wait() if self.guard is not None else 0.0

    async def refresh_outcome(self, *, reached: bool) -> None:
        """Record whether a refresh batch got answers from the live provider (backs off or
        ends the backoff, for every process when the guard is shared)."""
        if self.guard is None:
            return
        if reached:
            await self.guard.refresh_succeeded()
        else:
            wait = await self.guard.refresh_failed()
            if wait is not None:  # once per backoff, not per batch
                logger.warning("%s failing: the refresh backs off %.0fs", self.guard.provider, wait)

    # -- storage ---------------------------------------------------------------------------

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

    async def _cache_view(
        self, symbol: str, view: StockView, data: dict[str, Any] | None = None
    ) -> None:
        text = json.dumps(data if data is not None else self._view_json(view))
        await self.cache.set(f"stock:{symbol}", text, self.ttl)

    async def _store_views(self, views: dict[str, StockView]) -> None:
        patches = {symbol: self._view_json(view) for symbol, view in views.items()}
        for symbol, view in views.items():
            await self._cache_view(symbol, view, patches[symbol])
        expires = self.clock() + timedelta(seconds=self.ttl)
        batch = self._batch.get()
        if batch is not None:
            for symbol, patch in patches.items():
                batch.add(symbol, patch, expires=expires)
            return
        await self._write({s: RowWrite(p, expires) for s, p in patches.items()})

    @contextlib.asynccontextmanager
    async def batched_writes(self, symbols: list[str]) -> AsyncIterator[None]:
        """For a refresh batch: read the symbols' stock_cache rows in one query, and write their
        quotes, fundamentals and attachments in one transaction at the end (one multi-row upsert)
        instead of a statement per symbol and kind. Only the calling task joins the batch."""
        rows: dict[str, StockCacheEntry | None] = {}
        if self.storage is not None:
            async with self.storage.unit() as unit:
                found = await unit.stock_cache.get_many(symbols)
            rows = {s: found.get(s) for s in symbols}
        batch = WriteBatch(rows)
        token = self._batch.set(batch)
        try:
            with self.in_background():
                yield
        finally:
            self._batch.reset(token)
            await self._write(batch.writes)

    async def _write(self, writes: dict[str, RowWrite]) -> None:
        """Several symbols' row changes in one transaction (again after a conflict)."""
        if not writes or self.storage is None:
            return
        await transact(self.storage, lambda unit: unit.stock_cache.write_many(writes, self.clock()))

    async def _persist(
        self, symbol: str, patch: dict[str, Any], *, expires: datetime | None
    ) -> None:
        batch = self._batch.get()
        if batch is not None and expires is None:
            batch.add(symbol, patch)
            return
        await self._write({symbol: RowWrite(patch, expires)})

    async def _persisted_row(self, symbol: str) -> StockCacheEntry | None:
        if self.storage is None:
            return None
        batch = self._batch.get()
        if batch is not None and symbol in batch.rows:
            return batch.rows[symbol]
        async with self.storage.unit() as unit:
            return await unit.stock_cache.get(symbol)

    def _persisted_view(self, row: StockCacheEntry | None) -> StockView | None:
        """The stock_cache row's quote as a view, stale when it has expired."""
        if row is None or not row.stock_data or "quote" not in row.stock_data:
            return None
        return self._view_from(row.stock_data, stale=row.expires_at <= self.clock())

    async def store_attachments(self, attachments: dict[str, Attachment]) -> None:
        """Persist several symbols' attachments next to their data, in one transaction.

        Inside `batched_writes` they go out with the batch's other writes; otherwise the rows
        must exist (they do once the symbol's quote has been stored).
        """
        if self.storage is None or not attachments:
            return
        batch = self._batch.get()
        if batch is not None:
            for symbol, attachment in attachments.items():
                batch.add(symbol, attachment=attachment)
            return

        async def attach(unit: UnitOfWork) -> None:
            now = self.clock()
            for symbol, attachment in attachments.items():
                await unit.stock_cache.set_attachment(symbol, attachment, now)

        await transact(self.storage, attach)

    def restore_attachments_with(self, restore: AttachmentRestorer) -> None:
        """Have `restore(symbol, attachment)` called whenever a cold cache reads a symbol's quote
        back from stock_cache (after a restart), so the attachment's owner can put its own cache
        entries back from it. One restorer per service: a later one replaces the earlier."""
        self._restore_attachment = restore

    async def close(self) -> None:
        """Release the cache connection."""
        await self.cache.close()
        if self.guard is not None:
            await self.guard.close()
