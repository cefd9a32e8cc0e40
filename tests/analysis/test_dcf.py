"""DCF: recomputable from its factors, overrides echoed, negative FCF handled."""

from __future__ import annotations

import dataclasses

import pytest

from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.analysts.dcf_math import DcfInputs, discounted_cash_flow
from stockdash.analysis.context import MarketContext
from stockdash.analysis.schemas import Analysis, DcfOverrides
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import make_stock, make_year
from tests.analysis.analysis_reference import dcf_per_share


def values(analysis: Analysis) -> dict[str, object]:
    return {f.name: f.value for f in analysis.factors}


def floats(analysis: Analysis, *names: str) -> list[float]:
    found = values(analysis)
    out = []
    for name in names:
        value = found[name]
        assert isinstance(value, float), name
        out.append(value)
    return out


def test_value_recomputable_from_factors_alone(stock: StockData, ctx: MarketContext) -> None:
    a = run_analyst("dcf_math", stock, ctx)
    fcf, g1, gt, r, net_debt, shares = floats(
        a, "Base FCF", "Stage-1 growth", "Terminal growth", "Discount rate", "Net debt", "Shares"
    )
    rf, erp, beta = floats(a, "Risk-free rate", "Equity risk premium", "Beta")
    assert r == pytest.approx(rf + beta * erp, rel=1e-12)
    (per_share,) = floats(a, "Value per share")
    assert per_share == pytest.approx(dcf_per_share(fcf, g1, gt, r, net_debt, shares), rel=1e-9)
    path = [float(x) for x in str(values(a)["Growth path"]).split(", ")]
    assert path[:5] == [g1] * 5 and path[-1] == pytest.approx(gt)


def test_overrides_replace_and_are_echoed(stock: StockData, ctx: MarketContext) -> None:
    overrides = DcfOverrides(discount_rate=0.09, terminal_growth=0.02, growth=0.07)
    a = run_analyst("dcf_math", stock, ctx, overrides)
    v = values(a)
    assert (v["Discount rate"], v["Terminal growth"], v["Stage-1 growth"]) == (0.09, 0.02, 0.07)
    assert {f.name: f.explanation for f in a.factors}["Discount rate"] == "User override."
    expected = dcf_per_share(145e6, 0.07, 0.02, 0.09, 70e6, 96e6)
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
        values(run_analyst("dcf_math", stock, ctx, DcfOverrides(discount_rate=r)))[
            "Value per share"
        ]
        for r in (0.06, 0.08, 0.10, 0.12, 0.20)
    ]
    assert per_share == sorted(per_share, reverse=True)  # type: ignore[type-var]


def test_negative_fcf_cannot_value(ctx: MarketContext) -> None:
    years = [make_year(i) for i in range(4)] + [make_year(4, operating_cash_flow=10e6)]
    a = run_analyst("dcf_math", make_stock(years=years), ctx)
    assert a.confidence == 0.0
    assert a.score == 50.0 and a.signal == "neutral"
    assert "cannot value on FCF" in a.reasoning
    assert values(a)["Base FCF"] == -35e6
    assert "Value per share" not in values(a)


def test_beta_fallback_is_stated(stock: StockData) -> None:
    ctx = MarketContext(risk_free_rate=0.04, equity_risk_premium=0.05)
    a = run_analyst("dcf_math", stock, ctx)
    assert values(a)["Beta"] == 1.0
    assert "fallback beta 1.0" in {f.name: f.explanation for f in a.factors}["Beta"]
    assert values(a)["Discount rate"] == pytest.approx(0.09)
    assert a.confidence < 1.0


def test_pure_dcf_rejects_discount_not_above_terminal() -> None:
    inputs = DcfInputs(100.0, 0.05, 0.03, 0.03, 0.0, 10.0)
    assert discounted_cash_flow(inputs) is None
    assert discounted_cash_flow(dataclasses.replace(inputs, discount_rate=0.08)) is not None
