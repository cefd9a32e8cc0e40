"""A live provider backed by the snapshot for whatever the live one does not offer."""

from __future__ import annotations

from datetime import date

from stockdash.market.types import (
    Bar,
    FundamentalsYear,
    MarketDataProvider,
    Profile,
    ProviderError,
    Quote,
    SearchHit,
    UnknownSymbolError,
)


def _unsupported(exc: ProviderError) -> bool:
    return isinstance(exc, UnknownSymbolError) or "not supported" in str(exc)


class FallbackProvider:
    """Ask the primary; use the fallback only where the primary lacks the data (not when it fails)."""

    def __init__(self, primary: MarketDataProvider, fallback: MarketDataProvider) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Primary quotes, with the fallback filling symbols the primary does not cover."""
        try:
            quotes = await self.primary.quote(symbols)
        except ProviderError as exc:
            if not _unsupported(exc):
                raise
            quotes = {}
        missing = [s for s in symbols if s not in quotes]
        if missing:
            quotes.update(await self.fallback.quote(missing))
        return quotes

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Primary history, else the fallback's."""
        return (await self.history_sourced(symbol, start, end))[0]

    async def history_sourced(
        self, symbol: str, start: date | None, end: date | None
    ) -> tuple[list[Bar], str]:
        """Primary history, else the fallback's, with the name of the one that answered."""
        try:
            return await self.primary.history(symbol, start, end), self.primary.name
        except ProviderError as exc:
            if not _unsupported(exc):
                raise
            return await self.fallback.history(symbol, start, end), self.fallback.name

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Primary fundamentals, else the fallback's."""
        return (await self.fundamentals_sourced(symbol))[0]

    async def fundamentals_sourced(self, symbol: str) -> tuple[list[FundamentalsYear], str]:
        """Primary fundamentals, else the fallback's, with the name of the one that answered."""
        try:
            rows = await self.primary.fundamentals(symbol)
        except ProviderError as exc:
            if not _unsupported(exc):
                raise
            rows = []
        if rows:
            return rows, self.primary.name
        return await self.fallback.fundamentals(symbol), self.fallback.name

    async def profile(self, symbol: str) -> Profile:
        """Primary profile, else the fallback's."""
        try:
            return await self.primary.profile(symbol)
        except ProviderError as exc:
            if not _unsupported(exc):
                raise
            return await self.fallback.profile(symbol)

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Search the fallback's directory (fast, offline, complete for the universe)."""
        return await self.fallback.search(query, limit)
