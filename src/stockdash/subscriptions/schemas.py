"""Bodies for tiers and tier changes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from stockdash.subscriptions.tiers import AnalystModel, Tier


class TierPublic(BaseModel):
    """One subscription tier."""

    tier: Tier
    name: str
    max_stocks: int
    max_alerts: int
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


class SubscriptionEventPublic(BaseModel):
    """One tier change."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    from_tier: Tier
    to_tier: Tier
    changed_by_user_id: int | None
    created_at: datetime


class SubscriptionEventList(BaseModel):
    """A user's tier changes, newest first."""

    data: list[SubscriptionEventPublic]
    count: int
