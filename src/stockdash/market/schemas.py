"""Response bodies for market data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

Range = Literal["1m", "3m", "6m", "1y", "5y", "max"]


class SearchResult(BaseModel):
    """One symbol search hit."""

    symbol: str
    name: str
    exchange: str | None
    sector: str | None


class SearchResults(BaseModel):
    """Symbol search results."""

    data: list[SearchResult]
    count: int


class StockPublic(BaseModel):
    """A stock's latest quote and key statistics.

    `price` (and every figure derived from it) is null when no source has a real price; `price_note`
    then says why. `as_of` is the date of the close `price` is.
    """

    symbol: str
    name: str
    sector: str | None
    industry: str | None
    exchange: str | None
    price: float | None
    price_note: str | None
    change: float | None
    change_percent: float | None
    volume: float | None
    market_cap: float | None
    pe_ratio: float | None
    eps: float | None
    dividend_yield: float | None
    week52_high: float | None
    week52_low: float | None
    as_of: date
    source: str
    stale: bool
    last_updated: datetime


class BarPublic(BaseModel):
    """One daily bar (open/high/low/volume null where the source has closes only)."""

    date: date
    open: float | None
    high: float | None
    low: float | None
    close: float
    volume: float | None


class HistoryPublic(BaseModel):
    """Daily price history; `source` is the provider that supplied it."""

    symbol: str
    source: str
    range: Range
    stale: bool
    last_updated: datetime
    note: str | None
    bars: list[BarPublic]


class FundamentalsRow(BaseModel):
    """One fiscal year of annual statements, USD."""

    fiscal_year: int
    period_end: date
    filed: date
    filed_estimated: bool
    revenue: float | None
    gross_profit: float | None
    operating_income: float | None
    net_income: float | None
    eps_diluted: float | None
    operating_cash_flow: float | None
    capital_expenditure: float | None
    free_cash_flow: float | None
    depreciation_amortization: float | None
    total_debt: float | None
    cash: float | None
    shareholders_equity: float | None
    total_assets: float | None = None
    shares_outstanding: float | None
    dividends_per_share: float | None
    source: str
    sources: dict[str, str]


class FundamentalsPublic(BaseModel):
    """Annual fundamentals, newest first; `sources` on each row names each field's origin."""

    symbol: str
    source: str
    stale: bool
    last_updated: datetime
    currency: Literal["USD"] = "USD"
    units: str = "USD; shares in units; per-share values in USD"
    data: list[FundamentalsRow]
    count: int


class DataSourcesPublic(BaseModel):
    """Where the market data comes from."""

    provider: str
    as_of: date
    sources: list[dict[str, str]]
