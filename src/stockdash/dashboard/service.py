"""Loading the dashboard: one card per watchlist stock, loaded concurrently, each failing alone."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.analysis.schemas import MultiAIAnalysis
from stockdash.analysis.service import AnalysisService
from stockdash.dashboard.schemas import (
    Dashboard,
    DashboardItem,
    DashboardSummary,
    DashboardSummaryItem,
    DashboardView,
    MultiAISummary,
)
from stockdash.market.public import stock_public
from stockdash.market.schemas import StockPublic
from stockdash.market.service import MarketService
from stockdash.subscriptions import tiers
from stockdash.users.models import User
from stockdash.watchlist import service as watchlist

logger = logging.getLogger(__name__)

SPARKLINE_DAYS = 30
UNAVAILABLE_CARD = "Data for this stock is unavailable right now."


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


async def build_dashboard(
    session: AsyncSession,
    user: User,
    market: MarketService,
    analysis: AnalysisService,
    view: DashboardView = "full",
) -> Dashboard | DashboardSummary:
    """Every watchlist stock of `user` with its quote, sparkline and analyses (in `view`).

    The session is only read (the watchlist) and its transaction released before the slower
    market and analysis work.
    """
    items = [(i.symbol, i.added_at) for i in await watchlist.list_entries(session, user.id)]
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
