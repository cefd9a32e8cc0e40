"""Unit tests of the individual rules: Lynch categories, growth windows, split guards, proxies."""

from __future__ import annotations

import dataclasses

import pytest

from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.analysts.basic import rsi_fraction
from stockdash.analysis.analysts.peter_lynch import classify, growth_fraction, peg_fraction
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import cagr, compute_metrics, ema_series, macd, rsi_wilder
from stockdash.market.types import FundamentalsYear
from tests.analysis.analysis_builders import make_stock, make_year
from tests.analysis.analysis_reference import log_linear_growth


def with_net_income(values: list[float], **extra: float | None) -> list[FundamentalsYear]:
    return [
        make_year(i, net_income=v * 1e6, eps_diluted=None, **extra) for i, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("net_income", "sector", "industry", "expected"),
    [
        ([100, 102, 104, 106, 108], "Technology", "Application Software", "slow_grower"),  # 1.9%
        ([100, 110, 120, 130, 140], "Technology", "Application Software", "stalwart"),  # 8.8%
        ([100, 115, 130, 150, 170], "Technology", "Application Software", "stalwart"),  # 14.2%
        ([100, 130, 170, 220, 290], "Technology", "Application Software", "fast_grower"),  # 30.5%
        # Two sharp drops alone no longer make a cyclical: the industry must be cyclical.
        ([100, 70, 120, 80, 130], "Technology", "Application Software", "stalwart"),  # 6.8%
        ([100, 110, 70, 110, 130], "Energy", "Oil & Gas Exploration & Production", "cyclical"),
        ([100, 110, 70, 110, 130], "Consumer Discretionary", "Automobile Manufacturers",
         "cyclical"),
        ([100, 110, 70, 110, 130], "Industrials", "Passenger Airlines", "cyclical"),
        ([100, 110, 70, 110, 130], "Materials", "Steel", "cyclical"),
        ([100, 110, 70, 110, 130], "Information Technology",
         "Semiconductor Materials & Equipment", "cyclical"),
        # A cyclical industry whose earnings never swung is classified by its growth.
        ([100, 108, 117, 126, 136], "Industrials", "Aerospace & Defense", "stalwart"),  # 8%
        # Fee-based pipelines are not cyclical even in the Energy sector.
        # Trend growth 5.4% (regression 5.4%, last-3-year CAGR 5.7%): slow grower, not cyclical.
        ([100, 110, 70, 110, 130], "Energy", "Oil & Gas Storage & Transportation", "slow_grower"),
        # Banks, telecoms and utilities with a bad year are not cyclicals (NVDA/JPM/VZ/NEE).
        ([100, 110, 70, 110, 130], "Financials", "Diversified Banks", "slow_grower"),
        ([100, 70, 95, 90, 100], "Communication Services", "Integrated Telecommunication Services",
         "slow_grower"),
        ([100, 110, 70, 110, 130], "Utilities", "Electric Utilities", "slow_grower"),
        ([100, 110, -20, 50, 90], "Technology", "Application Software", "turnaround"),
        ([100, 110, 120, 130, -10], "Technology", "Application Software", "turnaround"),
        # In a cyclical industry a loss is part of the cycle, not a turnaround.
        ([100, 110, -20, 50, 90], "Materials", "Steel", "cyclical"),
        ([-10, -20, -5, -3, -1], "Technology", "Application Software", "unclassified"),
    ],
)  # fmt: skip
def test_lynch_categories(
    net_income: list[float], sector: str, industry: str, expected: str
) -> None:
    stock = make_stock(years=with_net_income(net_income), sector=sector, industry=industry)
    category, rule = classify(compute_metrics(stock))
    assert category == expected, rule


def test_cyclical_industry_with_too_few_years_is_cyclical() -> None:
    stock = make_stock(years=with_net_income([100, 110]), sector="Materials", industry="Steel")
    category, rule = classify(compute_metrics(stock))
    assert category == "cyclical" and "too few fiscal years" in rule


def test_fast_earnings_without_sales_growth_is_not_a_fast_grower() -> None:
    """A depressed base year lifts EPS growth; sales growth then decides (Lynch checks sales)."""
    ni = [100, 130, 170, 220, 290]
    flat = [make_year(i, net_income=v * 1e6, eps_diluted=None, revenue=1000e6)
            for i, v in enumerate(ni)]  # fmt: skip
    category, rule = classify(compute_metrics(make_stock(years=flat)))
    assert category == "slow_grower" and "sales grow" in rule
    modest = [make_year(i, net_income=v * 1e6, eps_diluted=None, revenue=1000e6 * 1.07**i)
              for i, v in enumerate(ni)]  # fmt: skip
    assert classify(compute_metrics(make_stock(years=modest)))[0] == "stalwart"


def test_asset_play_when_price_is_below_book() -> None:
    stock = make_stock(years=with_net_income([100, 105, 110, 115, 120]))
    stock.quote = dataclasses.replace(stock.quote, price_to_book=0.8)
    category, rule = classify(compute_metrics(stock))
    assert category == "asset_play" and "0.80" in rule


def test_peg_fraction_breakpoints() -> None:
    assert [peg_fraction(p) for p in (0.3, 0.5, 1.0, 1.5, 2.0, 3.0)] == [
        1.0, 1.0, 0.75, 0.375, 0.0, 0.0
    ]  # fmt: skip


def test_growth_after_losses_needs_three_years_of_recovery() -> None:
    recent = compute_metrics(make_stock(years=with_net_income([-10, -5, 20, 30, 40])))
    assert recent.net_income_cagr is None and recent.earnings_growth_undefined
    older = compute_metrics(make_stock(years=with_net_income([-10, 20, 25, 30, 40])))
    # Trend growth from the first profitable year: min(log-linear regression, 3-year CAGR).
    regression = log_linear_growth([2021, 2022, 2023, 2024], [20, 25, 30, 40])
    assert older.net_income_cagr == pytest.approx(min(regression, (40 / 20) ** (1 / 3) - 1))
    assert regression < (40 / 20) ** (1 / 3) - 1


def test_growth_from_a_trough_is_capped_by_the_recent_trend() -> None:
    """TSLA-like EPS: a trough start year no longer earns full growth marks."""
    m = compute_metrics(make_stock(years=with_net_income([20, 160, 360, 430, 110])))
    three_year = (110 / 160) ** (1 / 3) - 1  # 2021 -> 2024: falling
    assert m.net_income_cagr == pytest.approx(three_year)
    assert m.net_income_cagr < 0 < (110 / 20) ** (1 / 4) - 1  # end points said +53% a year


def test_split_suspected_eps_falls_back_to_net_income_growth() -> None:
    years = [make_year(i) for i in range(3)] + [
        make_year(3, eps_diluted=1.288659793814433 / 4, shares_outstanding=388e6),
        make_year(4, eps_diluted=1.5625 / 4, shares_outstanding=384e6),
    ]
    m = compute_metrics(make_stock(years=years))
    assert m.eps_cagr is None and "split" in m.why_missing("eps_cagr")
    assert m.earnings_growth_source == "net income trend growth"
    assert m.shares_cagr is None


def test_cagr_and_indicator_edges() -> None:
    assert cagr(100, 121, 2) == pytest.approx(0.1)
    assert cagr(-1, 121, 2) is None and cagr(100, 121, 0) is None
    assert rsi_wilder([float(i) for i in range(1, 30)]) == 100.0
    assert rsi_wilder([5.0] * 30) == 50.0
    assert rsi_wilder([1.0] * 14) is None
    assert ema_series([1.0, 2.0, 3.0], 3) == [2.0]
    assert macd([1.0] * 33) is None and macd([1.0] * 34) == (0.0, 0.0, 0.0)


def test_buffett_uses_fcf_proxy_when_da_missing(ctx: MarketContext) -> None:
    years = [make_year(i, depreciation_amortization=None) for i in range(5)]
    a = run_analyst("warren_buffett", make_stock(years=years), ctx)
    owner = next(f for f in a.factors if f.name == "Owner earnings")
    assert owner.value == (190 - 45) * 1e6
    assert "proxy owner earnings = free cash flow" in owner.explanation


def test_negative_equity_years_earn_no_roe_credit() -> None:
    """HD/ORLY/SBUX: years below zero equity count as ROE 0, not as missing years."""
    years = [make_year(i, shareholders_equity=-50e6) for i in range(3)]
    years += [make_year(3, shareholders_equity=20e6), make_year(4, shareholders_equity=30e6)]
    m = compute_metrics(make_stock(years=years))
    assert m.roe_average == pytest.approx((0 + 0 + 0 + 125 / 20 + 150 / 30) / 5)


def test_rsi_and_lynch_growth_mappings_have_no_cliff() -> None:
    """A hair across an old threshold moves the points by a hair, not by half of them."""
    for threshold in (30.0, 40.0, 70.0, 80.0):
        assert abs(rsi_fraction(threshold + 1e-6) - rsi_fraction(threshold - 1e-6)) < 1e-6
    assert rsi_fraction(55.0) > 0.95 and rsi_fraction(15.0) < 0.02 and rsi_fraction(95.0) < 0.02
    assert growth_fraction(0.40 + 1e-9) == pytest.approx(growth_fraction(0.40), abs=1e-6)
    assert growth_fraction(0.50) == pytest.approx(0.8) and growth_fraction(0.9) == 0.6
