"""Analysis endpoints: one stock's multi-analyst view (the dashboard is `stockdash.dashboard`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError

from stockdash.analysis.deps import AnalysisDep
from stockdash.analysis.schemas import DcfOverrides, MultiAIAnalysis
from stockdash.core.errors import Unprocessable, error_responses
from stockdash.core.metrics import ANALYSES_SERVED
from stockdash.market.deps import MarketDep
from stockdash.users.deps import CurrentReader

router = APIRouter(tags=["analysis"], responses=error_responses(401, 403, 404, 422, 429))


def _overrides(
    discount_rate: float | None, terminal_growth: float | None, growth: float | None
) -> DcfOverrides | None:
    if discount_rate is None and terminal_growth is None and growth is None:
        return None
    try:
        return DcfOverrides(
            discount_rate=discount_rate, terminal_growth=terminal_growth, growth=growth
        )
    except ValidationError as exc:
        raise Unprocessable(
            "Invalid DCF assumptions: " + "; ".join(e["msg"] for e in exc.errors()),
            details=[{"loc": e["loc"], "msg": e["msg"]} for e in exc.errors()],
        ) from exc


@router.get("/stocks/{symbol}/analysis", response_model=MultiAIAnalysis)
async def stock_analysis(
    symbol: str,
    user: CurrentReader,
    market: MarketDep,
    analysis: AnalysisDep,
    discount_rate: Annotated[
        float | None, Query(ge=0.01, le=0.30, description="DCF override: discount rate, e.g. 0.09")
    ] = None,
    terminal_growth: Annotated[
        float | None,
        Query(ge=-0.02, le=0.05, description="DCF override: terminal growth, e.g. 0.025"),
    ] = None,
    growth: Annotated[
        float | None,
        Query(ge=-0.5, le=1.0, description="DCF override: stage-1 FCF growth, e.g. 0.08"),
    ] = None,
) -> MultiAIAnalysis:
    """The analyses your plan allows for one stock; the others are listed as locked."""
    canonical = await market.require_symbol(symbol)
    overrides = _overrides(discount_rate, terminal_growth, growth)
    result = await analysis.for_tier(canonical, user.subscription_tier, overrides)
    for model in result.analyses:
        ANALYSES_SERVED.labels(str(model)).inc()
    return result
