"""The alerts table: one row per alert a user set on a symbol."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from stockdash.core.db import Base, UTCDateTime, utcnow


class AlertKind(StrEnum):
    """What an alert watches."""

    PRICE_ABOVE = "price_above"
    PRICE_BELOW = "price_below"
    # |daily change| >= threshold percent, either way.
    DAILY_MOVE = "daily_move"
    SCORE_ABOVE = "score_above"
    SCORE_BELOW = "score_below"
    SIGNAL_CHANGE = "signal_change"


# The score an alert may watch: one analyst's, or the consensus of the user's analysts.
CONSENSUS = "consensus"


class Alert(Base):
    """An alert on a symbol; `armed` is False after it fired until its condition is false again."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('price_above', 'price_below', 'daily_move', 'score_above', 'score_below', "
            "'signal_change')",
            name="kind",
        ),
        Index("ix_alerts_symbol", "symbol"),
        Index("ix_alerts_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    symbol: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    model: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    armed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The consensus signal last seen (signal_change alerts fire when it differs).
    last_signal: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
