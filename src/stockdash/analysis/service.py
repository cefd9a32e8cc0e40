"""The multi-AI service: run the analysts a tier allows, cache them, aggregate a consensus.

The CPU-heavy parts (the universe context, each symbol's metrics and analysts) run in worker
threads so the event loop keeps serving other requests meanwhile; concurrent requests for the
same work share one run (a lock for the context, single-flight per symbol for the analyses).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from datetime import date

from stockdash.analysis.analysts import METHODOLOGY_VERSIONS, run_analyst
from stockdash.analysis.consensus import build_consensus
from stockdash.analysis.context import MarketContext, build_market_context, check_rates
from stockdash.analysis.metrics import compute_metrics
from stockdash.analysis.narrator import Narrator
from stockdash.analysis.schemas import (
    Analysis,
    DcfOverrides,
    LockedModel,
    ModelName,
    MultiAIAnalysis,
)
from stockdash.analysis.store import AnalysisRun, AnalysisStore
from stockdash.core.config import Settings
from stockdash.core.metrics import ANALYSIS_SECONDS
from stockdash.market.service import MarketService
from stockdash.market.singleflight import SingleFlight
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import StockData
from stockdash.subscriptions import tiers

logger = logging.getLogger(__name__)

ALL_MODELS: tuple[ModelName, ...] = ("basic", "warren_buffett", "peter_lynch", "dcf_math")
CACHE_PREFIX = "analysis:v2"


def data_as_of(data: StockData) -> dict[str, str | float | None]:
    """What dates and prices an analysis of `data` depends on (quote, last bar, last filing)."""
    filed = max((f.filed for f in data.fundamentals), default=None)
    return {
        "quote_as_of": data.quote.as_of.isoformat(),
        "quote_price": data.quote.price,
        "quote_source": data.quote.source,
        "last_bar": data.history[-1].date.isoformat() if data.history else None,
        "last_filing": filed.isoformat() if filed else None,
    }


def inputs_digest(data: StockData, ctx: MarketContext) -> str:
    """Hash of everything an analysis of `data` depends on besides the model itself."""
    inputs = {**data_as_of(data), **ctx.parameters(), "context_as_of": ctx.as_of.isoformat()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:20]


def analysis_cache_key(
    model: ModelName, data: StockData, ctx: MarketContext, digest: str | None = None
) -> str:
    """Key on (symbol, model, data as-of, methodology version, hash of every parameter)."""
    return (
        f"{CACHE_PREFIX}:{data.profile.symbol}:{model}:{data.quote.as_of.isoformat()}:"
        f"{METHODOLOGY_VERSIONS[model]}:{digest or inputs_digest(data, ctx)}"
    )


class AnalysisService:
    """Runs analysts on market data; results are cached per (symbol, model, data as-of, params)."""

    def __init__(
        self,
        market: MarketService,
        *,
        risk_free_rate: float,
        equity_risk_premium: float,
        credit_spread: float,
        tax_rate: float,
        narrator: Narrator | None = None,
    ) -> None:
        check_rates(risk_free_rate, equity_risk_premium, credit_spread, tax_rate)
        self.market = market
        self.risk_free_rate = risk_free_rate
        self.equity_risk_premium = equity_risk_premium
        self.credit_spread = credit_spread
        self.tax_rate = tax_rate
        self.narrator = narrator
        # Persists the refresh's analyses and, on a cold start, restores them into the cache.
        self.store = AnalysisStore(market)
        self._context: MarketContext | None = None
        self._context_source: tuple[object, date] | None = None
        self._context_lock = asyncio.Lock()
        self._runs: SingleFlight[dict[ModelName, tuple[Analysis, str]]] = SingleFlight(
            market.locks, name="analysis"
        )

    @classmethod
    def from_settings(
        cls, market: MarketService, settings: Settings, *, narrator: Narrator | None = None
    ) -> AnalysisService:
        """The service on the settings' finance assumptions (RISK_FREE_RATE, DCF_* ...)."""
        return cls(
            market,
            risk_free_rate=settings.risk_free_rate,
            equity_risk_premium=settings.equity_risk_premium,
            credit_spread=settings.dcf_credit_spread,
            tax_rate=settings.dcf_tax_rate,
            narrator=narrator,
        )

    def _current_source(self) -> tuple[SnapshotProvider, date]:
        """The snapshot the context must come from and its as-of date."""
        snapshot = self.market.snapshot
        return snapshot, snapshot.as_of()

    def _context_is_current(self, source: tuple[object, date]) -> bool:
        held = self._context_source
        return (
            self._context is not None
            and held is not None
            and held[0] is source[0]
            and (held[1] == source[1])
        )

    async def context(self) -> MarketContext:
        """Universe-wide inputs (sector P/E medians, equal-weight index), rebuilt on a new snapshot."""
        source = self._current_source()
        if not self._context_is_current(source):
            async with self._context_lock:
                if not self._context_is_current(source):
                    self._context = await self._build_context(*source)
                    self._context_source = source
        assert self._context is not None  # set above under the lock
        return self._context

    async def _build_context(self, snapshot: SnapshotProvider, as_of: date) -> MarketContext:
        """The context of this snapshot, built in a worker thread."""
        # Reading ~500 histories and averaging them takes a second of CPU: not on the loop.
        return await asyncio.to_thread(self._build_context_blocking, snapshot, as_of)

    def _build_context_blocking(self, snapshot: SnapshotProvider, as_of: date) -> MarketContext:
        """The context, built synchronously (run in a worker thread)."""
        stocks = self._universe(snapshot)
        return build_market_context(
            stocks,
            risk_free_rate=self.risk_free_rate,
            equity_risk_premium=self.equity_risk_premium,
            as_of=as_of,
            credit_spread=self.credit_spread,
            tax_rate=self.tax_rate,
        )

    @staticmethod
    def _universe(snapshot: SnapshotProvider) -> list[StockData]:
        """Every snapshot symbol with its profile, quote and full history."""
        quotes, profiles = snapshot.universe_quotes(), snapshot.universe_profiles()
        return [
            StockData(
                profile=profiles[s], quote=quotes[s], history=snapshot.history_now(s, None, None)
            )
            for s in sorted(quotes)
        ]

    async def analyse(
        self, symbol: str, models: Iterable[ModelName], overrides: DcfOverrides | None = None
    ) -> dict[ModelName, Analysis]:
        """The analyses of a symbol for the given models (cached unless DCF overrides are given)."""
        return (await self.run(symbol, models, overrides)).analyses

    async def run(
        self, symbol: str, models: Iterable[ModelName], overrides: DcfOverrides | None = None
    ) -> AnalysisRun:
        """`analyse`, also naming the cache key of each analysis."""
        wanted = [m for m in ALL_MODELS if m in set(models)]
        ctx = await self.context()
        # The keys need only the quote, the last bar and the filings: the whole history (slow to
        # rebuild from the cache) is read only when something has to be computed.
        inputs = await self.market.stock_data(symbol, last_bars=1)
        digest = inputs_digest(inputs, ctx)
        keys = {m: analysis_cache_key(m, inputs, ctx, digest) for m in wanted}
        custom: list[ModelName] = (
            ["dcf_math"] if overrides is not None and "dcf_math" in wanted else []
        )
        results: dict[ModelName, tuple[Analysis, str]] = {}
        if custom:
            # User-chosen DCF assumptions: computed for this request only, never cached.
            data = await self.market.stock_data(symbol)
            computed = await asyncio.to_thread(self._compute, data, ctx, custom, overrides)
            results.update({m: (a, keys[m]) for m, a in computed.items()})
        missing = [m for m in wanted if m not in custom]
        while missing:
            # Concurrent requests for this symbol and inputs share one cache read or computation;
            # one that joined a run for other models comes round again for the rest.
            load = functools.partial(self._load_or_compute, symbol, ctx, missing, keys)
            shared = await self._runs.do(f"{symbol}:{digest}", load)
            results.update({m: shared[m] for m in missing if m in shared})
            missing = [m for m in missing if m not in results]
        return AnalysisRun({m: results[m][0] for m in wanted}, {m: results[m][1] for m in wanted})

    async def _load_or_compute(
        self,
        symbol: str,
        ctx: MarketContext,
        models: list[ModelName],
        keys: dict[ModelName, str],
    ) -> dict[ModelName, tuple[Analysis, str]]:
        """Each model's cached analysis, or else one computed in a worker thread and cached;
        with the key it is stored under."""
        found: dict[ModelName, tuple[Analysis, str]] = {}
        for model in models:
            cached = await self.market.cache.get(keys[model])
            if cached is not None:
                found[model] = (Analysis.model_validate_json(cached), keys[model])
        todo = [m for m in models if m not in found]
        if not todo:
            return found
        data = await self.market.stock_data(symbol)
        # Normally the same inputs the keys were made from; if a refresh landed in between,
        # the results belong under the newer inputs' keys.
        digest = inputs_digest(data, ctx)
        computed, texts = await asyncio.to_thread(self._compute_serialised, data, ctx, todo)
        for model, analysis in computed.items():
            key = analysis_cache_key(model, data, ctx, digest)
            await self.market.cache.set(key, texts[model], self.market.ttl)
            found[model] = (analysis, key)
        return found

    @classmethod
    def _compute_serialised(
        cls, data: StockData, ctx: MarketContext, models: list[ModelName]
    ) -> tuple[dict[ModelName, Analysis], dict[ModelName, str]]:
        """`_compute` plus each analysis's JSON for the cache (both off the loop)."""
        computed = cls._compute(data, ctx, models, None)
        return computed, {m: a.model_dump_json() for m, a in computed.items()}

    @staticmethod
    def _compute(
        data: StockData,
        ctx: MarketContext,
        models: list[ModelName],
        overrides: DcfOverrides | None,
    ) -> dict[ModelName, Analysis]:
        figures = compute_metrics(data, ctx.index_returns)
        out: dict[ModelName, Analysis] = {}
        for model in models:
            started = time.perf_counter()
            out[model] = run_analyst(
                model, data, ctx, overrides if model == "dcf_math" else None, figures
            )
            ANALYSIS_SECONDS.labels(model).observe(time.perf_counter() - started)
        return out

    @property
    def voice(self) -> str:
        """Who writes the reasoning text: "plain" (the models' own) or the narrator's model."""
        return "plain" if self.narrator is None else self.narrator.identity

    async def _narrate(
        self, symbol: str, analyses: dict[ModelName, Analysis]
    ) -> dict[ModelName, Analysis]:
        """Every analysis through the narrator at once (each call has its own timeout/fallback)."""
        if self.narrator is None or not analyses:
            return analyses
        narrator = self.narrator
        voiced = await asyncio.gather(*(narrator.narrate(symbol, a) for a in analyses.values()))
        return dict(zip(analyses, voiced, strict=True))

    async def for_tier(
        self,
        symbol: str,
        tier: tiers.Tier | str,
        overrides: DcfOverrides | None = None,
        *,
        narrate: bool = True,
    ) -> MultiAIAnalysis:
        """What a user on this tier sees: allowed analyses, locked models, consensus.

        `narrate=False` skips the optional LLM narrator (for views that leave out the reasoning).
        """
        allowed = [m.value for m in tiers.allowed_models(tier)]
        analyses = await self.analyse(symbol, allowed, overrides)  # type: ignore[arg-type]
        if narrate:
            analyses = await self._narrate(symbol, analyses)
        locked = [
            LockedModel(model=m, required_tier=tiers.required_tier(m).value)
            for m in ALL_MODELS
            if m not in allowed
        ]
        as_of = max((a.inputs_as_of for a in analyses.values()), default=None)
        if as_of is None:
            as_of = (await self.market.stock(symbol)).quote.as_of
        return MultiAIAnalysis(
            symbol=symbol,
            as_of=as_of,
            analyses=analyses,
            locked_models=locked,
            consensus=build_consensus(analyses.values()),
        )

    async def run_for_tier(self, symbol: str, tier: tiers.Tier | str) -> AnalysisRun:
        """The analyses a tier allows with their cache keys (what the refresh persists)."""
        models = [m.value for m in tiers.allowed_models(tier)]
        return await self.run(symbol, models)  # type: ignore[arg-type]

    async def warm(self, symbol: str, tier: tiers.Tier | str) -> None:
        """Compute a newly tracked symbol's analyses in the background so the first view is fast."""
        try:
            await self.for_tier(symbol, tier)
        except Exception:  # a background warm-up must never crash the worker
            logger.exception("warming analyses for %s failed", symbol)
