"""The multi-AI service: run the analysts a tier allows, cache them, aggregate a consensus."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.consensus import build_consensus
from stockdash.analysis.context import MarketContext, build_market_context
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


class AnalysisService:
    """Runs analysts on market data; results are cached per (symbol, model, data as-of)."""

    def __init__(
        self,
        market: MarketService,
        *,
        risk_free_rate: float,
        equity_risk_premium: float,
        narrator: Narrator | None = None,
    ) -> None:
        self.market = market
        self.risk_free_rate = risk_free_rate
        self.equity_risk_premium = equity_risk_premium
        self.narrator = narrator
        self._context: MarketContext | None = None
        self._context_lock = asyncio.Lock()

    async def context(self) -> MarketContext:
        """Universe-wide inputs (sector P/E medians, equal-weight index), built once from the snapshot."""
        if self._context is not None:
            return self._context
        async with self._context_lock:
            if self._context is None:
                self._context = await self._build_context()
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
        )

    async def analyse(
        self, symbol: str, models: Iterable[ModelName], overrides: DcfOverrides | None = None
    ) -> dict[ModelName, Analysis]:
        """The analyses of a symbol for the given models (cached unless DCF overrides are given)."""
        wanted = [m for m in ALL_MODELS if m in set(models)]
        data = await self.market.stock_data(symbol)
        key_base = f"analysis:{symbol}:{data.quote.as_of.isoformat()}:{data.quote.price!r}"
        results: dict[ModelName, Analysis] = {}
        missing: list[ModelName] = []
        for model in wanted:
            custom = model == "dcf_math" and overrides is not None
            cached = None if custom else await self.market.cache.get(f"{key_base}:{model}")
            if cached is not None:
                results[model] = Analysis.model_validate_json(cached)
            else:
                missing.append(model)
        if missing:
            computed = await self._compute(data, missing, overrides)
            for model, analysis in computed.items():
                results[model] = analysis
                if not (model == "dcf_math" and overrides is not None):
                    await self.market.cache.set(
                        f"{key_base}:{model}", analysis.model_dump_json(), self.market.ttl
                    )
        return {m: results[m] for m in wanted}

    async def _compute(
        self, data: StockData, models: list[ModelName], overrides: DcfOverrides | None
    ) -> dict[ModelName, Analysis]:
        ctx = await self.context()
        figures = compute_metrics(data, ctx.index_returns)
        out: dict[ModelName, Analysis] = {}
        for model in models:
            started = time.perf_counter()
            out[model] = run_analyst(
                model, data, ctx, overrides if model == "dcf_math" else None, figures
            )
            ANALYSIS_SECONDS.labels(model).observe(time.perf_counter() - started)
        return out

    async def for_tier(
        self, symbol: str, tier: tiers.Tier | str, overrides: DcfOverrides | None = None
    ) -> MultiAIAnalysis:
        """What a user on this tier sees: allowed analyses, locked models, consensus."""
        allowed = [m.value for m in tiers.allowed_models(tier)]
        analyses = await self.analyse(symbol, allowed, overrides)  # type: ignore[arg-type]
        if self.narrator is not None:
            analyses = {m: await self.narrator.narrate(symbol, a) for m, a in analyses.items()}
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
