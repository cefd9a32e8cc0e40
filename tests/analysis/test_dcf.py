"""DCF: recomputable from its factors, overrides echoed, negative FCF handled."""

from __future__ import annotations

import dataclasses

import pytest

from stockdash.analysis.analysts import dcf_math, run_analyst
from stockdash.analysis.analysts.dcf_math import DcfInputs, discounted_cash_flow
from stockdash.analysis.context import MarketContext
from stockdash.analysis.schemas import DcfOverrides
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import factor_floats, factor_values, make_stock, make_year
from tests.analysis.analysis_reference import dcf_per_share, wacc


def test_value_recomputable_from_factors_alone(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("dcf_math", stock, ctx)
    fcf, g1, gt, r, net_debt, shares = factor_floats(
        a, "Base FCF", "Stage-1 growth", "Terminal growth", "Discount rate", "Net debt", "Shares"
    )
    rf, erp, beta, spread, tax = factor_floats(
        a, "Risk-free rate", "Equity risk premium", "Beta", "Credit spread", "Tax rate"
    )
    equity, debt, cash = factor_floats(a, "Market value of equity", "Total debt", "Cash")
    re, rd, we, wd, w = factor_floats(
        a, "Cost of equity", "Cost of debt", "Equity weight", "Debt weight", "WACC"
    )
    assert re == pytest.approx(rf + beta * erp, rel=1e-12)
    assert rd == pytest.approx(rf + spread, rel=1e-12)
    assert (we, wd) == pytest.approx((equity / (equity + debt), debt / (equity + debt)), rel=1e-12)
    assert r == w == pytest.approx(wacc(rf, beta, erp, spread, tax, equity, debt), rel=1e-12)
    assert net_debt == pytest.approx(debt - cash, rel=1e-12)
    (per_share,) = factor_floats(a, "Value per share")
    assert per_share == pytest.approx(dcf_per_share(fcf, g1, gt, r, net_debt, shares), rel=1e-9)
    path = [float(x) for x in str(factor_values(a)["Growth path"]).split(", ")]
    assert path[:5] == [g1] * 5 and path[-1] == pytest.approx(gt)
    explanations = {f.name: f.explanation for f in a.factors}
    assert "free cash flow to the firm" in explanations["Base FCF"]
    assert "after interest" in explanations["Base FCF"]


def test_debt_is_counted_once_not_twice(stock: StockData, ctx: MarketContext) -> None:
    """More debt financing at the same enterprise value lowers equity value only via net debt.

    The old model discounted equity-level cash flows at the cost of equity and then subtracted
    net debt again; with a WACC the tax-advantaged debt lowers the discount rate instead.
    """
    base = run_analyst("dcf_math", stock, ctx)
    years = [make_year(i) for i in range(4)] + [make_year(4, total_debt=800e6)]
    levered = run_analyst("dcf_math", make_stock(years=years), ctx)
    b, lv = factor_values(base), factor_values(levered)
    assert lv["WACC"] < b["WACC"]  # type: ignore[operator]
    assert lv["Debt weight"] > b["Debt weight"]  # type: ignore[operator]
    assert lv["Enterprise value"] > b["Enterprise value"]  # type: ignore[operator]
    assert lv["Equity value"] == pytest.approx(
        lv["Enterprise value"] - lv["Net debt"],
        rel=1e-12,  # type: ignore[operator]
    )


def test_unknown_debt_is_not_rated_never_zero_debt(ctx: MarketContext) -> None:
    """Missing debt used to count as zero debt (F +212%); now the DCF declines with the reason."""
    years = [make_year(i, total_debt=None) for i in range(5)]
    a = run_analyst("dcf_math", make_stock(years=years), ctx)
    v = factor_values(a)
    assert a.score is None and a.signal == "not_rated" and a.confidence == 0
    assert a.not_rated_reason == "debt_unknown" and "total debt" in a.summary
    assert v["Total debt"] is None and v["Net debt"] is None
    assert not any(f.max_points > 0 for f in a.factors)


def test_long_term_only_debt_is_a_stated_lower_bound(stock: StockData, ctx: MarketContext) -> None:
    label = "fundamentals-sec-annual ltDebt (long-term debt only; no short-term debt)"
    years = [make_year(i) for i in range(4)]
    years.append(dataclasses.replace(make_year(4), sources={"total_debt": label}))
    a = run_analyst("dcf_math", make_stock(years=years), ctx)
    explanations = {f.name: f.explanation for f in a.factors}
    assert "lower bound" in explanations["Total debt"]
    assert "net debt is a lower bound" in a.reasoning
    assert a.confidence == pytest.approx(run_analyst("dcf_math", stock, ctx).confidence * 0.8)


def test_missing_cash_is_stated_and_lowers_confidence(stock: StockData, ctx: MarketContext) -> None:
    years = [make_year(i) for i in range(4)] + [make_year(4, cash=None)]
    a = run_analyst("dcf_math", make_stock(years=years), ctx)
    v = factor_values(a)
    assert v["Net debt"] == 160e6 and v["Cash"] is None
    assert "cash not reported" in a.reasoning
    assert a.confidence == pytest.approx(run_analyst("dcf_math", stock, ctx).confidence * 0.9)


def test_settings_for_spread_and_tax_reach_the_wacc(stock: StockData, ctx: MarketContext) -> None:
    high = dataclasses.replace(ctx, credit_spread=0.05, tax_rate=0.0)
    a, b = (
        factor_values(run_analyst("dcf_math", stock, ctx)),
        factor_values(run_analyst("dcf_math", stock, high)),
    )
    assert (b["Credit spread"], b["Tax rate"]) == (0.05, 0.0)
    assert b["WACC"] > a["WACC"]  # type: ignore[operator]


def test_overrides_replace_and_are_echoed(stock: StockData, ctx: MarketContext) -> None:
    overrides = DcfOverrides(discount_rate=0.09, terminal_growth=0.02, growth=0.07)
    a = run_analyst("dcf_math", stock, ctx, overrides)
    v = factor_values(a)
    assert (v["Discount rate"], v["Terminal growth"], v["Stage-1 growth"]) == (0.09, 0.02, 0.07)
    explanations = {f.name: f.explanation for f in a.factors}
    assert explanations["Discount rate"] == "User override (replaces the WACC)."
    assert "not used" in explanations["WACC"] and v["WACC"] != 0.09
    # Normalised FCF: mean of the last three years' OCF - capex = (120 + 125 + 145) / 3 million.
    assert v["Base FCF"] == pytest.approx((160 - 40 + 165 - 40 + 190 - 45) / 3 * 1e6)
    expected = dcf_per_share((120e6 + 125e6 + 145e6) / 3, 0.07, 0.02, 0.09, 70e6, 96e6)
    assert v["Value per share"] == pytest.approx(expected, rel=1e-9)


def test_overrides_validation() -> None:
    with pytest.raises(ValueError):
        DcfOverrides(discount_rate=0.03, terminal_growth=0.04)
    with pytest.raises(ValueError):
        DcfOverrides(discount_rate=0.5)
    with pytest.raises(ValueError):
        DcfOverrides(growth=float("nan"))


def test_higher_override_discount_lowers_value(stock: StockData, ctx: MarketContext) -> None:
    per_share = [
        factor_values(run_analyst("dcf_math", stock, ctx, DcfOverrides(discount_rate=r)))[
            "Value per share"
        ]
        for r in (0.06, 0.08, 0.10, 0.12, 0.20)
    ]
    assert per_share == sorted(per_share, reverse=True)  # type: ignore[type-var]


def test_negative_normalised_fcf_is_not_rated(ctx: MarketContext) -> None:
    years = [make_year(i) for i in range(2)]
    years += [make_year(i, operating_cash_flow=10e6) for i in range(2, 5)]
    a = run_analyst("dcf_math", make_stock(years=years), ctx)
    assert a.confidence == 0.0 and a.score is None and a.signal == "not_rated"
    assert a.not_rated_reason == "negative_cash_flow"
    assert factor_values(a)["Base FCF"] == pytest.approx((-30e6 - 30e6 - 35e6) / 3)
    assert "Value per share" not in factor_values(a)


def test_capex_missing_falls_back_to_depreciation(stock: StockData, ctx: MarketContext) -> None:
    years = [make_year(i, capital_expenditure=None) for i in range(5)]
    a = run_analyst("dcf_math", make_stock(years=years), ctx)
    # OCF - D&A of the last three years: (160 - 24 + 165 - 25 + 190 - 28) / 3 million.
    assert factor_values(a)["Base FCF"] == pytest.approx((136 + 140 + 162) / 3 * 1e6)
    assert "depreciation used as maintenance capex" in a.reasoning
    assert a.confidence == pytest.approx(run_analyst("dcf_math", stock, ctx).confidence * 0.8)


def test_beta_fallback_is_stated(stock: StockData) -> None:
    ctx = MarketContext(risk_free_rate=0.04, equity_risk_premium=0.05)
    a = run_analyst("dcf_math", stock, ctx)
    v = factor_values(a)
    assert v["Beta"] == 1.0
    assert "fallback beta 1.0" in {f.name: f.explanation for f in a.factors}["Beta"].lower()
    assert v["Cost of equity"] == pytest.approx(0.09)
    assert v["Discount rate"] == pytest.approx(
        wacc(0.04, 1.0, 0.05, 0.015, 0.21, v["Market value of equity"], 160e6)  # type: ignore[arg-type]
    )
    assert a.confidence < 1.0 and "beta unknown" in a.reasoning


def test_pure_dcf_rejects_discount_not_above_terminal() -> None:
    inputs = DcfInputs(100.0, 0.05, 0.03, 0.03, 0.0, 10.0)
    assert discounted_cash_flow(inputs) is None
    assert discounted_cash_flow(dataclasses.replace(inputs, discount_rate=0.08)) is not None


def test_a_value_too_small_next_to_the_price_scores_the_bottom_not_an_error() -> None:
    """value / price underflowing to 0.0 (hypothesis found it) is no upside, not log(0)."""
    assert dcf_math.upside_fraction(1e-300, 1e10, 0.5, 2.0) == 0.0
    assert dcf_math.upside_fraction(0.0, 10.0, 0.5, 2.0) == 0.0
    assert 0.0 < dcf_math.upside_fraction(10.0, 10.0, 0.5, 2.0) < 1.0
