"""Consensus of several analyses: confidence-weighted score, its signal, and score agreement."""

from __future__ import annotations

import math
from collections.abc import Iterable

from stockdash.analysis.schemas import SCORE_DECIMALS, Analysis, Consensus, signal_for

MAX_SCORE_SPREAD = 50.0  # largest possible weighted stdev of scores in [0, 100]
METHOD = (
    "score = sum(confidence x score) / sum(confidence) over the analysts with confidence > 0 "
    "(weights below); confidence = mean confidence of all analysts shown; signal from the score, "
    "neutral below confidence 0.35; agreement = 1 - weighted stdev of the scores / 50 "
    "(1 = identical scores, 0 = half the weight at 0 and half at 100)."
)


def build_consensus(analyses: Iterable[Analysis]) -> Consensus | None:
    """Weighted consensus; None when no analyst has any confidence (nothing to agree on)."""
    items = list(analyses)
    total = sum(a.confidence for a in items)
    if not items or total <= 0:
        return None
    weights = {a.model: a.confidence / total for a in items}
    mean = sum(weights[a.model] * a.score for a in items)
    variance = sum(weights[a.model] * (a.score - mean) ** 2 for a in items)
    agreement = min(max(1.0 - math.sqrt(variance) / MAX_SCORE_SPREAD, 0.0), 1.0)
    confidence = round(total / len(items), 3)
    score = round(mean, SCORE_DECIMALS)
    return Consensus(
        score=score,
        signal=signal_for(score, confidence),
        agreement=round(agreement, 3),
        confidence=confidence,
        weights=weights,
        method=METHOD,
    )
