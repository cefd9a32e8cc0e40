"""Missing data never crashes and always lowers confidence with a stated reason."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import get_args

import pytest

from stockdash.analysis.analysts import run_all
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import compute_metrics
from stockdash.analysis.schemas import Analysis, ModelName
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import make_stock, make_year

MODELS: tuple[ModelName, ...] = get_args(ModelName)


def excluded_names(a: Analysis) -> set[str]:
    return {f.name for f in a.factors if f.explanation.startswith("Not scored")}


def full(stock: StockData, ctx: MarketContext) -> dict[ModelName, Analysis]:
    return run_all(stock, ctx)


def test_bank_without_capex_or_operating_income(ctx: MarketContext) -> None:
    years = [
        make_year(i, capital_expenditure=None, operating_income=None, gross_profit=None,
                  depreciation_amortization=None)
        for i in range(5)
    ]  # fmt: skip
    result = run_all(make_stock(years=years, sector="Financials"), ctx)
    buffett = result["warren_buffett"]
    assert {"Operating margin", "FCF consistency", "Gross-margin stability"} <= excluded_names(
        buffett
    )
    owner = {f.name: f.explanation for f in buffett.factors}["Owner earnings"]
    assert "proxy owner earnings = net income" in owner
    assert buffett.confidence < 1.0
    dcf = result["dcf_math"]
    # No industry, so not valued as a bank: without capex or D&A there is no cash flow to value.
    assert dcf.score is None and dcf.signal == "not_rated" and dcf.confidence == 0.0
    assert dcf.not_rated_reason == "capex_unknown" and "capex" in dcf.summary


def test_negative_earnings(ctx: MarketContext) -> None:
    years = [make_year(i) for i in range(4)] + [make_year(4, net_income=-50e6, eps_diluted=-0.52)]
    result = run_all(make_stock(years=years), ctx)
    lynch = {f.name: f for f in result["peter_lynch"].factors}
    assert lynch["Lynch category"].value == "turnaround"
    assert lynch["PEG"].points == 0 and lynch["PEG"].max_points > 0
    basic = {f.name: f for f in result["basic"].factors}
    assert basic["P/E vs sector median"].points == 0
    for analysis in result.values():
        Analysis.model_validate_json(analysis.model_dump_json())


def test_one_year_of_history_lowers_confidence(stock: StockData, ctx: MarketContext) -> None:
    reference = full(stock, ctx)
    short = run_all(make_stock(years=[make_year(4)]), ctx)
    for model in ("warren_buffett", "peter_lynch", "dcf_math"):
        assert short[model].confidence < reference[model].confidence, model
    assert "Earnings consistency" in excluded_names(short["warren_buffett"])


def test_empty_price_history(stock: StockData, ctx: MarketContext) -> None:
    result = run_all(make_stock(closes=[]), ctx)
    basic = result["basic"]
    assert basic.confidence < full(stock, ctx)["basic"].confidence
    assert {"Price vs 50-day MA", "RSI-14", "MACD(12,26,9)"} <= excluded_names(basic)


def test_nothing_at_all(ctx: MarketContext) -> None:
    result = run_all(make_stock(closes=[], years=[], sector=None), ctx)
    for model in MODELS:
        # No price and no statements: every model declines instead of inventing a score.
        assert result[model].score is None and result[model].signal == "not_rated", model
        assert result[model].confidence == 0 and result[model].not_rated_reason, model
        assert "does not rate" in result[model].summary, model


@pytest.mark.parametrize("model", MODELS)
def test_future_filings_are_ignored(model: ModelName, ctx: MarketContext) -> None:
    """A year filed after the quote date must not influence the analysis (point-in-time)."""
    late = dataclasses.replace(make_year(4, net_income=9e9), filed=date(2026, 1, 1))
    with_late = run_all(make_stock(years=[make_year(i) for i in range(4)] + [late]), ctx)[model]
    without = run_all(make_stock(years=[make_year(i) for i in range(4)]), ctx)[model]
    assert with_late.score == without.score


PRICE_DEPENDENT = {
    "basic": {"Price vs 50-day MA", "Price vs 200-day MA", "52-week range position",
              "Drawdown from 52-week high", "P/E vs sector median"},
    "warren_buffett": {"Margin of safety"},
    "peter_lynch": {"PEG", "Dividend-adjusted PEG"},
    "dcf_math": {"Upside to base-case value", "Upside to probability-weighted value",
                 "Bear-case downside"},
}  # fmt: skip


def _no_real_price(stock: StockData, how: str) -> StockData:
    """The stock with a demo placeholder price (and demo key stats), or no price at all."""
    if how == "demo":
        stock.quote = dataclasses.replace(
            stock.quote, price=100.0, source="demo", pe_ratio=20.0, dividend_yield=0.02,
            week52_high=120.0, week52_low=80.0, price_to_book=0.5, market_cap=9.6e9,
        )  # fmt: skip
    else:
        stock.quote = dataclasses.replace(stock.quote, price=None)
    return stock


@pytest.mark.parametrize("how", ["demo", "none"])
def test_price_dependent_factors_need_a_real_price(how: str, ctx: MarketContext) -> None:
    """Without a real price (demo placeholder or None) nothing is computed from a price."""
    real = run_all(make_stock(closes=[]), ctx)
    result = run_all(_no_real_price(make_stock(closes=[]), how), ctx)
    for model, names in PRICE_DEPENDENT.items():
        analysis = result[model]
        if model in ("basic", "dcf_math"):
            # A price is a required input of these two: not rated rather than half-scored.
            assert analysis.score is None and analysis.not_rated_reason == "no_price", model
            assert "no real price" in analysis.summary, model
            continue
        factors = {f.name: f for f in analysis.factors}
        for name in names:
            assert factors[name].max_points == 0 and factors[name].value is None, (model, name)
            assert "no real price" in factors[name].explanation, (model, name)
        assert 100.0 not in [f.value for f in analysis.factors], model
        assert analysis.confidence < real[model].confidence, model
    lynch = {f.name: f.value for f in result["peter_lynch"].factors}
    assert lynch["Lynch category"] != "asset_play"  # the demo P/B of 0.5 is ignored
    assert lynch["P/E"] is None and lynch["Dividend yield"] is None


def test_a_recent_real_close_stands_in_for_a_missing_quote_price(ctx: MarketContext) -> None:
    stock = _no_real_price(make_stock(), "none")
    basic = {f.name: f for f in run_all(stock, ctx)["basic"].factors}
    assert basic["Price"].value == stock.history[-1].close
    assert basic["Price"].explanation == f"Source: last close of {stock.history[-1].date}."


def test_extreme_closes_give_missing_factors_not_nan(ctx: MarketContext) -> None:
    """Closes near the float limit overflow RSI/MA: excluded as not computable, never 'nan'."""
    closes = [1e308 if i % 2 else 1e307 for i in range(260)]
    stock = make_stock(closes=closes)
    m = compute_metrics(stock, ctx.index_returns)
    assert m.rsi14 is None and m.why_missing("rsi14").startswith("not computable")
    assert m.sma50 is None and "fewer than" not in m.why_missing("sma50")
    assert "overflow" in m.why_missing("sma200")
    for analysis in run_all(stock, ctx).values():
        text = " ".join([analysis.summary, analysis.reasoning,
                         *(f"{f.explanation} {f.value}" for f in analysis.factors)])  # fmt: skip
        assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE), analysis.model
    basic = {f.name: f for f in run_all(stock, ctx)["basic"].factors}
    assert basic["RSI-14"].max_points == 0 and "not computable" in basic["RSI-14"].explanation


def test_unknown_dividend_yield_lowers_lynch_confidence(
    stock: StockData, ctx: MarketContext
) -> None:
    years = [make_year(i, dividends_per_share=None) for i in range(5)]
    a = run_all(make_stock(years=years), ctx)["peter_lynch"]
    reference = run_all(stock, ctx)["peter_lynch"]
    assert a.confidence == pytest.approx(reference.confidence * 0.9)
    assert "dividend yield unknown" in a.reasoning
    assert "taken as 0" in {f.name: f.explanation for f in a.factors}["Dividend-adjusted PEG"]


def test_unknown_growth_lowers_buffett_confidence(ctx: MarketContext) -> None:
    years = [make_year(i, eps_diluted=None, net_income=None) for i in range(4)] + [make_year(4)]
    a = run_all(make_stock(years=years), ctx)["warren_buffett"]
    factors = {f.name: f for f in a.factors}
    assert factors["Owner-earnings growth"].value == 0.0
    assert factors["Historical earnings growth"].value is None
    assert "0% growth used" in a.reasoning and "confidence x0.85" in a.reasoning


def test_missing_cash_is_recorded_by_the_metrics(ctx: MarketContext) -> None:
    years = [make_year(i) for i in range(4)] + [make_year(4, cash=None)]
    m = compute_metrics(make_stock(years=years))
    assert m.net_debt == 160e6 and m.net_debt_assumes_zero_cash
    assert m.why_missing("cash") == "latest year lacks cash"


def test_low_confidence_signal_is_neutral_and_says_so(ctx: MarketContext) -> None:
    """Two scoreable factors (no history) must not make a bullish call."""
    a = run_all(make_stock(closes=[]), ctx)["basic"]
    assert a.confidence < 0.35 and a.signal == "neutral"
    assert "too little data" in a.summary
