"""Builders for the analyst tests: a deterministic hand-built company (5 years, 260 bars)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from stockdash.analysis.schemas import Analysis
from stockdash.market.types import Bar, FundamentalsYear, Profile, Quote, StockData

AS_OF = date(2025, 6, 30)
M = 1e6
REVENUE = [1000, 1100, 1200, 1300, 1500]
GROSS = [400, 450, 480, 520, 600]
OPERATING = [150, 170, 190, 200, 240]
NET_INCOME = [100, 110, 130, 125, 150]
SHARES = [100, 99, 98, 97, 96]
OCF = [130, 140, 160, 165, 190]
CAPEX = [30, 35, 40, 40, 45]
DA = [20, 22, 24, 25, 28]
DEBT = [200, 190, 180, 170, 160]
CASH = [50, 60, 70, 80, 90]
EQUITY = [600, 650, 700, 760, 800]
ASSETS = [7000, 7500, 8000, 8600, 9100]  # equity/assets ~8.8%, a bank-like balance sheet
DPS = [0.5, 0.55, 0.6, 0.65, 0.7]
SECTOR = "Technology"
SECTOR_PE = 20.0
BETA = 1.5


def business_days(end: date, count: int) -> list[date]:
    """The last `count` weekdays up to and including end."""
    days: list[date] = []
    day = end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def synthetic_closes(count: int = 260) -> list[float]:
    """A gently rising, oscillating deterministic price path."""
    return [20.0 * (1 + 0.0008 * i) + 0.8 * math.sin(i / 5) for i in range(count)]


def make_bars(closes: list[float], end: date = AS_OF) -> list[Bar]:
    """Bars with high/low 1% around the close."""
    return [
        Bar(date=d, open=c, high=c * 1.01, low=c * 0.99, close=c, volume=1e6)
        for d, c in zip(business_days(end, len(closes)), closes, strict=True)
    ]


def make_year(i: int, **overrides: float | None) -> FundamentalsYear:
    """Fiscal year 2020 + i of the hand-built company, with optional field overrides."""
    fields: dict[str, float | None] = {
        "revenue": REVENUE[i] * M,
        "gross_profit": GROSS[i] * M,
        "operating_income": OPERATING[i] * M,
        "net_income": NET_INCOME[i] * M,
        "eps_diluted": NET_INCOME[i] / SHARES[i],
        "operating_cash_flow": OCF[i] * M,
        "capital_expenditure": CAPEX[i] * M,
        "depreciation_amortization": DA[i] * M,
        "total_debt": DEBT[i] * M,
        "cash": CASH[i] * M,
        "shareholders_equity": EQUITY[i] * M,
        "total_assets": ASSETS[i] * M,
        "shares_outstanding": SHARES[i] * M,
        "dividends_per_share": DPS[i],
    }
    fields.update(overrides)
    year = 2020 + i
    return FundamentalsYear(
        fiscal_year=year,
        period_end=date(year, 12, 31),
        filed=date(year + 1, 2, 20),
        filed_estimated=False,
        **fields,  # type: ignore[arg-type]
    )


def make_stock(
    closes: list[float] | None = None,
    years: list[FundamentalsYear] | None = None,
    sector: str | None = SECTOR,
    symbol: str = "HAND",
    industry: str | None = None,
) -> StockData:
    """The hand-built company: 5 fiscal years and 260 synthetic bars."""
    closes = synthetic_closes() if closes is None else closes
    bars = make_bars(closes) if closes else []
    price = closes[-1] if closes else 25.0
    quote = Quote(
        symbol=symbol,
        price=price,
        previous_close=None,
        change=None,
        change_percent=None,
        volume=None,
        market_cap=price * SHARES[-1] * M,
        pe_ratio=None,
        eps=None,
        dividend_yield=None,
        week52_high=None,
        week52_low=None,
        ebitda=None,
        price_to_sales=None,
        price_to_book=None,
        as_of=AS_OF,
    )
    profile = Profile(
        symbol=symbol, name="Hand Built Inc.", sector=sector, industry=industry, exchange="NYSE",
        market_cap=quote.market_cap,
    )  # fmt: skip
    fundamentals = [make_year(i) for i in range(5)] if years is None else years
    return StockData(profile=profile, quote=quote, history=bars, fundamentals=fundamentals)


def index_for(stock: StockData, beta: float = BETA) -> dict[date, float]:
    """Index returns equal to the stock's returns / beta, so the OLS beta is exactly `beta`."""
    bars = stock.history
    return {
        bars[i].date: (bars[i].close / bars[i - 1].close - 1.0) / beta for i in range(1, len(bars))
    }


def factor_values(analysis: Analysis) -> dict[str, object]:
    """Every factor's value by name."""
    return {f.name: f.value for f in analysis.factors}


def factor_floats(analysis: Analysis, *names: str) -> list[float]:
    """The named factor values, each required to be a number (not rounded text)."""
    found = factor_values(analysis)
    out = []
    for name in names:
        value = found[name]
        assert isinstance(value, float), (name, value)
        out.append(value)
    return out
