"""Market data for the API: symbol resolution, quotes, history and fundamentals."""

from __future__ import annotations

import logging

from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import MarketDataProvider

logger = logging.getLogger(__name__)


def normalise_symbol(raw: str) -> str:
    """Upper-case a ticker and use the S&P style class separator (BRK-B -> BRK.B)."""
    return raw.strip().upper().replace("-", ".").replace("/", ".")


class MarketService:
    """Front door to market data: the configured provider behind caches."""

    def __init__(self, provider: MarketDataProvider, snapshot: SnapshotProvider) -> None:
        self.provider = provider
        self.snapshot = snapshot

    async def resolve_symbol(self, raw: str) -> str | None:
        """The canonical symbol, or None when no market data source knows it."""
        symbol = normalise_symbol(raw)
        return symbol if symbol in self.snapshot.known_symbols() else None

    async def warm(self, symbol: str) -> None:
        """Fetch a symbol now so its first view is fast (filled in by the market data issue)."""
        logger.debug("warm %s", symbol)
