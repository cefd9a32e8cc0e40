"""Every analyst's numbers can be recomputed from the response's numeric factors alone."""

from __future__ import annotations

import pytest

from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.context import MarketContext
from stockdash.analysis.schemas import Analysis
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import factor_floats
from tests.analysis.analysis_reference import logistic, owner_earnings_value


def points(analysis: Analysis, name: str) -> float:
    return next(f.points for f in analysis.factors if f.name == name)


def test_buffett_intrinsic_value_from_factors(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("warren_buffett", stock, ctx)
    ni, da, capex, owner = factor_floats(
        a, "Net income", "Depreciation & amortisation", "Capital expenditure", "Owner earnings"
    )
    assert owner == ni + da - capex
    growth, discount, terminal, shares, years = factor_floats(
        a, "Owner-earnings growth", "Discount rate", "Terminal growth", "Shares outstanding",
        "Projection years",
    )  # fmt: skip
    assert years == 10.0
    (raw_growth,) = factor_floats(a, "Historical earnings growth")
    assert growth == min(max(raw_growth, -0.05), 0.08)
    (per_share, price) = factor_floats(a, "Intrinsic value per share", "Price")
    expected = owner_earnings_value(owner, growth, discount, terminal, shares)
    assert per_share == pytest.approx(expected, rel=1e-9)
    (margin,) = factor_floats(a, "Margin of safety")
    assert margin == pytest.approx(1 - price / per_share, rel=1e-12)
    assert points(a, "Margin of safety") == pytest.approx(20 * logistic(margin, 0.0, 0.30))


def test_buffett_roe_factors_from_the_per_year_details(
    stock: StockData, ctx: MarketContext
) -> None:
    a = run_analyst("warren_buffett", stock, ctx)
    assert a.details is not None
    roes = [row["roe"] for row in a.details["roe_by_year"]]
    assert [row["fiscal_year"] for row in a.details["roe_by_year"]] == [
        2020,
        2021,
        2022,
        2023,
        2024,
    ]
    assert points(a, "ROE level") == pytest.approx(
        15 * min(max((sum(roes) / 5 - 0.05) / 0.10, 0), 1)
    )
    credit = sum(logistic(r, 0.10, 0.20) for r in roes) / len(roes)
    assert points(a, "ROE consistency") == pytest.approx(10 * credit, rel=1e-12)


def test_basic_raw_inputs_are_numbers(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("basic", stock, ctx)
    price, ma50, ma200, pe, median = factor_floats(
        a, "Price", "50-day moving average", "200-day moving average", "P/E", "Sector median P/E"
    )
    gap50, gap200, relative = factor_floats(a, "Price vs 50-day MA", "Price vs 200-day MA",
                                      "P/E vs sector median")  # fmt: skip
    assert gap50 == pytest.approx(price / ma50 - 1, rel=1e-12)
    assert gap200 == pytest.approx(price / ma200 - 1, rel=1e-12)
    assert relative == pytest.approx(pe / median, rel=1e-12)
    high, low, position = factor_floats(a, "52-week high", "52-week low", "52-week range position")
    assert position == pytest.approx((price - low) / (high - low), rel=1e-12)
    line, signal, histogram = factor_floats(a, "MACD line", "MACD signal line", "MACD(12,26,9)")
    assert histogram == pytest.approx(line - signal, rel=1e-12)


def test_lynch_raw_inputs_are_numbers(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("peter_lynch", stock, ctx)
    pe, growth, dividend_yield = factor_floats(a, "P/E", "Earnings growth used", "Dividend yield")
    peg, ratio = factor_floats(a, "PEG", "Dividend-adjusted PEG")
    assert peg == pytest.approx(pe / (growth * 100), rel=1e-12)
    assert ratio == pytest.approx((growth * 100 + dividend_yield * 100) / pe, rel=1e-12)
    (swings,) = factor_floats(a, "Earnings swings")
    assert swings == 0.0  # net income 100..150 never fell > 20% (130 -> 125 is -4%) nor was a loss
