"""Provider-neutral market data types shared by every provider, the cache and the analysts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol, runtime_checkable

# "demo" is no longer produced (no value is invented any more); kept so older cached rows still load.
DataSource = Literal["snapshot", "polygon", "edgar", "yahoo", "demo"]


@dataclass(frozen=True, slots=True)
class Profile:
    """Static company description."""

    symbol: str
    name: str
    sector: str | None
    industry: str | None
    exchange: str | None
    market_cap: float | None
    cik: str | None = None
    source: DataSource = "snapshot"


@dataclass(frozen=True, slots=True)
class Quote:
    """Latest price and key statistics for one symbol.

    `price` is None when no source has a real price (nothing is invented); `note` then says why.
    `as_of` is the date of the close the price is.
    """

    symbol: str
    price: float | None
    previous_close: float | None
    change: float | None
    change_percent: float | None
    volume: float | None
    market_cap: float | None
    pe_ratio: float | None
    eps: float | None
    dividend_yield: float | None  # fraction, 0.012 == 1.2 %
    week52_high: float | None
    week52_low: float | None
    ebitda: float | None
    price_to_sales: float | None
    price_to_book: float | None
    as_of: date
    source: DataSource = "snapshot"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    """One daily bar; open/high/low/volume are None where the source has closes only."""

    date: date
    open: float | None
    high: float | None
    low: float | None
    close: float
    volume: float | None


@dataclass(frozen=True, slots=True)
class FundamentalsYear:
    """One fiscal year of annual statements in USD (shares in units, per-share in USD).

    Any field is None when the source does not report it; never invent a value.
    `filed` is the date the figures became public (or a stated estimate, see `filed_estimated`).
    `sources` names, per non-null field, the data set (and adjustment) it came from.
    """

    fiscal_year: int
    period_end: date
    filed: date
    filed_estimated: bool
    revenue: float | None = None
    gross_profit: float | None = None
    operating_income: float | None = None
    net_income: float | None = None
    eps_diluted: float | None = None
    operating_cash_flow: float | None = None
    capital_expenditure: float | None = None  # positive outflow
    free_cash_flow: float | None = None
    depreciation_amortization: float | None = None
    total_debt: float | None = None
    cash: float | None = None
    shareholders_equity: float | None = None
    total_assets: float | None = None
    shares_outstanding: float | None = None
    dividends_per_share: float | None = None
    source: DataSource = "snapshot"
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One symbol search result."""

    symbol: str
    name: str
    exchange: str | None = None
    sector: str | None = None


@dataclass(slots=True)
class StockData:
    """Everything the analysts need about one symbol, as of one date."""

    profile: Profile
    quote: Quote
    history: list[Bar] = field(default_factory=list)  # oldest first
    fundamentals: list[FundamentalsYear] = field(default_factory=list)  # oldest first


@runtime_checkable
class MarketDataProvider(Protocol):
    """One source of market data; every method is async and may raise ProviderError."""

    name: str

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Latest quotes for many symbols in as few upstream calls as possible."""
        ...

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Daily bars, oldest first, between start and end inclusive."""
        ...

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual statements, oldest first, as many years as the source has."""
        ...

    async def profile(self, symbol: str) -> Profile:
        """Company profile."""
        ...

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Symbols whose ticker starts with, or whose name contains, the query."""
        ...


@runtime_checkable
class SourcedSeries(Protocol):
    """A provider that can say which underlying source answered (a live one with a fallback)."""

    async def history_sourced(
        self, symbol: str, start: date | None, end: date | None
    ) -> tuple[list[Bar], str]:
        """Daily bars and the name of the provider that supplied them."""
        ...

    async def fundamentals_sourced(self, symbol: str) -> tuple[list[FundamentalsYear], str]:
        """Annual statements and the name of the provider that supplied them."""
        ...


class ProviderError(Exception):
    """An upstream market data provider failed or does not know the symbol."""

    def __init__(self, provider: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.status = status


class UnknownSymbolError(ProviderError):
    """The provider does not know this symbol."""
