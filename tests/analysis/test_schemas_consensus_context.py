"""Schemas reject inconsistent or non-finite data; consensus and market context arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from stockdash.analysis.analysts import run_all
from stockdash.analysis.consensus import build_consensus
from stockdash.analysis.context import MarketContext, build_market_context
from stockdash.analysis.schemas import Analysis, Factor, MultiAIAnalysis, signal_for
from tests.analysis.analysis_builders import AS_OF, make_bars, make_stock


def factor(points: float, max_points: float, value: float | str | None = 1.0) -> Factor:
    return Factor(name="f", value=value, benchmark=None, points=points, max_points=max_points,
                  explanation="x")  # fmt: skip


def analysis(score: float, factors: list[Factor]) -> Analysis:
    return Analysis(model="basic", score=score, signal=signal_for(score), confidence=0.5,
                    summary="s", reasoning="r", factors=factors, inputs_as_of=AS_OF,
                    methodology_version="t")  # fmt: skip


def test_score_must_match_factors() -> None:
    assert analysis(66.67, [factor(2, 3)]).score == 66.67
    with pytest.raises(ValueError):
        analysis(70.0, [factor(2, 3)])
    assert analysis(50.0, [factor(0, 0)]).signal == "neutral"  # nothing scoreable


def test_non_finite_rejected() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            factor(1, 2, bad)
        with pytest.raises(ValueError):
            factor(bad, 2)
    with pytest.raises(ValueError):
        factor(3, 2)


def test_signal_thresholds() -> None:
    assert [signal_for(s) for s in (65, 64.99, 40.01, 40)] == [
        "bullish", "neutral", "neutral", "bearish"
    ]  # fmt: skip


def test_consensus() -> None:
    assert build_consensus([]) is None
    items = [analysis(100.0, [factor(1, 1)]), analysis(0.0, [factor(0, 1)]),
             analysis(50.0, [factor(1, 2)])]  # fmt: skip
    consensus = build_consensus(items)
    assert consensus is not None
    assert (consensus.score, consensus.signal) == (50.0, "neutral")
    assert consensus.agreement == pytest.approx(1 / 3)


def test_multi_analysis_round_trip(stock, ctx: MarketContext) -> None:  # type: ignore[no-untyped-def]
    analyses = run_all(stock, ctx)
    multi = MultiAIAnalysis(symbol="HAND", as_of=AS_OF, analyses=analyses,
                            consensus=build_consensus(analyses.values()))  # fmt: skip
    assert MultiAIAnalysis.model_validate_json(multi.model_dump_json()) == multi


def test_build_market_context() -> None:
    a = make_stock(closes=[10.0, 11.0, 12.1], symbol="A")  # P/E 12.1 / 1.5625
    b = make_stock(closes=[20.0, 18.0], symbol="B")  # P/E 18 / 1.5625
    c = make_stock(closes=[5.0, 5.0], symbol="C", sector="Energy")
    b.history = make_bars([20.0, 18.0])
    ctx = build_market_context([a, b, c], risk_free_rate=0.03, equity_risk_premium=0.06)
    assert ctx.sector_pe_median["Technology"] == pytest.approx((12.1 + 18.0) / 2 / 1.5625)
    assert ctx.sector_pe_median["Energy"] == pytest.approx(5.0 / 1.5625)
    days = sorted(ctx.index_returns)
    assert ctx.index_returns[days[-1]] == pytest.approx((0.1 + -0.1 + 0.0) / 3)
    assert ctx.index_returns[days[0]] == pytest.approx(0.1)
    assert ctx.as_of == AS_OF and ctx.risk_free_rate == 0.03
    with pytest.raises(ValueError):
        build_market_context([], risk_free_rate=float("nan"))
    assert build_market_context([]).as_of == date(1970, 1, 1)
