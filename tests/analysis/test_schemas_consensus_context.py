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


def analysis(
    score: float, factors: list[Factor], confidence: float = 0.5, model: str = "basic"
) -> Analysis:
    return Analysis(model=model, score=score, signal=signal_for(score, confidence),  # type: ignore[arg-type]
                    confidence=confidence, summary="s", reasoning="r", factors=factors,
                    inputs_as_of=AS_OF, methodology_version="t")  # fmt: skip


def scored_at(score: float, confidence: float, model: str) -> Analysis:
    """An analysis with one factor giving exactly `score`."""
    return analysis(score, [factor(score, 100)], confidence, model)


def test_score_must_match_factors() -> None:
    assert analysis(66.67, [factor(2, 3)]).score == 66.67
    with pytest.raises(ValueError):
        analysis(70.0, [factor(2, 3)])
    with pytest.raises(ValueError):  # nothing scoreable: no invented score of 50
        analysis(50.0, [factor(0, 0)])


def not_rated(model: str = "dcf_math", reason: str = "debt_unknown") -> Analysis:
    return Analysis(model=model, score=None, signal="not_rated", confidence=0.0,  # type: ignore[arg-type]
                    not_rated_reason=reason, summary="s", reasoning="r",  # type: ignore[arg-type]
                    factors=[factor(0, 0)], inputs_as_of=AS_OF, methodology_version="t")  # fmt: skip


def test_not_rated_is_a_first_class_answer() -> None:
    a = not_rated()
    assert (a.score, a.signal, a.confidence, a.not_rated_reason) == (
        None, "not_rated", 0.0, "debt_unknown"
    )  # fmt: skip
    assert signal_for(None) == "not_rated"
    for bad in (
        {"signal": "neutral"},  # no score means not rated, never neutral
        {"confidence": 0.5},
        {"not_rated_reason": None},
    ):
        with pytest.raises(ValueError):
            Analysis.model_validate({**a.model_dump(), **bad})
    with pytest.raises(ValueError):  # a scored analysis carries no not-rated reason
        Analysis.model_validate({**scored_at(60.0, 0.5, "basic").model_dump(),
                                 "not_rated_reason": "debt_unknown"})  # fmt: skip


def test_consensus_leaves_not_rated_analysts_out_and_says_so() -> None:
    consensus = build_consensus([scored_at(80.0, 1.0, "basic"), scored_at(40.0, 0.5, "peter_lynch"),
                                 not_rated()])  # fmt: skip
    assert consensus is not None
    assert consensus.score == pytest.approx((80 * 1.0 + 40 * 0.5) / 1.5, abs=0.005)
    assert set(consensus.weights) == {"basic", "peter_lynch"}
    assert consensus.not_rated == {"dcf_math": "debt_unknown"}
    assert consensus.confidence == 0.75  # the mean over the rated analysts only
    assert "Not-rated analysts are left out" in consensus.method
    assert build_consensus([not_rated()]) is None


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


def test_signal_is_neutral_below_the_confidence_floor() -> None:
    assert signal_for(80.0, 0.34) == "neutral" and signal_for(80.0, 0.35) == "bullish"
    assert signal_for(10.0, 0.2) == "neutral"
    with pytest.raises(ValueError):  # a confident-looking signal on too little data is refused
        Analysis(model="basic", score=80.0, signal="bullish", confidence=0.2, summary="s",
                 reasoning="r", factors=[factor(80, 100)], inputs_as_of=AS_OF,
                 methodology_version="t")  # fmt: skip


def test_consensus_equal_confidence_is_the_mean() -> None:
    assert build_consensus([]) is None
    items = [scored_at(100.0, 0.5, "basic"), scored_at(0.0, 0.5, "warren_buffett"),
             scored_at(50.0, 0.5, "peter_lynch")]  # fmt: skip
    consensus = build_consensus(items)
    assert consensus is not None
    assert (consensus.score, consensus.signal) == (50.0, "neutral")
    assert consensus.weights == pytest.approx({m: 1 / 3 for m in consensus.weights})
    assert consensus.agreement == round(1 - (2 / 3 * 50**2) ** 0.5 / 50, 3)  # 3 dp


def test_consensus_weights_by_confidence_and_drops_zero_confidence() -> None:
    """A DCF that cannot value the company (confidence 0, score 50) must not pull the score."""
    items = [scored_at(80.0, 1.0, "basic"), scored_at(50.0, 0.0, "dcf_math")]
    consensus = build_consensus(items)
    assert consensus is not None
    assert consensus.score == 80.0 and consensus.signal == "bullish"
    assert consensus.weights == {"basic": 1.0, "dcf_math": 0.0}
    assert consensus.confidence == 0.5  # mean confidence of the rated analysts
    weighted = build_consensus([scored_at(90.0, 0.9, "basic"), scored_at(30.0, 0.3, "dcf_math")])
    assert weighted is not None and weighted.score == 75.0  # (0.9 x 90 + 0.3 x 30) / 1.2
    assert build_consensus([scored_at(50.0, 0.0, "dcf_math")]) is None
    assert "confidence" in weighted.method


def test_consensus_agreement_reads_sensibly() -> None:
    """Split analysts give a neutral consensus with low (not zero) agreement; alike ones high."""
    split = build_consensus([scored_at(80.0, 1.0, "basic"), scored_at(80.0, 1.0, "peter_lynch"),
                             scored_at(20.0, 1.0, "warren_buffett"),
                             scored_at(20.0, 1.0, "dcf_math")])  # fmt: skip
    assert split is not None and split.signal == "neutral"
    assert split.agreement == pytest.approx(0.4)  # stdev 30 of a possible 50
    close = build_consensus([scored_at(66.0, 1.0, "basic"), scored_at(64.0, 1.0, "peter_lynch")])
    assert close is not None and close.agreement == pytest.approx(0.98)  # one bullish, one not
    alone = build_consensus([scored_at(70.0, 1.0, "basic")])
    assert alone is not None and alone.agreement == 1.0


def test_consensus_on_too_little_data_is_neutral() -> None:
    consensus = build_consensus([scored_at(90.0, 0.2, "basic")])
    assert consensus is not None and consensus.score == 90.0 and consensus.signal == "neutral"


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
