"""Consensus of several analyses: mean score, its signal, and how many analysts agree."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from stockdash.analysis.schemas import SCORE_DECIMALS, Analysis, Consensus, signal_for


def build_consensus(analyses: Iterable[Analysis]) -> Consensus | None:
    """Mean score; agreement = share of analysts whose own signal equals the consensus signal."""
    items = list(analyses)
    if not items:
        return None
    score = round(statistics.fmean(a.score for a in items), SCORE_DECIMALS)
    signal = signal_for(score)
    agreement = sum(a.signal == signal for a in items) / len(items)
    return Consensus(score=score, signal=signal, agreement=agreement)
