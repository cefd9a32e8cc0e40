"""The multi-AI service: run the analysts a tier allows, cache them, aggregate a consensus."""

from __future__ import annotations

import asyncio
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
from stockdash.core.metrics import ANALYSIS_SECONDS
from stockdash.market.service import MarketService
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


def analysis_cache_key(model: ModelName, data: StockData, ctx: MarketContext) -> str:
    """Key on (symbol, model, data as-of, methodology version, hash of every parameter)."""
    inputs = {**data_as_of(data), **ctx.parameters(), "context_as_of": ctx.as_of.isoformat()}
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:20]
    return (
        f"{CACHE_PREFIX}:{data.profile.symbol}:{model}:{data.quote.as_of.isoformat()}:"
        f"{METHODOLOGY_VERSIONS[model]}:{digest}"
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
        self._context: MarketContext | None = None
        self._context_source: tuple[object, date] | None = None
        self._context_lock = asyncio.Lock()

    def _current_source(self) -> tuple[object, date]:
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
                    self._context = await self._build_context()
                    self._context_source = source
        assert self._context is not None  # set above under the lock
        return self._context

    async def _build_context(self) -> MarketContext:
        snapshot = self.market.snapshot
        quotes, profiles = snapshot.universe_quotes(), snapshot.universe_profiles()
        stocks = [
            StockData(
                profile=profiles[s], quote=quotes[s], history=await snapshot.history(s, None, None)
            )
            for s in sorted(quotes)
        ]
        return build_market_context(
            stocks,
            risk_free_rate=self.risk_free_rate,
            equity_risk_premium=self.equity_risk_premium,
            as_of=snapshot.as_of(),
            credit_spread=self.credit_spread,
            tax_rate=self.tax_rate,
        )

    async def analyse(
        self, symbol: str, models: Iterable[ModelName], overrides: DcfOverrides | None = None
    ) -> dict[ModelName, Analysis]:
        """The analyses of a symbol for the given models (cached unless DCF overrides are given)."""
        wanted = [m for m in ALL_MODELS if m in set(models)]
        data = await self.market.stock_data(symbol)
        ctx = await self.context()
        results: dict[ModelName, Analysis] = {}
        missing: list[ModelName] = []
        for model in wanted:
            custom = model == "dcf_math" and overrides is not None
            key = analysis_cache_key(model, data, ctx)
            cached = None if custom else await self.market.cache.get(key)
            if cached is not None:
                results[model] = Analysis.model_validate_json(cached)
            else:
                missing.append(model)
        if missing:
            computed = self._compute(data, ctx, missing, overrides)
            for model, analysis in computed.items():
                results[model] = analysis
                if not (model == "dcf_math" and overrides is not None):
                    await self.market.cache.set(
                        analysis_cache_key(model, data, ctx),
                        analysis.model_dump_json(),
                        self.market.ttl,
                    )
        return {m: results[m] for m in wanted}

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
        self, symbol: str, tier: tiers.Tier | str, overrides: DcfOverrides | None = None
    ) -> MultiAIAnalysis:
        """What a user on this tier sees: allowed analyses, locked models, consensus."""
        allowed = [m.value for m in tiers.allowed_models(tier)]
        analyses = await self.analyse(symbol, allowed, overrides)  # type: ignore[arg-type]
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

    async def analyses_payload(self, symbol: str, tier: tiers.Tier | str) -> dict[str, object]:
        """The analyses a tier allows, as JSON-ready dicts for the stock_cache table."""
        models = [m.value for m in tiers.allowed_models(tier)]
        analyses = await self.analyse(symbol, models)  # type: ignore[arg-type]
        return {m: a.model_dump(mode="json") for m, a in analyses.items()}

    async def warm(self, symbol: str, tier: tiers.Tier | str) -> None:
        """Compute a newly tracked symbol's analyses in the background so the first view is fast."""
        try:
            await self.for_tier(symbol, tier)
        except Exception:  # a background warm-up must never crash the worker
            logger.exception("warming analyses for %s failed", symbol)
