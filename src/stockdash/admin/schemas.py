"""Bodies for the admin API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from stockdash.subscriptions.tiers import Tier
from stockdash.users.schemas import UserPublic

Role = Literal["user", "admin"]


class AdminUserUpdate(BaseModel):
    """Changes to one account; omitted (or null) fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier | None = None
    role: Role | None = None
    is_active: bool | None = None


class AdminUserList(BaseModel):
    """One page of users."""

    data: list[UserPublic]
    count: int
    page: int
    size: int


class DayCount(BaseModel):
    """Registrations on one UTC day."""

    date: date
    count: int


class SymbolCount(BaseModel):
    """How many watchlists hold a symbol."""

    symbol: str
    count: int


class AdminStats(BaseModel):
    """Service-wide numbers for the admin dashboard."""

    total_users: int
    active_users: int
    users_by_tier: dict[Tier, int]
    registrations_per_day: list[DayCount]
    conversions: int
    most_tracked: list[SymbolCount]


class AuditLogPublic(BaseModel):
    """One administrative action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    actor_user_id: int | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    created_at: datetime


class AuditLogList(BaseModel):
    """One page of the audit log, newest first."""

    data: list[AuditLogPublic]
    count: int
    page: int
    size: int
