"""Dashboard cards as ready JSON: built once per (symbol, tier, view, inputs version), then served
as bytes without re-validating or re-serialising anything.

A card has three fragments: the quote (`StockPublic`), the sparkline and the analyses (in full or
summarised) for one tier. They are stored in the market cache (Redis when configured) under keys
that carry the symbol's *inputs version*, a digest of everything the card shows; a small key per
symbol (under `VERSION_NAMESPACE`) names the current version. A warm dashboard therefore costs one
`get_many` of those version keys plus lookups in this process's LRU of fragments, which needs no
invalidation because its keys carry the version. With Redis client-side caching the version keys
are tracked (`RedisCache`), so a warm dashboard makes no round trip at all until a refresh
changes a version.

The refresh publishes new cards right after it stored new data (`publish`); a dashboard that
finds none builds the cards it needs on the spot (the analyses themselves are cached too). The
version keys expire with the market data, so a card is never older than the data cache allows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from cachetools import LRUCache

from stockdash.analysis.analysts import METHODOLOGY_VERSIONS
from stockdash.analysis.schemas import MultiAIAnalysis
from stockdash.analysis.service import AnalysisService, inputs_digest
from stockdash.dashboard.schemas import DashboardView, MultiAISummary
from stockdash.market.cache import MemoryCache
from stockdash.market.public import stock_public
from stockdash.market.service import MarketService
from stockdash.subscriptions import tiers

logger = logging.getLogger(__name__)

SPARKLINE_DAYS = 30
VIEWS: tuple[DashboardView, ...] = ("summary", "full")
# Bumped when a fragment's shape changes; the methodology versions join it, so a new model
# version never serves an old card.
CARD_FORMAT = "1:" + ",".join(f"{m}={v}" for m, v in sorted(METHODOLOGY_VERSIONS.items()))


# The version keys live apart from the fragments, so tracking them is not told of every fragment.
VERSION_NAMESPACE = "cardver:"


def card_prefix(voice: str) -> str:
    """The key namespace of cards in this format and narrator voice: instances whose narrator
    differs (or is off) never serve each other's reasoning text."""
    return "card:" + _card_namespace(voice)


def card_version_prefix(voice: str) -> str:
    """The namespace of the cards' version keys in this format and narrator voice."""
    return VERSION_NAMESPACE + _card_namespace(voice)


def _card_namespace(voice: str) -> str:
    return hashlib.sha256(f"{CARD_FORMAT}|{voice}".encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class CardJson:
    """One card's fragments, each a JSON text."""

    quote: str
    analysis: str
    sparkline: str


@dataclass(frozen=True, slots=True)
class _Built:
    """A freshly built card: its version and every fragment key with its text."""

    version: str
    fragments: dict[str, str]


def version_key(version_prefix: str, symbol: str) -> str:
    """The key naming a symbol's current inputs version."""
    return f"{version_prefix}:{symbol}"


def fragment_keys(
    prefix: str, symbol: str, version: str, tier: str, view: DashboardView
) -> tuple[str, ...]:
    """The keys of a card's quote, analysis and sparkline fragments."""
    base = f"{prefix}:{symbol}:{version}"
    return (f"{base}:quote", f"{base}:{tier}:{view}", f"{base}:spark")


class CardStore:
    """Builds, stores and serves dashboard cards as JSON fragments."""

    def __init__(
        self, market: MarketService, analysis: AnalysisService, *, local_entries: int
    ) -> None:
        self.market = market
        self.analysis = analysis
        self.cache = market.cache
        self.prefix = card_prefix(analysis.voice)
        self.version_prefix = card_version_prefix(analysis.voice)
        # An in-process LRU only in front of a shared cache: the memory cache already is one.
        self._local_lru: LRUCache[str, str] | None = (
            LRUCache(local_entries)
            if local_entries and not isinstance(self.cache, MemoryCache)
            else None
        )

    async def versions(self, symbols: list[str]) -> list[str | None]:
        """Each symbol's current inputs version (None: no card yet), in one `get_many`."""
        return await self.cache.get_many([version_key(self.version_prefix, s) for s in symbols])

    async def cards_at(
        self, symbols: list[str], versions: list[str | None], tier: str, view: DashboardView
    ) -> list[CardJson | None]:
        """The cards at these versions; missing ones are built (None where that fails)."""
        wanted = {
            s: fragment_keys(self.prefix, s, v, tier, view)
            for s, v in zip(symbols, versions, strict=True)
            if v is not None
        }
        found = await self._fragments([k for keys in wanted.values() for k in keys])
        out: dict[str, CardJson] = {}
        for symbol, keys in wanted.items():
            texts = [found.get(k) for k in keys]
            if all(t is not None for t in texts):
                out[symbol] = CardJson(*texts)  # type: ignore[arg-type]
        missing = [s for s in symbols if s not in out]
        if missing:
            built = await asyncio.gather(*(self._build_one(s, tier, view) for s in missing))
            out.update({s: c for s, c in zip(missing, built, strict=True) if c is not None})
        return [out.get(s) for s in symbols]

    async def analysis_json(self, symbol: str, tier: str) -> str | None:
        """A symbol's analyses for a tier, in full, as its card holds them (built if missing;
        None when it cannot be): what `/stocks/{symbol}/analysis` answers without overrides."""
        (card,) = await self.cards_at([symbol], await self.versions([symbol]), tier, "full")
        return None if card is None else card.analysis

    async def _fragments(self, keys: list[str]) -> dict[str, str]:
        """Fragments by key: from this process's LRU, the rest in one `get_many`."""
        found: dict[str, str] = {}
        remote = keys
        if self._local_lru is not None:
            lru = self._local_lru
            found = {k: lru[k] for k in keys if k in lru}
            remote = [k for k in keys if k not in found]
        if remote:
            for key, text in zip(remote, await self.cache.get_many(remote), strict=True):
                if text is not None:
                    found[key] = text
                    self._remember(key, text)
        return found

    def _remember(self, key: str, text: str) -> None:
        if self._local_lru is not None:
            self._local_lru[key] = text

    async def _build_one(self, symbol: str, tier: str, view: DashboardView) -> CardJson | None:
        """Build and store one card (None, logged, when its data cannot be loaded)."""
        try:
            built = await self._build(symbol, [tier], [view])
        except Exception:  # one failing stock must not blank the whole dashboard
            logger.exception("dashboard card for %s failed", symbol)
            return None
        await self._store(symbol, built)
        keys = fragment_keys(self.prefix, symbol, built.version, tier, view)
        return CardJson(*(built.fragments[k] for k in keys))

    async def _build(
        self, symbol: str, tier_names: Iterable[str], views: Iterable[DashboardView]
    ) -> _Built:
        """The fragments of a symbol's cards for these tiers and views, and their version."""
        quote = stock_public(await self.market.stock(symbol)).model_dump_json()
        inputs = await self.market.stock_data(symbol, last_bars=1)
        digest = inputs_digest(inputs, await self.analysis.context())
        version = hashlib.sha256(f"{digest}|{quote}".encode()).hexdigest()[:16]
        bars = await self.market.history_tail(symbol, SPARKLINE_DAYS)
        base = f"{self.prefix}:{symbol}:{version}"
        fragments = {
            f"{base}:quote": quote,
            f"{base}:spark": json.dumps([b.close for b in bars]),
        }
        views = list(views)
        for tier in tier_names:
            # The summary leaves out the reasoning, so it needs no narration.
            full = await self.analysis.for_tier(symbol, tier, narrate="full" in views)
            for view in views:
                fragments[f"{base}:{tier}:{view}"] = _analysis_json(full, view)
        return _Built(version, fragments)

    async def _store(self, symbol: str, built: _Built) -> None:
        """Store the fragments, then point the symbol's version key at them (one pipeline)."""
        for key, text in built.fragments.items():
            self._remember(key, text)
        items = {**built.fragments, version_key(self.version_prefix, symbol): built.version}
        await self.cache.set_many(items, self.market.ttl)

    async def publish(self, targets: dict[str, tiers.Tier]) -> int:
        """Build and store the cards of freshly refreshed symbols, for every tier up to the highest
        one tracking each (the refresh's step after storing data); how many symbols failed."""
        failed = 0
        for symbol, highest in targets.items():
            allowed = tiers.TIER_ORDER[: tiers.TIER_ORDER.index(highest) + 1]
            try:
                built = await self._build(symbol, [t.value for t in allowed], VIEWS)
                await self._store(symbol, built)
            except Exception:  # a card that cannot be built now is built by the next dashboard
                logger.exception("publishing dashboard cards for %s failed", symbol)
                failed += 1
        return failed


def _analysis_json(full: MultiAIAnalysis, view: DashboardView) -> str:
    """The analyses of a card in the view's shape, as JSON."""
    if view == "summary":
        return MultiAISummary.of(full).model_dump_json()
    return full.model_dump_json()
