"""The four analyst models and a single entry point to run one of them."""

from __future__ import annotations

from collections.abc import Callable

from stockdash.analysis.analysts import basic, dcf_math, peter_lynch, warren_buffett
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics, compute_metrics
from stockdash.analysis.schemas import Analysis, DcfOverrides, ModelName
from stockdash.market.types import StockData

AnalystFn = Callable[[StockMetrics, MarketContext, DcfOverrides | None], Analysis]


def _basic(m: StockMetrics, ctx: MarketContext, _: DcfOverrides | None) -> Analysis:
    return basic.analyse(m, ctx)


def _buffett(m: StockMetrics, ctx: MarketContext, _: DcfOverrides | None) -> Analysis:
    return warren_buffett.analyse(m, ctx)


def _lynch(m: StockMetrics, ctx: MarketContext, _: DcfOverrides | None) -> Analysis:
    return peter_lynch.analyse(m, ctx)


METHODOLOGY_VERSIONS: dict[ModelName, str] = {
    "basic": basic.VERSION,
    "warren_buffett": warren_buffett.VERSION,
    "peter_lynch": peter_lynch.VERSION,
    "dcf_math": dcf_math.VERSION,
}

ANALYSTS: dict[ModelName, AnalystFn] = {
    "basic": _basic,
    "warren_buffett": _buffett,
    "peter_lynch": _lynch,
    "dcf_math": dcf_math.analyse,
}


def run_analyst(
    model: ModelName,
    data: StockData,
    ctx: MarketContext,
    overrides: DcfOverrides | None = None,
    metrics: StockMetrics | None = None,
) -> Analysis:
    """Run one analyst; pass precomputed `metrics` to share them across the four models."""
    if model not in ANALYSTS:
        raise ValueError(f"unknown analyst model {model!r}")
    figures = metrics if metrics is not None else compute_metrics(data, ctx.index_returns)
    return ANALYSTS[model](figures, ctx, overrides)


def run_all(
    data: StockData,
    ctx: MarketContext,
    models: tuple[ModelName, ...] = ("basic", "warren_buffett", "peter_lynch", "dcf_math"),
    overrides: DcfOverrides | None = None,
) -> dict[ModelName, Analysis]:
    """Run several analysts on one stock, computing the metrics once."""
    figures = compute_metrics(data, ctx.index_returns)
    return {model: run_analyst(model, data, ctx, overrides, figures) for model in models}


__all__ = ["ANALYSTS", "METHODOLOGY_VERSIONS", "run_all", "run_analyst"]
