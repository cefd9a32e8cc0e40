"""What a refreshed symbol looks like right after the refresh: its quote, and per tier the
analyst scores and the consensus. Built once per refreshed symbol and cycle; the live updates
and the alert evaluation both read it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from stockdash.analysis.service import AnalysisService
from stockdash.market.service import MarketService
from stockdash.subscriptions import tiers

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TierView:
    """The analyses one tier sees for a symbol."""

    scores: dict[str, float | None]
    consensus_score: float | None
    signal: str | None

    def as_json(self) -> dict[str, Any]:
        """The JSON form (in events)."""
        return {
            "scores": self.scores,
            "consensus": {"score": self.consensus_score, "signal": self.signal},
        }


@dataclass(frozen=True, slots=True)
class SymbolSnapshot:
    """One symbol after a refresh."""

    symbol: str
    price: float | None
    change: float | None
    change_percent: float | None
    as_of: str | None
    views: dict[tiers.Tier, TierView]

    def view(self, tier: tiers.Tier | str) -> TierView | None:
        """What a user on `tier` sees (the closest tier below it when it was not built)."""
        order = tiers.TIER_ORDER[: tiers.TIER_ORDER.index(tiers.Tier(tier)) + 1]
        return next((self.views[t] for t in reversed(order) if t in self.views), None)

    def quote_json(self) -> dict[str, Any]:
        """The quote part (in events)."""
        return {
            "price": self.price,
            "change": self.change,
            "change_percent": self.change_percent,
            "as_of": self.as_of,
        }


async def take_snapshots(
    targets: dict[str, tiers.Tier], market: MarketService, analysis: AnalysisService | None
) -> dict[str, SymbolSnapshot]:
    """Snapshots of these freshly refreshed symbols, each for every tier up to its highest
    (from the data and analyses the refresh just stored: cached, nothing is recomputed)."""
    out: dict[str, SymbolSnapshot] = {}
    for symbol, highest in targets.items():
        try:
            out[symbol] = await _snapshot(symbol, highest, market, analysis)
        except Exception:  # one symbol's snapshot must not stop the others' updates
            logger.exception("snapshot of %s for live updates failed", symbol)
    return out


async def _snapshot(
    symbol: str, highest: tiers.Tier, market: MarketService, analysis: AnalysisService | None
) -> SymbolSnapshot:
    quote = (await market.stock(symbol)).quote
    views: dict[tiers.Tier, TierView] = {}
    if analysis is not None:
        for tier in tiers.TIER_ORDER[: tiers.TIER_ORDER.index(highest) + 1]:
            full = await analysis.for_tier(symbol, tier, narrate=False)
            consensus = full.consensus
            views[tier] = TierView(
                scores={str(m): a.score for m, a in full.analyses.items()},
                consensus_score=consensus.score if consensus else None,
                signal=str(consensus.signal) if consensus else None,
            )
    return SymbolSnapshot(
        symbol=symbol,
        price=quote.price,
        change=quote.change,
        change_percent=quote.change_percent,
        as_of=quote.as_of.isoformat() if quote.as_of else None,
        views=views,
    )
