"""Analysis endpoints: one stock's multi-analyst view and the whole dashboard in one request."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError

from stockdash.analysis.schemas import DcfOverrides, MultiAIAnalysis
from stockdash.analysis.service import AnalysisService
from stockdash.core.deps import CurrentReader, SessionDep
from stockdash.core.errors import Unprocessable, error_responses
from stockdash.market.deps import MarketDep
from stockdash.market.router import stock_public
from stockdash.market.schemas import StockPublic
from stockdash.subscriptions import tiers
from stockdash.watchlist.repository import SqlWatchlistRepository

logger = logging.getLogger(__name__)

router = APIRouter(tags=["analysis"], responses=error_responses(401, 403, 404, 422, 429))

SPARKLINE_DAYS = 30


def get_analysis(request: Request) -> AnalysisService:
    """The app's analysis service."""
    service: AnalysisService = request.app.state.analysis
    return service


AnalysisDep = Annotated[AnalysisService, Depends(get_analysis)]


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
    return await analysis.for_tier(canonical, user.subscription_tier, overrides)


class DashboardItem(BaseModel):
    """One watchlist stock with everything the dashboard card shows."""

    symbol: str
    added_at: datetime
    quote: StockPublic | None
    analysis: MultiAIAnalysis | None
    sparkline: list[float]
    error: str | None = None


class Dashboard(BaseModel):
    """The whole watchlist in one response."""

    data: list[DashboardItem]
    count: int
    max_stocks: int


@router.get("/dashboard", response_model=Dashboard)
async def dashboard(
    user: CurrentReader, session: SessionDep, market: MarketDep, analysis: AnalysisDep
) -> Dashboard:
    """Every watchlist stock with its quote, sparkline and analyses."""
    items = [
        (i.symbol, i.added_at) for i in await SqlWatchlistRepository(session).list_for_user(user.id)
    ]
    tier = user.subscription_tier
    await session.rollback()  # release the read transaction before the slower market work

    async def card(symbol: str, added_at: datetime) -> DashboardItem:
        try:
            view = await market.stock(symbol)
            bars = await market.history(symbol)
            result = await analysis.for_tier(symbol, tier)
        except Exception:  # one failing stock must not blank the whole dashboard
            logger.exception("dashboard card for %s failed", symbol)
            return DashboardItem(
                symbol=symbol,
                added_at=added_at,
                quote=None,
                analysis=None,
                sparkline=[],
                error="Data for this stock is unavailable right now.",
            )
        return DashboardItem(
            symbol=symbol,
            added_at=added_at,
            quote=stock_public(view),
            analysis=result,
            sparkline=[b.close for b in bars[-SPARKLINE_DAYS:]],
        )

    cards = await asyncio.gather(*(card(symbol, added_at) for symbol, added_at in items))
    return Dashboard(data=list(cards), count=len(cards), max_stocks=tiers.max_stocks(tier))
