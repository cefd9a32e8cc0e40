"""The alerts API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stockdash.alerts.models import AlertKind
from stockdash.subscriptions.tiers import AnalystModel

ScoreModel = Literal["consensus", "basic", "warren_buffett", "peter_lynch", "dcf_math"]
SCORE_KINDS = (AlertKind.SCORE_ABOVE, AlertKind.SCORE_BELOW)
PRICE_KINDS = (AlertKind.PRICE_ABOVE, AlertKind.PRICE_BELOW)
assert set(ScoreModel.__args__) == {"consensus", *AnalystModel}  # type: ignore[attr-defined]


def check_threshold(kind: AlertKind, threshold: float | None) -> str | None:
    """What is wrong with a threshold for a kind of alert (None: nothing)."""
    if kind == AlertKind.SIGNAL_CHANGE:
        return "a signal_change alert takes no threshold" if threshold is not None else None
    if threshold is None:
        return f"a {kind} alert needs a threshold"
    if kind in PRICE_KINDS and not 0 < threshold <= 1e7:
        return "a price threshold must be above 0"
    if kind == AlertKind.DAILY_MOVE and not 0 < threshold <= 100:
        return "a daily move is a percentage above 0 and at most 100"
    if kind in SCORE_KINDS and not 0 <= threshold <= 100:
        return "a score threshold is between 0 and 100"
    return None


class AlertCreate(BaseModel):
    """A new alert on a symbol of your watchlist.

    `price_above`/`price_below`: the price crosses `threshold`; `daily_move`: the day's change
    is at least `threshold` percent either way; `score_above`/`score_below`: `model`'s score
    (an analyst your plan includes, or `consensus`) crosses `threshold` (0-100);
    `signal_change`: the consensus signal changes (no threshold).
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    symbol: str = Field(min_length=1, max_length=16)
    kind: AlertKind
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    model: ScoreModel | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problem = check_threshold(self.kind, self.threshold)
        if problem:
            raise ValueError(problem)
        if self.kind in SCORE_KINDS and self.model is None:
            raise ValueError(f"a {self.kind} alert needs a model (an analyst or 'consensus')")
        if self.kind not in SCORE_KINDS and self.model is not None:
            raise ValueError(f"a {self.kind} alert takes no model")
        return self


class AlertUpdate(BaseModel):
    """Change an alert's threshold (re-arms it) or turn it off and on."""

    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(default=None, allow_inf_nan=False)
    enabled: bool | None = None


class AlertPublic(BaseModel):
    """An alert. `armed` is false after it fired, until its condition is false again; `paused`
    is true while its symbol is not on your watchlist (it is not evaluated then)."""

    model_config = ConfigDict(protected_namespaces=())

    id: int
    symbol: str
    kind: AlertKind
    threshold: float | None
    model: str | None
    enabled: bool
    armed: bool
    paused: bool
    created_at: datetime
    last_fired_at: datetime | None


class AlertList(BaseModel):
    """Your alerts, newest first, with your plan's limit."""

    data: list[AlertPublic]
    count: int
    max_alerts: int
