"""The subscription tiers: one table in code, the single source of limits and models."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    """Subscription tiers, cheapest first."""

    FREE = "free"
    PRO = "pro"
    EXPERT = "expert"


class AnalystModel(StrEnum):
    """The analyst models, in display order."""

    BASIC = "basic"
    WARREN_BUFFETT = "warren_buffett"
    PETER_LYNCH = "peter_lynch"
    DCF_MATH = "dcf_math"


@dataclass(frozen=True, slots=True)
class TierSpec:
    """What one tier grants."""

    tier: Tier
    name: str
    max_stocks: int
    models: tuple[AnalystModel, ...]
    description: str
    # Price, move, score and signal alerts (stockdash.alerts) a user may keep.
    max_alerts: int


TIERS: dict[Tier, TierSpec] = {
    Tier.FREE: TierSpec(
        Tier.FREE, "Free", 5, (AnalystModel.BASIC,), "Basic stock tracking and analysis.", 5
    ),
    Tier.PRO: TierSpec(
        Tier.PRO,
        "Pro",
        10,
        (AnalystModel.BASIC, AnalystModel.WARREN_BUFFETT, AnalystModel.PETER_LYNCH),
        "Multiple AI perspectives: value and growth-at-a-reasonable-price analysts.",
        20,
    ),
    Tier.EXPERT: TierSpec(
        Tier.EXPERT,
        "Expert",
        20,
        tuple(AnalystModel),
        "The full analyst suite including the DCF valuation, maximum tracking.",
        50,
    ),
}

TIER_ORDER: tuple[Tier, ...] = (Tier.FREE, Tier.PRO, Tier.EXPERT)


def spec(tier: Tier | str) -> TierSpec:
    """The spec of a tier."""
    return TIERS[Tier(tier)]


def max_stocks(tier: Tier | str) -> int:
    """How many stocks a tier may track."""
    return spec(tier).max_stocks


def max_alerts(tier: Tier | str) -> int:
    """How many alerts a tier may keep."""
    return spec(tier).max_alerts


def allowed_models(tier: Tier | str) -> tuple[AnalystModel, ...]:
    """Which analyst models a tier may read."""
    return spec(tier).models


def required_tier(model: AnalystModel | str) -> Tier:
    """The cheapest tier that unlocks a model."""
    return next(t for t in TIER_ORDER if AnalystModel(model) in TIERS[t].models)


def highest_tier(tiers: list[Tier | str]) -> Tier:
    """The most generous of several tiers (free when none)."""
    ranks = [TIER_ORDER.index(Tier(t)) for t in tiers]
    return TIER_ORDER[max(ranks)] if ranks else Tier.FREE
