"""Analysis endpoints: one stock's multi-analyst view and the whole dashboard in one request."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stockdash.analysis.deps import AnalysisDep
from stockdash.analysis.schemas import (
    Analysis,
    Consensus,
    DcfOverrides,
    LockedModel,
    ModelName,
    MultiAIAnalysis,
    Signal,
)
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
    """The whole watchlist in one response, every analysis in full (`view=full`)."""

    data: list[DashboardItem]
    count: int
    max_stocks: int


class _Summary(BaseModel):
    # Only the listed fields: a full analysis never passes for a summary.
    model_config = ConfigDict(extra="forbid")


class AnalysisSummary(_Summary):
    """One analyst's verdict without its factors, reasoning and details."""

    model: ModelName
    score: float = Field(ge=0, le=100)
    signal: Signal
    confidence: float = Field(ge=0, le=1)
    summary: str
    inputs_as_of: date
    methodology_version: str

    @classmethod
    def of(cls, analysis: Analysis) -> AnalysisSummary:
        """The summary of a full analysis."""
        return cls.model_validate({name: getattr(analysis, name) for name in cls.model_fields})


class MultiAISummary(_Summary):
    """All analyses the caller may see for one symbol, each as its summary."""

    symbol: str
    as_of: date
    analyses: dict[ModelName, AnalysisSummary]
    locked_models: list[LockedModel] = Field(default_factory=list)
    consensus: Consensus | None = None

    @classmethod
    def of(cls, full: MultiAIAnalysis) -> MultiAISummary:
        """The summary form of a stock's analyses (consensus and locked models unchanged)."""
        return cls(
            symbol=full.symbol,
            as_of=full.as_of,
            analyses={m: AnalysisSummary.of(a) for m, a in full.analyses.items()},
            locked_models=full.locked_models,
            consensus=full.consensus,
        )


class DashboardSummaryItem(_Summary):
    """One watchlist stock as the dashboard card shows it: analyses as summaries."""

    symbol: str
    added_at: datetime
    quote: StockPublic | None
    analysis: MultiAISummary | None
    sparkline: list[float]
    error: str | None = None


class DashboardSummary(_Summary):
    """The whole watchlist in one response, analyses as summaries (`view=summary`).

    Field for field a subset of `Dashboard`: a client written for this shape can read either.
    """

    data: list[DashboardSummaryItem]
    count: int
    max_stocks: int


@dataclass(frozen=True, slots=True)
class Card:
    """What one dashboard card needs, loaded."""

    quote: StockPublic
    sparkline: list[float]
    analysis: MultiAIAnalysis


def full_item(symbol: str, added_at: datetime, card: Card | None) -> DashboardItem:
    """A card with its analyses in full (or the error when its data could not be loaded)."""
    analysis = card.analysis if card else None
    return DashboardItem(**_card_fields(symbol, added_at, card), analysis=analysis)


def summary_item(symbol: str, added_at: datetime, card: Card | None) -> DashboardSummaryItem:
    """A card with its analyses summarised (or the error when its data could not be loaded)."""
    analysis = MultiAISummary.of(card.analysis) if card else None
    return DashboardSummaryItem(**_card_fields(symbol, added_at, card), analysis=analysis)


def _card_fields(symbol: str, added_at: datetime, card: Card | None) -> dict[str, Any]:
    """The fields both views share: quote and sparkline, or the error of a card that failed."""
    if card is None:
        return {
            "symbol": symbol,
            "added_at": added_at,
            "quote": None,
            "sparkline": [],
            "error": UNAVAILABLE_CARD,
        }
    return {
        "symbol": symbol,
        "added_at": added_at,
        "quote": card.quote,
        "sparkline": card.sparkline,
    }


DashboardView = Literal["full", "summary"]
DashboardResponse = Dashboard | DashboardSummary
UNAVAILABLE_CARD = "Data for this stock is unavailable right now."


@router.get(
    "/dashboard",
    response_model=DashboardResponse,
    response_description=(
        "`view=full`: a `Dashboard`, every analysis with its factors and reasoning. "
        "`view=summary`: a `DashboardSummary`, each analysis as model, score, signal, "
        "confidence, summary, inputs_as_of and methodology_version (the consensus and locked "
        "models as in full). The summary's fields are a subset of the full response's."
    ),
)
async def dashboard(
    user: CurrentReader,
    session: SessionDep,
    market: MarketDep,
    analysis: AnalysisDep,
    view: Annotated[
        DashboardView,
        Query(
            description=(
                "`full` (default): each analysis complete, as /stocks/{symbol}/analysis returns "
                "it. `summary`: per model only score, signal, confidence and summary (plus the "
                "consensus and locked models), a small fraction of the size; what the dashboard "
                "page shows."
            )
        ),
    ] = "full",
) -> Dashboard | DashboardSummary:
    """Every watchlist stock with its quote, sparkline and analyses (in full or summarised)."""
    items = [
        (i.symbol, i.added_at) for i in await SqlWatchlistRepository(session).list_for_user(user.id)
    ]
    tier = user.subscription_tier
    await session.rollback()  # release the read transaction before the slower market work
    summary = view == "summary"

    async def load(symbol: str) -> Card | None:
        """One card's data, or None (logged) when it cannot be loaded."""
        try:
            quote = stock_public(await market.stock(symbol))
            bars = await market.history_tail(symbol, SPARKLINE_DAYS)
            # A summary leaves out the reasoning, so the narrator has nothing to add to it.
            result = await analysis.for_tier(symbol, tier, narrate=not summary)
        except Exception:  # one failing stock must not blank the whole dashboard
            logger.exception("dashboard card for %s failed", symbol)
            return None
        return Card(quote, [b.close for b in bars], result)

    cards = await asyncio.gather(*(load(symbol) for symbol, _ in items))
    count, max_stocks = len(cards), tiers.max_stocks(tier)
    if summary:
        return DashboardSummary(
            data=[summary_item(s, a, c) for (s, a), c in zip(items, cards, strict=True)],
            count=count,
            max_stocks=max_stocks,
        )
    return Dashboard(
        data=[full_item(s, a, c) for (s, a), c in zip(items, cards, strict=True)],
        count=count,
        max_stocks=max_stocks,
    )
