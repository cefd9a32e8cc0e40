"""The subscription_events table: every tier change, who made it and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from stockdash.core.db import Base, UTCDateTime, utcnow


class SubscriptionEvent(Base):
    """One upgrade or downgrade."""

    __tablename__ = "subscription_events"
    __table_args__ = (
        Index("ix_subscription_events_user_id_created_at", "user_id", "created_at"),
        Index("ix_subscription_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    from_tier: Mapped[str] = mapped_column(String(16), nullable=False)
    to_tier: Mapped[str] = mapped_column(String(16), nullable=False)
    changed_by_user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
