"""Bodies for tiers and tier changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from stockdash.subscriptions.tiers import AnalystModel, Tier


class TierPublic(BaseModel):
    """One subscription tier."""

    tier: Tier
    name: str
    max_stocks: int
    models: list[AnalystModel]
    description: str


class TierList(BaseModel):
    """All tiers, cheapest first."""

    data: list[TierPublic]
    count: int


class TierChange(BaseModel):
    """A request to move to another tier."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
