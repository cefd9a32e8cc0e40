"""A provider wrapper that counts upstream calls per (endpoint, symbol) and can simulate an outage.

Used by the tests and the benchmarks to prove that cost grows with distinct symbols, not users.
Every call is also counted in `stockdash_provider_requests_total{provider,endpoint,status}` under
this wrapper's name, as a live provider's HTTP layer counts its requests.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from stockdash.core.metrics import PROVIDER_REQUESTS
from stockdash.market.types import (
    Bar,
    FundamentalsYear,
    MarketDataProvider,
    Profile,
    ProviderError,
    Quote,
    SearchHit,
)


class CountingProvider:
    """Delegates to another provider and counts every call per (endpoint, symbol); can be switched off."""

    def __init__(self, inner: MarketDataProvider, name: str = "counting") -> None:
        self.inner = inner
        self.name = name
        self.calls: Counter[tuple[str, str]] = Counter()
        self.batches: list[list[str]] = []
        self.down = False

    def _check(self, endpoint: str) -> None:
        """Count the request; fail it like an upstream 503 while `down`."""
        if self.down:
            PROVIDER_REQUESTS.labels(self.name, endpoint, "error").inc()
            raise ProviderError(self.name, "upstream unavailable (HTTP 503)", status=503)
        PROVIDER_REQUESTS.labels(self.name, endpoint, "ok").inc()

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Quotes for many symbols in one call."""
        self._check("quote")
        self.batches.append(list(symbols))
        for s in symbols:
            self.calls["quote", s] += 1
        return await self.inner.quote(symbols)

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Daily bars."""
        self._check("history")
        self.calls["history", symbol] += 1
        return await self.inner.history(symbol, start, end)

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual statements."""
        self._check("fundamentals")
        self.calls["fundamentals", symbol] += 1
        return await self.inner.fundamentals(symbol)

    async def profile(self, symbol: str) -> Profile:
        """Company profile."""
        self._check("profile")
        self.calls["profile", symbol] += 1
        return await self.inner.profile(symbol)

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Symbol search (not counted: it is a directory lookup, not market data)."""
        return await self.inner.search(query, limit)

    def endpoint_calls(self, endpoint: str) -> Counter[str]:
        """Calls of one endpoint per symbol."""
        return Counter({s: n for (e, s), n in self.calls.items() if e == endpoint})
