"""Subscription domain values: what crosses the service boundary instead of database rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SubscriptionEventRecord:
    """One upgrade or downgrade, who made it and when."""

    id: int
    user_id: int
    from_tier: str
    to_tier: str
    changed_by_user_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewSubscriptionEvent:
    """What a tier-change event is recorded from."""

    user_id: int
    from_tier: str
    to_tier: str
    changed_by_user_id: int | None
