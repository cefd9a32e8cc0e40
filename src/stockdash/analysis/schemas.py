"""Response schemas of the analyst models (pydantic v2); every float is checked to be finite."""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelName = Literal["basic", "warren_buffett", "peter_lynch", "dcf_math"]
MODEL_NAMES: tuple[ModelName, ...] = get_args(ModelName)
Signal = Literal["bullish", "neutral", "bearish", "not_rated"]
# Machine-readable reasons an analyst declines to score (docs/analysts.md, "Not rated").
NotRatedReason = Literal[
    "no_scoreable_factors",
    "no_price",
    "no_fundamentals",
    "cash_flow_unknown",
    "capex_unknown",
    "debt_unknown",
    "shares_unknown",
    "shares_inconsistent",
    "negative_cash_flow",
    "no_book_value",
    "no_dividend",
    "model_not_applicable",
    "implausible_value",
    "not_computable",
]

BULLISH_AT = 65.0
BEARISH_AT = 40.0
SCORE_DECIMALS = 2
# Below this confidence the factors are too few to take a side: the signal is neutral.
CONFIDENCE_FLOOR = 0.35


def signal_for(score: float | None, confidence: float = 1.0) -> Signal:
    """Bullish at score >= 65, bearish at <= 40, else neutral; neutral below the floor.

    No score is "not_rated": an analyst that cannot support a number never takes a side.
    """
    if score is None:
        return "not_rated"
    if confidence < CONFIDENCE_FLOOR:
        return "neutral"
    if score >= BULLISH_AT:
        return "bullish"
    if score <= BEARISH_AT:
        return "bearish"
    return "neutral"


def score_from_points(points: float, max_points: float) -> float | None:
    """Score = points / max_points * 100 rounded to 2 dp; None (not rated) when nothing scores."""
    if max_points <= 0:
        return None
    return round(points / max_points * 100.0, SCORE_DECIMALS)


def _reject_non_finite(value: Any, where: str) -> Any:
    """Raise if value (recursively for containers) holds NaN or infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: non-finite number {value!r}")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _reject_non_finite(item, f"{where}[{index}]")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False, extra="forbid")


class Factor(_Strict):
    """One scored (or informational, max_points == 0) input of an analysis."""

    name: str
    value: float | str | None
    benchmark: str | None
    points: float = Field(ge=0)
    max_points: float = Field(ge=0)
    explanation: str

    @field_validator("value")
    @classmethod
    def _finite_value(cls, value: float | str | None) -> float | str | None:
        return _reject_non_finite(value, "value")  # type: ignore[no-any-return]

    @model_validator(mode="after")
    def _points_within_max(self) -> Factor:
        if self.points > self.max_points + 1e-9:
            raise ValueError(f"factor {self.name!r}: points {self.points} > max {self.max_points}")
        return self


class Analysis(_Strict):
    """One analyst's verdict; score is exactly sum(points) / sum(max_points) * 100 (2 dp)."""

    model: ModelName
    score: float | None = Field(ge=0, le=100)
    signal: Signal
    confidence: float = Field(ge=0, le=1)
    not_rated_reason: NotRatedReason | None = None
    summary: str
    reasoning: str
    factors: list[Factor]
    inputs_as_of: date
    methodology_version: str
    details: dict[str, Any] | None = None

    @field_validator("details")
    @classmethod
    def _finite_details(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _reject_non_finite(value, "details")  # type: ignore[no-any-return]

    @model_validator(mode="after")
    def _score_matches_factors(self) -> Analysis:
        if self.score is None:
            return self._check_not_rated()
        if self.not_rated_reason is not None:
            raise ValueError("a scored analysis has no not_rated_reason")
        points = sum(f.points for f in self.factors)
        max_points = sum(f.max_points for f in self.factors)
        expected = score_from_points(points, max_points)
        if expected is None or abs(expected - self.score) > 1e-9:
            raise ValueError(f"score {self.score} != {expected} recomputed from factors")
        if self.signal != signal_for(self.score, self.confidence):
            raise ValueError(
                f"signal {self.signal} does not match score {self.score} "
                f"at confidence {self.confidence}"
            )
        return self

    def _check_not_rated(self) -> Analysis:
        """Not rated: no score, signal not_rated, confidence 0 and a reason."""
        if self.signal != "not_rated" or self.confidence != 0 or self.not_rated_reason is None:
            raise ValueError(
                "an analysis without a score is not_rated, confidence 0, with a reason"
            )
        return self


class Consensus(_Strict):
    """Confidence-weighted view of several analysts (rules in `method`, docs/analysts.md)."""

    score: float = Field(ge=0, le=100)
    signal: Signal
    agreement: float = Field(ge=0, le=1)
    confidence: float = Field(default=1.0, ge=0, le=1)
    weights: dict[ModelName, float] = Field(default_factory=dict)
    method: str = ""
    not_rated: dict[ModelName, NotRatedReason] = Field(
        default_factory=dict, description="Analysts left out because they are not rated."
    )


class LockedModel(_Strict):
    """An analyst the caller's tier cannot see."""

    model: ModelName
    required_tier: str


class MultiAIAnalysis(_Strict):
    """All analyses the caller may see for one symbol."""

    symbol: str
    as_of: date
    analyses: dict[ModelName, Analysis]
    locked_models: list[LockedModel] = Field(default_factory=list)
    consensus: Consensus | None = None


class DcfOverrides(_Strict):
    """User-supplied DCF parameters replacing the derived ones."""

    discount_rate: float | None = Field(default=None, ge=0.01, le=0.30)
    terminal_growth: float | None = Field(default=None, ge=-0.02, le=0.05)
    growth: float | None = Field(default=None, ge=-0.5, le=1.0)

    @model_validator(mode="after")
    def _terminal_below_discount(self) -> DcfOverrides:
        if (
            self.discount_rate is not None
            and self.terminal_growth is not None
            and self.terminal_growth >= self.discount_rate
        ):
            raise ValueError("terminal_growth must be lower than discount_rate")
        return self
