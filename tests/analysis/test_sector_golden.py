"""Golden tests per sector type: each value against an independent calculation in the test.

Hand-built companies for an industrial, a bank, an insurer, a REIT and a utility (the same
statements, so only the sector decides the model); the real snapshot for the dual-class (BRK.B)
and post-split (BKNG) names, whose raw filings the test reads and corrects itself.
"""

from __future__ import annotations

import asyncio
import math
import statistics

import pytest

from stockdash.analysis.analysts import run_all, run_analyst
from stockdash.analysis.context import MarketContext, build_market_context, peer_beta_medians
from stockdash.analysis.metrics import compute_metrics
from stockdash.analysis.schemas import Analysis
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import (
    AS_OF,
    ASSETS,
    CAPEX,
    DA,
    DEBT,
    DPS,
    EQUITY,
    NET_INCOME,
    OCF,
    REVENUE,
    SHARES,
    factor_values,
    index_for,
    make_stock,
    make_year,
    synthetic_closes,
)
from tests.analysis.analysis_reference import (
    blume,
    dcf_per_share,
    excess_return_per_share,
    gordon_dividend_value,
    logistic,
    trend_growth,
    wacc,
)

PRICE = synthetic_closes()[-1]
# BRK-B as yfinance reported it on 2026-09-30 (shared data fundamentals-yfinance-snapshot-2026-09,
# from marcomazzon27-prog/analyst-snapshot): market cap, trailing P/E and EPS, and FY2022-25 net
# income and diluted EPS. Independent of the snapshot's quote, which has no market cap for BRK.B.
BRK_YF = {
    "marketCap": 1065966436352,
    "trailingPE": 12.514451,
    "trailingEps": 39.79,
    "net_income": [66968000000.0, 88995000000.0, 96223000000.0, -22759000000.0],
    "eps": [31.042016, 41.266687, 44.274689, -10.329338],
}
COST_OF_EQUITY = 0.04 + blume(1.5) * 0.05  # rf 4% + Blume beta x ERP 5%
G = 0.025  # min(2.5%, rf)
LN2 = math.log(2)


def expected_score(base: float, weighted: float, bear: float) -> float:
    """50/30/20 points, smooth in ln(value / price) (bear: 0.5x .. 1x the price)."""
    points = (
        50 * logistic(math.log(base / PRICE), -LN2, LN2)
        + 30 * logistic(math.log(weighted / PRICE), -LN2, LN2)
        + 20 * logistic(math.log(bear / PRICE), -LN2, 0.0)
    )
    return round(points, 2)


def sector_stock(sector: str, industry: str, **overrides: float | None) -> StockData:
    years = [make_year(i, **overrides) for i in range(5)]
    return make_stock(years=years, sector=sector, industry=industry)


def test_industrial_is_valued_on_normalised_free_cash_flow(ctx: MarketContext) -> None:
    a = run_analyst("dcf_math", sector_stock("Industrials", "Industrial Machinery"), ctx)
    v = factor_values(a)
    assert v["Valuation model"] == "fcff_dcf"
    fcf = sum(o - c for o, c in zip(OCF[-3:], CAPEX[-3:], strict=True)) / 3 * 1e6
    r = wacc(0.04, blume(1.5), 0.05, 0.015, 0.21, PRICE * SHARES[-1] * 1e6, DEBT[-1] * 1e6)
    g1 = trend_growth([2020, 2021, 2022, 2023, 2024], [float(x) for x in REVENUE])
    base = dcf_per_share(fcf, g1, G, r, 70e6, 96e6)
    bear = dcf_per_share(fcf, g1 * 0.5, G, r + 0.02, 70e6, 96e6)
    bull = dcf_per_share(fcf, g1 * 1.5, G, r - 0.01, 70e6, 96e6)
    assert v["Value per share"] == pytest.approx(base, rel=1e-9)
    assert a.score == expected_score(base, 0.25 * bear + 0.5 * base + 0.25 * bull, bear)


@pytest.mark.parametrize(
    "industry", ["Diversified Banks", "Regional Banks", "Property & Casualty Insurance"]
)
def test_banks_and_insurers_use_the_excess_return_model(industry: str, ctx: MarketContext) -> None:
    """Damodaran: equity = book + (ROE - cost of equity) x book / (cost - g); no cash flows."""
    stock = sector_stock("Financials", industry, capital_expenditure=None)
    result = run_all(stock, ctx)
    a = result["dcf_math"]
    v = factor_values(a)
    assert v["Valuation model"] == "excess_return"
    roe = sum(n / e for n, e in zip(NET_INCOME, EQUITY, strict=True)) / 5
    book, shares = EQUITY[-1] * 1e6, SHARES[-1] * 1e6
    assert v["Normalised ROE"] == pytest.approx(roe, rel=1e-12)
    assert v["Discount rate"] == pytest.approx(COST_OF_EQUITY, rel=1e-12)
    base = excess_return_per_share(book, roe, COST_OF_EQUITY, G, shares)
    bear = excess_return_per_share(book, roe, COST_OF_EQUITY + 0.02, G, shares)
    bull = excess_return_per_share(book, roe, COST_OF_EQUITY - 0.01, G, shares)
    assert v["Value per share"] == pytest.approx(base, rel=1e-12)
    assert v["Bear scenario value"] == pytest.approx(bear, rel=1e-12)
    assert a.score == expected_score(base, 0.25 * bear + 0.5 * base + 0.25 * bull, bear)
    assert "Base FCF" not in v and "WACC" not in v  # no cash-flow or debt step for a lender
    # Buffett and Lynch: equity/assets and return on assets instead of debt/equity.
    equity_to_assets = EQUITY[-1] / ASSETS[-1]
    roa = sum(n / a for n, a in zip(NET_INCOME, ASSETS, strict=True)) / 5
    buffett = {f.name: f for f in result["warren_buffett"].factors}
    lynch = {f.name: f for f in result["peter_lynch"].factors}
    for factors in (buffett, lynch):
        assert "Debt/equity" not in factors
        ea, ra = factors["Equity/assets"], factors["Return on assets"]
        assert ea.value == pytest.approx(equity_to_assets, rel=1e-12)
        assert ra.value == pytest.approx(roa, rel=1e-12)
        assert ea.points == pytest.approx(ea.max_points * logistic(equity_to_assets, 0.05, 0.10))
        assert ra.points == pytest.approx(ra.max_points * logistic(roa, 0.005, 0.015))
        for factor in (ea, ra):
            assert "smooth logistic" in (factor.benchmark or "")
    assert buffett["Equity/assets"].max_points == buffett["Return on assets"].max_points == 10
    assert "Operating margin" not in buffett
    details = result["warren_buffett"].details or {}
    assert [row["roa"] for row in details["roa_by_year"]] == pytest.approx(
        [n / a for n, a in zip(NET_INCOME, ASSETS, strict=True)], rel=1e-12
    )
    # Lynch: the two share the category's balance-sheet weight (stalwart 15).
    assert lynch["Lynch category"].value == "stalwart"
    assert lynch["Equity/assets"].max_points == lynch["Return on assets"].max_points == 7.5


def test_a_financial_without_total_assets_excludes_the_balance_sheet_factors(
    ctx: MarketContext,
) -> None:
    stock = sector_stock(
        "Financials", "Regional Banks", capital_expenditure=None, total_assets=None
    )
    result = run_all(stock, ctx)
    for model in ("warren_buffett", "peter_lynch"):
        factors = {f.name: f for f in result[model].factors}
        for name in ("Equity/assets", "Return on assets"):
            assert factors[name].max_points == 0 and factors[name].value is None, (model, name)
            assert "total assets" in factors[name].explanation, (model, name)


@pytest.mark.parametrize(
    ("sector", "industry"), [("Real Estate", "Retail REITs"), ("Utilities", "Electric Utilities")]
)
def test_reits_and_utilities_use_the_dividend_discount_model(
    sector: str, industry: str, ctx: MarketContext
) -> None:
    a = run_analyst("dcf_math", sector_stock(sector, industry), ctx)
    v = factor_values(a)
    assert v["Valuation model"] == "dividend_discount"
    dps = DPS[-1]
    base = gordon_dividend_value(dps, COST_OF_EQUITY, G)
    bear = gordon_dividend_value(dps, COST_OF_EQUITY + 0.02, G)
    bull = gordon_dividend_value(dps, COST_OF_EQUITY - 0.01, G)
    assert v["Value per share"] == pytest.approx(base, rel=1e-12)
    assert a.score == expected_score(base, 0.25 * bear + 0.5 * base + 0.25 * bull, bear)
    # The dividend's cover: FFO (net income + D&A) for a REIT, EPS for a utility.
    if sector == "Real Estate":
        earned = (NET_INCOME[-1] + DA[-1]) / SHARES[-1]
        assert v["FFO per share"] == pytest.approx(earned, rel=1e-12)
        assert v["Dividend / FFO"] == pytest.approx(dps / earned, rel=1e-12)
    else:
        earned = NET_INCOME[-1] / SHARES[-1]
        assert v["EPS"] == pytest.approx(earned, rel=1e-12)
        assert v["Dividend / earnings"] == pytest.approx(dps / earned, rel=1e-12)


def test_an_uncovered_or_uncheckable_reit_dividend_lowers_confidence(ctx: MarketContext) -> None:
    """The dividend discount value stays; confidence drops x0.8 with the reason stated."""
    covered = run_analyst("dcf_math", sector_stock("Real Estate", "Retail REITs"), ctx)
    no_da = sector_stock("Real Estate", "Retail REITs", depreciation_amortization=None)
    unchecked = run_analyst("dcf_math", no_da, ctx)
    uncovered = run_analyst(
        "dcf_math", sector_stock("Real Estate", "Retail REITs", dividends_per_share=3.0), ctx
    )
    assert factor_values(unchecked)["FFO per share"] is None
    assert unchecked.score == covered.score
    assert unchecked.confidence == pytest.approx(round(covered.confidence * 0.8, 3), abs=1e-3)
    assert "FFO cover cannot be checked" in unchecked.reasoning
    assert factor_values(uncovered)["Dividend / FFO"] == pytest.approx(
        3.0 / ((NET_INCOME[-1] + DA[-1]) / SHARES[-1]), rel=1e-12
    )
    assert uncovered.confidence == pytest.approx(round(covered.confidence * 0.8, 3), abs=1e-3)
    assert "not covered by FFO" in uncovered.reasoning


def test_a_reit_without_a_dividend_is_not_rated(ctx: MarketContext) -> None:
    a = run_analyst(
        "dcf_math", sector_stock("Real Estate", "Office REITs", dividends_per_share=None), ctx
    )
    assert a.score is None and a.signal == "not_rated" and a.not_rated_reason == "no_dividend"


def _real(symbols: tuple[str, ...]) -> tuple[dict[str, StockData], MarketContext]:
    snapshot = SnapshotProvider()

    async def load() -> dict[str, StockData]:
        quotes, profiles = snapshot.universe_quotes(), snapshot.universe_profiles()
        return {
            s: StockData(
                profile=profiles[s],
                quote=quotes[s],
                history=await snapshot.history(s, None, None),
                fundamentals=await snapshot.fundamentals(s),
            )
            for s in symbols
        }

    stocks = asyncio.run(load())
    return stocks, build_market_context(stocks.values(), as_of=snapshot.as_of())


def _by_name(a: Analysis) -> dict[str, object]:
    return factor_values(a)


def test_dual_class_eps_is_per_class_b_share() -> None:
    """BRK.B: the data's EPS is already per Class B share (1/1500 of an A share), so it is used as is.

    Independent evidence, yfinance's own figures (BRK_YF): net income / EPS gives ~2.16 B
    shares in every year, which times the price is the market cap yfinance quotes for BRK-B
    (1.066 T at 2026-09-30); Class A EPS / 1000 (the earlier assumption) would imply 1.5x that.
    """
    implied = [n / e for n, e in zip(BRK_YF["net_income"], BRK_YF["eps"], strict=True)]
    assert all(2.1e9 < count < 2.25e9 for count in implied)  # ~1.44 M A-equivalents x 1500
    yf_price = BRK_YF["marketCap"] / statistics.median(implied)
    assert BRK_YF["trailingPE"] * BRK_YF["trailingEps"] == pytest.approx(yf_price, rel=0.02)
    stocks, ctx = _real(("BRK.B", "JPM", "AAPL"))
    data = stocks["BRK.B"]
    latest = max(data.fundamentals, key=lambda y: y.period_end)
    assert latest.eps_diluted is not None and latest.net_income is not None
    assert latest.eps_diluted == pytest.approx(BRK_YF["eps"][0], rel=1e-4)  # FY2025, 31.04
    price = data.quote.price
    assert price is not None
    m = compute_metrics(data, ctx.index_returns)
    assert m.pe == pytest.approx(price / latest.eps_diluted, rel=1e-9)  # ~16, not ~24
    basic = _by_name(run_analyst("basic", data, ctx))
    assert basic["P/E"] == pytest.approx(price / latest.eps_diluted, rel=1e-9)
    # No share count is filed: net income / EPS stands in, stated, in Class B units.
    shares = latest.net_income / latest.eps_diluted
    assert m.shares_outstanding == pytest.approx(shares, rel=1e-9)
    assert m.shares_note is not None and m.shares_note.startswith("derived: net income")
    dcf = run_analyst("dcf_math", data, ctx)
    v = factor_values(dcf)
    book, roe, rate = v["Book equity"], v["Normalised ROE"], v["Discount rate"]
    assert isinstance(book, float) and isinstance(roe, float) and isinstance(rate, float)
    assert v["Value per share"] == pytest.approx(
        excess_return_per_share(book, roe, rate, min(0.025, ctx.risk_free_rate), shares), rel=1e-9
    )


def test_post_split_share_count_is_corrected_from_the_market_cap() -> None:
    """BKNG: the filing's pre-split count with the post-split price gave +4027% upside."""
    stocks, ctx = _real(("BKNG", "AAPL", "MSFT"))
    data = stocks["BKNG"]
    quote = data.quote
    latest = max(data.fundamentals, key=lambda y: y.period_end)
    assert quote.price and quote.market_cap and latest.shares_outstanding
    ratio = latest.shares_outstanding * quote.price / quote.market_cap
    assert ratio < 0.1  # the raw data really is off by a split
    m = compute_metrics(data, ctx.index_returns)
    assert m.shares_outstanding == pytest.approx(quote.market_cap / quote.price, rel=1e-12)
    assert m.shares_note is not None and "25:1 split" in m.shares_note
    a = run_analyst("dcf_math", data, ctx)
    v = factor_values(a)
    fcf, g1, gt, r, net_debt, shares = (
        float(v[k])  # type: ignore[arg-type]
        for k in (
            "Base FCF", "Stage-1 growth", "Terminal growth", "Discount rate", "Net debt", "Shares"
        )
    )  # fmt: skip
    assert shares == pytest.approx(quote.market_cap / quote.price, rel=1e-12)
    value = dcf_per_share(fcf, g1, gt, r, net_debt, shares)
    assert v["Value per share"] == pytest.approx(value, rel=1e-9)
    assert value < 3 * quote.price  # within the plausibility ceiling now
    assert "split" in {f.name: f.explanation for f in a.factors}["Shares"]


def _scaled_closes(index: list[float], k: float) -> list[float]:
    """Closes whose daily returns are exactly k x the index returns (raw beta k)."""
    closes = [20.0]
    for i in range(1, len(index)):
        closes.append(closes[-1] * (1 + k * (index[i] / index[i - 1] - 1)))
    return closes


def test_a_short_history_takes_the_industry_median_beta_else_the_sector_median() -> None:
    """Three measured peers make an industry median; with fewer, the sector's median is used."""
    index_closes = synthetic_closes()
    peers = [("Regional Banks", k) for k in (0.8, 1.2, 2.0)] + [
        ("Consumer Finance", k) for k in (0.5, 0.6)
    ]
    stocks = [
        make_stock(
            _scaled_closes(index_closes, k), sector="Financials", industry=ind, symbol=f"P{i}"
        )
        for i, (ind, k) in enumerate(peers)
    ]
    short = synthetic_closes(40)
    bank = make_stock(short, sector="Financials", industry="Regional Banks", symbol="NEWB")
    lender = make_stock(short, sector="Financials", industry="Consumer Finance", symbol="NEWL")
    index = index_for(make_stock(index_closes), beta=1.0)
    peer_betas = peer_beta_medians([*stocks, bank, lender], index)
    ctx = MarketContext(
        index_returns=index,
        sector_beta_median=peer_betas.sector,
        industry_beta_median=peer_betas.industry,
        as_of=AS_OF,
    )
    by_symbol = {s.profile.symbol: s for s in (bank, lender)}
    expected = {"NEWB": ("industry", blume(1.2)), "NEWL": ("sector", blume(0.8))}
    for symbol, (kind, beta) in expected.items():
        a = run_analyst("dcf_math", by_symbol[symbol], ctx)
        factor = {f.name: f for f in a.factors}["Beta"]
        assert factor.value == pytest.approx(beta, rel=1e-6), symbol
        assert factor.explanation.lower().startswith(f"{kind} median beta of"), factor.explanation
