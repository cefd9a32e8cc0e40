"""The user_stocks table: one row per (user, tracked symbol)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stockdash.core.db import Base, UTCDateTime, utcnow


class UserStock(Base):
    """A symbol on a user's watchlist."""

    __tablename__ = "user_stocks"
    __table_args__ = (
        UniqueConstraint("user_id", "symbol", name="uq_user_stocks_user_id_symbol"),
        Index("ix_user_stocks_user_id", "user_id"),
        Index("ix_user_stocks_symbol", "symbol"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    symbol: Mapped[str] = mapped_column(String(16), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
