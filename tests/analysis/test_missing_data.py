"""Missing data never crashes and always lowers confidence with a stated reason."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import get_args

import pytest

from stockdash.analysis.analysts import run_all
from stockdash.analysis.context import MarketContext
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
    assert dcf.confidence == 0.0 and "no free cash flow" in dcf.reasoning


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
        assert result[model].confidence <= 0.2, model
        assert 0 <= result[model].score <= 100


@pytest.mark.parametrize("model", MODELS)
def test_future_filings_are_ignored(model: ModelName, ctx: MarketContext) -> None:
    """A year filed after the quote date must not influence the analysis (point-in-time)."""
    late = dataclasses.replace(make_year(4, net_income=9e9), filed=date(2026, 1, 1))
    with_late = run_all(make_stock(years=[make_year(i) for i in range(4)] + [late]), ctx)[model]
    without = run_all(make_stock(years=[make_year(i) for i in range(4)]), ctx)[model]
    assert with_late.score == without.score
