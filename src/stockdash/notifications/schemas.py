"""The notifications API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from stockdash.notifications.models import EmailMode


class NotificationPublic(BaseModel):
    """One notification (an alert that fired)."""

    id: int
    kind: str
    symbol: str | None
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read: bool


class NotificationList(BaseModel):
    """One page of your notifications, newest first, and how many are unread in all."""

    data: list[NotificationPublic]
    count: int
    unread: int
    page: int
    size: int


class ReadAll(BaseModel):
    """How many notifications were marked read."""

    updated: int


class NotificationSettingsPublic(BaseModel):
    """How you get notifications by email: `off`, `immediate` (one email per alert) or `digest`
    (at most one email a day listing them). In the app they always arrive."""

    model_config = ConfigDict(extra="forbid")

    email: EmailMode
