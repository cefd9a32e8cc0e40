"""Golden tests: every analyst on the hand-built company vs independently computed numbers."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import compute_metrics
from stockdash.analysis.schemas import Analysis
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import (
    AS_OF,
    ASSETS,
    CAPEX,
    DA,
    DEBT,
    DPS,
    EQUITY,
    GROSS,
    NET_INCOME,
    OCF,
    OPERATING,
    REVENUE,
    SECTOR_PE,
    SHARES,
    business_days,
    synthetic_closes,
)
from tests.analysis.analysis_reference import (
    blume,
    dcf_per_share,
    logistic,
    macd,
    owner_earnings_value,
    ramp,
    sma,
    trend_growth,
    volatility,
    wacc,
    wilder_rsi,
)

CLOSES = synthetic_closes()
PRICE = CLOSES[-1]
EPS = [n / s for n, s in zip(NET_INCOME, SHARES, strict=True)]
YEARS = [2020, 2021, 2022, 2023, 2024]
# Growth is the trend (regression) capped by the last three years' CAGR, never two end points.
EPS_CAGR = trend_growth(YEARS, EPS)
REVENUE_GROWTH = trend_growth(YEARS, [float(r) for r in REVENUE])
BETA = blume(1.5)  # the fixture's index makes the raw OLS beta exactly 1.5
COST_OF_EQUITY = 0.04 + BETA * 0.05
FCF_NORMALISED = sum(o - c for o, c in zip(OCF[-3:], CAPEX[-3:], strict=True)) / 3 * 1e6
PE = PRICE / EPS[-1]
YIELD = DPS[-1] / PRICE


def by_name(analysis: Analysis) -> dict[str, tuple[object, float, float]]:
    return {f.name: (f.value, f.points, f.max_points) for f in analysis.factors}


def check_score(analysis: Analysis, expected_points: float, expected_max: float) -> None:
    assert analysis.score == round(expected_points / expected_max * 100, 2)
    recomputed = sum(f.points for f in analysis.factors) / sum(
        f.max_points for f in analysis.factors
    )
    assert analysis.score == round(recomputed * 100, 2)


def test_metrics_match_reference(stock: StockData, ctx: MarketContext) -> None:
    m = compute_metrics(stock, ctx.index_returns)
    assert m.sma50 == pytest.approx(sma(CLOSES, 50), rel=1e-12)
    assert m.sma200 == pytest.approx(sma(CLOSES, 200), rel=1e-12)
    assert m.rsi14 == pytest.approx(wilder_rsi(CLOSES), rel=1e-12)
    line, signal = macd(CLOSES)
    assert m.macd == pytest.approx(line, rel=1e-9)
    assert m.macd_signal == pytest.approx(signal, rel=1e-9)
    assert m.volatility == pytest.approx(volatility(CLOSES), rel=1e-9)
    assert m.beta_raw == pytest.approx(1.5, rel=1e-9) and m.beta_method == "daily"
    assert m.beta == pytest.approx(BETA, rel=1e-9)
    assert m.week52_high == pytest.approx(max(c * 1.01 for c in CLOSES))  # 260 weekdays < 1 year
    assert m.roe == pytest.approx(150 / 800)
    assert m.equity_to_assets == pytest.approx(800 / 9100)
    assert m.roa_average == pytest.approx(
        sum(n / a for n, a in zip(NET_INCOME, ASSETS, strict=True)) / 5
    )
    assert m.debt_to_equity == pytest.approx(0.2)
    assert m.fcf == pytest.approx((190 - 45) * 1e6)
    assert m.fcf_normalised == pytest.approx(FCF_NORMALISED) and m.fcf_normalised_years == 3
    assert m.net_debt == pytest.approx((160 - 90) * 1e6)
    assert m.revenue_cagr == pytest.approx(REVENUE_GROWTH)
    assert m.eps_cagr == pytest.approx(EPS_CAGR)
    assert m.shares_cagr == pytest.approx(trend_growth(YEARS, [float(x) for x in SHARES]))
    assert m.week52_source == "bars" and m.valuation_type == "general"
    assert m.debt_basis == "total" and m.shares_note is None
    assert m.pe == pytest.approx(PE)
    assert m.dividend_yield == pytest.approx(YIELD)
    assert m.missing == {}


def test_basic_golden(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("basic", stock, ctx)
    f = by_name(a)
    sma50, sma200, rsi = sma(CLOSES, 50), sma(CLOSES, 200), wilder_rsi(CLOSES)
    line, signal = macd(CLOSES)
    vol = volatility(CLOSES)
    start = AS_OF - timedelta(days=365)
    days = business_days(AS_OF, len(CLOSES))
    window = [c for d, c in zip(days, CLOSES, strict=True) if d > start]
    high, low = max(c * 1.01 for c in window), min(c * 0.99 for c in window)
    expected = {
        "Price vs 50-day MA": 10 * ramp(PRICE / sma50 - 1, -0.05, 0.05),
        "Price vs 200-day MA": 15 * ramp(PRICE / sma200 - 1, -0.10, 0.10),
        # Smooth plateau: logistic rise 25 -> 45 times logistic fall 65 -> 85.
        "RSI-14": 10 * logistic(rsi, 25, 45) * logistic(-rsi, -85, -65),
        # Smooth in the histogram and the MACD line relative to the price.
        "MACD(12,26,9)": 5 * logistic((line - signal) / PRICE, -0.005, 0.005)
        + 5 * logistic(line / PRICE, -0.02, 0.02),
        "Annualised volatility": 10 * ramp(vol, 0.60, 0.20),
        "52-week range position": 10 * (PRICE - low) / (high - low),
        "Drawdown from 52-week high": 10 * ramp(PRICE / high - 1, -0.30, 0.0),
        "P/E vs sector median": 15 * ramp(PE / SECTOR_PE, 1.5, 0.8),
        "Earnings growth": 10 * ramp(EPS_CAGR, 0.0, 0.15),
    }
    for name, points in expected.items():
        assert f[name][1] == pytest.approx(points, abs=1e-9), name
    assert f["RSI-14"][0] == pytest.approx(rsi)
    check_score(a, sum(expected.values()), 100)
    assert a.confidence == 1.0


def buffett_intrinsic_per_share() -> float:
    owner = (NET_INCOME[-1] + DA[-1] - CAPEX[-1]) * 1e6
    # The DCF's CAPM cost of equity, no longer a flat 10%.
    return owner_earnings_value(owner, min(EPS_CAGR, 0.08), COST_OF_EQUITY, 0.025, SHARES[-1] * 1e6)


def test_buffett_golden(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("warren_buffett", stock, ctx)
    f = by_name(a)
    assert f["Discount rate"][0] == pytest.approx(COST_OF_EQUITY, rel=1e-12)
    roes = [n / e for n, e in zip(NET_INCOME, EQUITY, strict=True)]
    margins = [g / r for g, r in zip(GROSS, REVENUE, strict=True)]
    mean = sum(margins) / 5
    stdev = math.sqrt(sum((x - mean) ** 2 for x in margins) / 5)
    iv = buffett_intrinsic_per_share()
    margin_of_safety = 1 - PRICE / iv
    rising = sum(NET_INCOME[i] > NET_INCOME[i - 1] for i in range(1, 5)) / 4
    fcf = [o - c for o, c in zip(OCF, CAPEX, strict=True)]
    expected = {
        "ROE level": 15 * ramp(sum(roes) / 5, 0.05, 0.15),
        "ROE consistency": 10 * sum(logistic(r, 0.10, 0.20) for r in roes) / 5,
        "Operating margin": 10 * ramp(OPERATING[-1] / REVENUE[-1], 0.05, 0.15),
        "Debt/equity": 10 * ramp(DEBT[-1] / EQUITY[-1], 1.5, 0.5),
        "Earnings consistency": 10 * (0.5 * 1.0 + 0.5 * rising),
        "FCF consistency": 10 * sum(x > 0 for x in fcf) / 5,
        "Gross-margin stability": 10 * ramp(stdev, 0.10, 0.02),
        "Share-count trend": 5 * ramp(trend_growth(YEARS, [float(x) for x in SHARES]), 0.03, -0.01),
        "Margin of safety": 20 * logistic(margin_of_safety, 0.0, 0.30),
    }
    for name, points in expected.items():
        assert f[name][1] == pytest.approx(points, abs=1e-9), name
    assert f["Intrinsic value per share"][0] == pytest.approx(iv, rel=1e-12)
    assert f["Owner earnings"][0] == pytest.approx(133e6)
    assert f["Earnings consistency"][1] == pytest.approx(8.75)
    check_score(a, sum(expected.values()), 100)


def test_lynch_golden(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("peter_lynch", stock, ctx)
    f = by_name(a)
    assert 0.06 <= EPS_CAGR < 0.20
    assert f["Lynch category"][0] == "stalwart"  # EPS trend growth is in 6-20%
    peg = PE / (EPS_CAGR * 100)
    assert 1 < peg < 2
    dividend_ratio = (EPS_CAGR * 100 + YIELD * 100) / PE
    expected = {
        "PEG": 25 * 0.75 * (2 - peg),
        "Dividend-adjusted PEG": 20 * ramp(dividend_ratio, 1.0, 2.0),
        "Debt/equity": 15 * ramp(0.2, 1.0, 0.33),
        "Earnings consistency": 25 * (0.5 + 0.5 * 0.75),
        "Earnings growth": 15 * EPS_CAGR / 0.20,
    }
    for name, points in expected.items():
        assert f[name][1] == pytest.approx(points, abs=1e-9), name
    assert f["PEG"][0] == pytest.approx(peg)
    assert f["Dividend-adjusted PEG"][0] == pytest.approx(dividend_ratio)
    check_score(a, sum(expected.values()), 100)


def test_dcf_golden(stock: StockData, ctx: MarketContext) -> None:
    """FCFF DCF at a WACC: E = price x 96m shares, D = 160m, Re = 4% + 1.5 x 5%, Rd = 4% + 1.5%."""
    a = run_analyst("dcf_math", stock, ctx)
    f = by_name(a)
    equity, debt = PRICE * SHARES[-1] * 1e6, DEBT[-1] * 1e6
    r = wacc(0.04, BETA, 0.05, 0.015, 0.21, equity, debt)
    assert 0.09 < r < COST_OF_EQUITY  # between the after-tax cost of debt and the cost of equity
    g1 = REVENUE_GROWTH
    fcf, net_debt, shares = FCF_NORMALISED, 70e6, 96e6
    base = dcf_per_share(fcf, g1, 0.025, r, net_debt, shares)
    bear = dcf_per_share(fcf, g1 * 0.5, 0.025, r + 0.02, net_debt, shares)
    bull = dcf_per_share(fcf, g1 * 1.5, 0.025, r - 0.01, net_debt, shares)
    weighted = 0.25 * bear + 0.5 * base + 0.25 * bull
    assert f["Value per share"][0] == pytest.approx(base, rel=1e-9)
    assert f["Bear scenario value"][0] == pytest.approx(bear, rel=1e-9)
    assert f["Bull scenario value"][0] == pytest.approx(bull, rel=1e-9)
    assert f["Probability-weighted value"][0] == pytest.approx(weighted, rel=1e-9)
    assert f["Discount rate"][0] == pytest.approx(r, rel=1e-9)
    assert f["WACC"][0] == pytest.approx(r, rel=1e-9)
    assert f["Cost of equity"][0] == pytest.approx(COST_OF_EQUITY, rel=1e-12)
    assert f["Valuation model"][0] == "fcff_dcf"
    assert f["Cost of debt"][0] == pytest.approx(0.055, rel=1e-12)
    assert f["Debt weight"][0] == pytest.approx(debt / (debt + equity), rel=1e-12)
    assert f["Equity value"][0] == pytest.approx(base * shares, rel=1e-9)
    expected = {
        # Smooth in ln(value / price): 12% at half the price, 88% at twice it (bear: 0.5x..1x).
        "Upside to base-case value": 50
        * logistic(math.log(base / PRICE), -math.log(2), math.log(2)),
        "Upside to probability-weighted value": 30
        * logistic(math.log(weighted / PRICE), -math.log(2), math.log(2)),
        "Bear-case downside": 20 * logistic(math.log(bear / PRICE), -math.log(2), 0.0),
    }
    for name, points in expected.items():
        assert f[name][1] == pytest.approx(points, abs=1e-9), name
    check_score(a, sum(expected.values()), 100)
    assert a.details is not None
    grid = a.details["sensitivity"]["per_share"]
    assert grid[1][1] == pytest.approx(base, rel=1e-9)
    assert grid[0][2] == pytest.approx(dcf_per_share(fcf, g1, 0.03, r - 0.01, net_debt, shares))
    assert grid[2][0] == pytest.approx(dcf_per_share(fcf, g1, 0.02, r + 0.01, net_debt, shares))
