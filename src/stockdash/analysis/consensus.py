"""Consensus of several analyses: confidence-weighted score, its signal, and score agreement."""

from __future__ import annotations

import math
from collections.abc import Iterable

from stockdash.analysis.schemas import SCORE_DECIMALS, Analysis, Consensus, signal_for

MAX_SCORE_SPREAD = 50.0  # largest possible weighted stdev of scores in [0, 100]
METHOD = (
    "Not-rated analysts are left out (listed in not_rated): they count neither in the score nor "
    "in the confidence. score = sum(confidence x score) / sum(confidence) over the rated analysts "
    "with confidence > 0 (weights below); confidence = mean confidence of the rated analysts; "
    "signal from the score, neutral below confidence 0.35; agreement = 1 - weighted stdev of the "
    "scores / 50 (1 = identical scores, 0 = half the weight at 0 and half at 100)."
)


def build_consensus(analyses: Iterable[Analysis]) -> Consensus | None:
    """Weighted consensus of the rated analysts; None when none is rated with any confidence."""
    items = list(analyses)
    not_rated = {a.model: a.not_rated_reason for a in items if a.score is None}
    rated = [(a, a.score) for a in items if a.score is not None]
    total = sum(a.confidence for a, _ in rated)
    if not rated or total <= 0:
        return None
    weights = {a.model: a.confidence / total for a, _ in rated}
    mean = sum(weights[a.model] * score for a, score in rated)
    variance = sum(weights[a.model] * (score - mean) ** 2 for a, score in rated)
    agreement = min(max(1.0 - math.sqrt(variance) / MAX_SCORE_SPREAD, 0.0), 1.0)
    confidence = round(total / len(rated), 3)
    score = round(mean, SCORE_DECIMALS)
    return Consensus(
        score=score,
        signal=signal_for(score, confidence),
        agreement=round(agreement, 3),
        confidence=confidence,
        weights=weights,
        method=METHOD,
        not_rated={m: r for m, r in not_rated.items() if r is not None},
    )
