"""The one-sentence analyst summary names factors sensibly, also when they all score alike."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from stockdash.analysis.analysts import run_all
from stockdash.analysis.analysts._common import build_analysis, excluded, info, scored
from stockdash.analysis.backtest import (
    all_index_returns,
    load_panel,
    market_context_at,
    universe_at,
)
from stockdash.analysis.schemas import Factor
from stockdash.market.snapshot.provider import SnapshotProvider


def _summary(factors: list[Factor]) -> str:
    return build_analysis(
        model="dcf_math",
        label="DCF analyst",
        symbol="XYZ",
        factors=factors,
        nominal_max=100.0,
        data_quality=1.0,
        inputs_as_of=date(2026, 8, 3),
        methodology_version="test",
    ).summary


def _factor(name: str, fraction: float, max_points: float) -> Factor:
    return scored(name, 0.0, "bench", fraction, max_points, "why")


def test_distinct_factors_name_the_strongest_and_the_weakest() -> None:
    text = _summary([_factor("Upside", 0.2, 50), _factor("Bear case", 0.9, 30),
                     _factor("Weighted", 0.5, 20)])  # fmt: skip
    assert text.endswith("; strongest factor: Bear case, weakest: Upside.")


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.5])
def test_equal_factors_are_named_once(fraction: float) -> None:
    factors = [_factor("Upside", fraction, 50), _factor("Weighted", fraction, 30),
               _factor("Bear case", fraction, 20)]  # fmt: skip
    text = _summary([*factors, info("Beta", 1.1, "model input"), excluded("Other", "no data", 0)])
    assert text.count("Upside") == 1 and "strongest" not in text and "weakest" not in text
    assert text.endswith(
        f"; all 3 scored factors earn {fraction * 100:.0f}% of their points (heaviest: Upside)."
    )


def test_a_single_scored_factor_is_the_deciding_one() -> None:
    text = _summary([_factor("Upside", 0.25, 50), excluded("Bear case", "no data", 20)])
    assert text.endswith("; deciding factor: Upside (25% of its points).")


def test_real_dcf_factors_never_saturate_and_state_their_upside() -> None:
    """AAPL's DCF used to earn exactly 0 on all three factors; the smooth mapping keeps every
    positive value strictly inside (0, max) and each factor shows its upside and the reason."""
    panel = asyncio.run(load_panel(SnapshotProvider(), ("AAPL", "KO", "MSFT", "WMT")))
    day = date(2026, 8, 3)
    stocks = universe_at(panel, day)
    ctx = market_context_at(list(stocks.values()), all_index_returns(panel), day)
    rated = 0
    for data in stocks.values():
        analysis = run_all(data, ctx, ("dcf_math",))["dcf_math"]
        if analysis.score is None:
            assert analysis.not_rated_reason and "does not rate" in analysis.summary
            continue
        rated += 1
        for f in (f for f in analysis.factors if f.max_points > 0):
            assert isinstance(f.value, float) and f.value > -1.0  # a positive value per share
            assert 0 < f.points < f.max_points, (analysis.summary, f)
            assert "ln(" in (f.benchmark or "") and "vs price" in f.explanation
        upside = next(f for f in analysis.factors if f.name == "Upside to base-case value")
        assert ": " in upside.explanation.split("vs price")[1]  # the why after the upside
    assert rated >= 2
