"""Helpers shared by the analysts: linear scoring, factor builders, text generation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics
from stockdash.analysis.schemas import (
    CONFIDENCE_FLOOR,
    Analysis,
    Factor,
    ModelName,
    NotRatedReason,
    score_from_points,
    signal_for,
)

# Why a model declines to score: (machine-readable reason, plain-language reason).
NotRated = tuple[NotRatedReason, str]
# A model value above this multiple of the price is refused as implausible (an input is likely
# wrong: a stale share count, debt missing, a one-off cash flow), never scored.
PLAUSIBLE_VALUE_RATIO = 3.0
BETA_FLOOR, BETA_CAP, FALLBACK_BETA = 0.3, 2.5, 1.0
LOGISTIC_SLOPE = 4.0  # 4 / width puts 12% and 88% of the points at the two anchors


def linear(value: float, zero_at: float, full_at: float) -> float:
    """Fraction 0..1 rising linearly from `zero_at` to `full_at` (either direction), clipped."""
    if zero_at == full_at:
        return 1.0 if value >= full_at else 0.0
    fraction = (value - zero_at) / (full_at - zero_at)
    return min(max(fraction, 0.0), 1.0)


def smooth(value: float, low: float, high: float) -> float:
    """Logistic fraction: 50% halfway between `low` and `high`, 12% at `low`, 88% at `high`.

    Unlike a clipped ramp it never saturates at a threshold, so scores keep spreading out.
    """
    if low == high:
        return 1.0 if value >= high else 0.0
    exponent = -LOGISTIC_SLOPE * (value - (low + high) / 2.0) / (high - low)
    if exponent > 700:  # exp overflows: the fraction is 0 to double precision
        return 0.0
    return 1.0 / (1.0 + math.exp(exponent))


def smooth_text(low: str, high: str) -> str:
    """How `smooth` maps a value to points, for a factor's benchmark."""
    return f"smooth logistic: 12% of the points at {low}, 50% halfway, 88% at {high}"


def clean(value: float | str | None) -> float | str | None:
    """Drop non-finite floats so they never reach a response."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def pct(value: float | None, digits: int = 1) -> str:
    """Format a fraction as a percentage (as a plain fraction if x100 overflows)."""
    if value is None:
        return "n/a"
    if not math.isfinite(value * 100):
        return f"{value:.3e} (as a fraction)"
    return f"{value * 100:.{digits}f}%"


def scored(
    name: str,
    value: float | str | None,
    benchmark: str,
    fraction: float,
    max_points: float,
    explanation: str,
) -> Factor:
    """A factor earning `fraction` of `max_points`."""
    points = max_points * min(max(fraction, 0.0), 1.0)
    return Factor(
        name=name,
        value=clean(value),
        benchmark=benchmark,
        points=points,
        max_points=max_points,
        explanation=explanation,
    )


def excluded(name: str, reason: str, nominal_max: float, benchmark: str | None = None) -> Factor:
    """A factor left out of the score (max 0) because its inputs are missing."""
    return Factor(
        name=name,
        value=None,
        benchmark=benchmark,
        points=0.0,
        max_points=0.0,
        explanation=f"Not scored ({nominal_max:g} points excluded): {reason}.",
    )


def info(
    name: str, value: float | str | None, explanation: str, benchmark: str | None = None
) -> Factor:
    """An informational factor (max 0) such as a model parameter."""
    return Factor(
        name=name,
        value=clean(value),
        benchmark=benchmark,
        points=0.0,
        max_points=0.0,
        explanation=explanation,
    )


def input_factor(m: StockMetrics, name: str, key: str, value: float | None, text: str) -> Factor:
    """Informational factor carrying one raw input, or saying why it is missing."""
    return info(name, value, text if value is not None else f"Missing: {m.why_missing(key)}.")


def _summary(
    label: str, symbol: str, score: float, signal: str, confidence: float, factors: Sequence[Factor]
) -> str:
    ranked = [f for f in factors if f.max_points > 0]
    if confidence < CONFIDENCE_FLOOR:
        return (
            f"{label} has too little data on {symbol} (confidence {confidence:.2f} < "
            f"{CONFIDENCE_FLOOR:.2f}), so the view is neutral; the factors it could score "
            f"give {score:.0f}/100."
        )
    return f"{label} is {signal} on {symbol} ({score:.0f}/100); {_factor_clause(ranked)}."


def _factor_clause(ranked: Sequence[Factor]) -> str:
    """Strongest and weakest factor, or one clause when the factors cannot be told apart."""

    def share(factor: Factor) -> float:
        return factor.points / factor.max_points

    if len(ranked) == 1:
        return f"deciding factor: {ranked[0].name} ({pct(share(ranked[0]), 0)} of its points)"
    best, worst = max(ranked, key=share), min(ranked, key=share)
    if math.isclose(share(best), share(worst), abs_tol=1e-9):
        # Naming one factor as both strongest and weakest reads as a bug; name the heaviest once.
        heaviest = max(ranked, key=lambda f: f.max_points)
        return (
            f"all {len(ranked)} scored factors earn {pct(share(best), 0)} of their points "
            f"(heaviest: {heaviest.name})"
        )
    return f"strongest factor: {best.name}, weakest: {worst.name}"


def _reasoning(
    label: str, score: float, confidence: float, factors: Sequence[Factor], notes: Sequence[str]
) -> str:
    parts = [f"{label} scored {score:.2f}/100 with confidence {confidence:.2f}."]
    parts += [
        f"{f.name}: {f.explanation} ({f.points:.2f}/{f.max_points:g} pts)."
        for f in factors
        if f.max_points > 0
    ]
    skipped = [
        f.name for f in factors if f.max_points == 0 and f.explanation.startswith("Not scored")
    ]
    if skipped:
        parts.append("Not scored for missing data: " + ", ".join(skipped) + ".")
    parts += list(notes)
    return " ".join(parts)


def build_analysis(
    *,
    model: ModelName,
    label: str,
    symbol: str,
    factors: list[Factor],
    nominal_max: float,
    data_quality: float,
    inputs_as_of: date,
    methodology_version: str,
    notes: Sequence[str] = (),
    details: dict[str, Any] | None = None,
    not_rated: NotRated | None = None,
) -> Analysis:
    """Assemble an Analysis: score from factors, confidence = coverage x data quality.

    Below CONFIDENCE_FLOOR the signal is neutral whatever the score (too little data to take a
    side); the summary says so. With `not_rated`, or when no factor can be scored, there is no
    score at all: signal "not_rated", confidence 0 and the reason.
    """
    points = sum(f.points for f in factors)
    max_points = sum(f.max_points for f in factors)
    score = score_from_points(points, max_points)
    if not_rated is None and score is None:
        not_rated = ("no_scoreable_factors", "none of its factors can be scored with this data")
    if not_rated is not None or score is None:
        reason, text = not_rated or ("no_scoreable_factors", "nothing to score")
        return Analysis(
            model=model,
            score=None,
            signal="not_rated",
            confidence=0.0,
            not_rated_reason=reason,
            summary=f"{label} does not rate {symbol}: {text}.",
            reasoning=" ".join([f"{label} does not rate {symbol}: {text}.", *notes]),
            factors=factors,
            inputs_as_of=inputs_as_of,
            methodology_version=methodology_version,
            details=details,
        )
    coverage = max_points / nominal_max if nominal_max > 0 else 0.0
    confidence = round(min(max(coverage * data_quality, 0.0), 1.0), 3)
    signal = signal_for(score, confidence)
    return Analysis(
        model=model,
        score=score,
        signal=signal,
        confidence=confidence,
        summary=_summary(label, symbol, score, signal, confidence, factors),
        reasoning=_reasoning(label, score, confidence, factors, notes),
        factors=factors,
        inputs_as_of=inputs_as_of,
        methodology_version=methodology_version,
        details=details,
    )


def assumption(text: str, multiplier: float) -> str:
    """Reasoning note for a stated default that lowers confidence by `multiplier`."""
    return f"Assumption: {text} (confidence x{multiplier:g})."


def fundamentals_quality(years: int) -> float:
    """Data-quality multiplier for fundamentals-driven models: 1 with >= 5 years, 0.5 below 3."""
    if years >= 5:
        return 1.0
    if years >= 3:
        return 0.8
    return 0.5


@dataclass(frozen=True, slots=True)
class Capm:
    """Cost of equity = rf + beta x ERP, shared by the DCF and the Buffett analyst."""

    risk_free_rate: float
    equity_risk_premium: float
    beta: float
    beta_note: str
    beta_is_fallback: bool  # a sector median or 1.0 stands in for the stock's own beta

    @property
    def cost_of_equity(self) -> float:
        """CAPM: rf + beta x ERP."""
        return self.risk_free_rate + self.beta * self.equity_risk_premium


def capm(m: StockMetrics, ctx: MarketContext) -> Capm:
    """The stock's Blume-adjusted beta, else its industry's, else its sector's median, else 1.0."""
    rf, erp = ctx.risk_free_rate, ctx.equity_risk_premium
    clip = f"clipped to {BETA_FLOOR:g}..{BETA_CAP:g}"
    if m.beta is not None and m.beta_raw is not None:
        beta = min(max(m.beta, BETA_FLOOR), BETA_CAP)
        note = (
            f"Blume-adjusted beta 2/3 x {m.beta_raw:.3f} + 1/3 = {m.beta:.3f}, OLS on "
            f"{m.beta_observations} {m.beta_method} returns vs the equal-weight index, {clip}"
        )
        return Capm(rf, erp, beta, note, False)
    for kind, group, medians in (
        ("industry", m.industry, ctx.industry_beta_median),
        ("sector", m.sector, ctx.sector_beta_median),
    ):
        median = medians.get(group or "")
        if median is not None:
            beta = min(max(median, BETA_FLOOR), BETA_CAP)
            note = (
                f"{kind} median beta of {group} ({median:.3f}, Blume-adjusted, stocks with a "
                f"year or more of returns), {clip}: {m.why_missing('beta')}"
            )
            return Capm(rf, erp, beta, note, True)
    return Capm(rf, erp, FALLBACK_BETA, f"fallback beta 1.0 ({m.why_missing('beta')})", True)


def plausibility_problem(value: float, price: float) -> str | None:
    """Why a per-share model value is implausible against the price, or None."""
    if value > PLAUSIBLE_VALUE_RATIO * price:
        return (
            f"the model value {value:.2f} is {value / price:.1f}x the price {price:.2f}, above the "
            f"{PLAUSIBLE_VALUE_RATIO:g}x plausibility ceiling (data-quality warning: an input is "
            "likely wrong)"
        )
    return None


# Banks and insurers: debt/equity is not meaningful (deposits and float are their raw material),
# so capital strength is equity / assets and profitability is return on assets.
EQUITY_ASSETS_LOW, EQUITY_ASSETS_HIGH = 0.05, 0.10
ROA_LOW, ROA_HIGH = 0.005, 0.015


def equity_to_assets_factor(m: StockMetrics, max_points: float) -> Factor:
    """A financial's capital cushion: shareholders' equity / total assets, smooth points."""
    name = "Equity/assets"
    benchmark = (
        f"{smooth_text('5%', '10%')} (a bank's or insurer's capital cushion, used instead of "
        "debt/equity)"
    )
    if m.equity_to_assets is None:
        return excluded(name, m.why_missing("equity_to_assets"), max_points, benchmark)
    return scored(
        name,
        m.equity_to_assets,
        benchmark,
        smooth(m.equity_to_assets, EQUITY_ASSETS_LOW, EQUITY_ASSETS_HIGH),
        max_points,
        f"Shareholders' equity is {pct(m.equity_to_assets)} of total assets (latest year); "
        "debt/equity is not meaningful for a bank or insurer.",
    )


def roa_factor(m: StockMetrics, max_points: float) -> Factor:
    """A financial's profitability: mean net income / total assets, smooth points."""
    name = "Return on assets"
    benchmark = f"{smooth_text('0.5%', '1.5%')} (average over the available years)"
    if m.roa_average is None:
        return excluded(name, m.why_missing("roa_average"), max_points, benchmark)
    return scored(
        name,
        m.roa_average,
        benchmark,
        smooth(m.roa_average, ROA_LOW, ROA_HIGH),
        max_points,
        f"Net income averaged {pct(m.roa_average, 2)} of year-end total assets over "
        f"{m.roa_years} year(s).",
    )
