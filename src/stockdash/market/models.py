"""The stock_cache table: latest market data per symbol, so a restart starts warm.

Beside it each row holds one opaque JSON attachment that another package keeps with the
symbol (the analysis package's latest analyses, hence the column's name); market stores it
and hands it back, never reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from stockdash.core.db import Base, UTCDateTime, utcnow


class StockCache(Base):
    """Persisted cache entry for one symbol."""

    __tablename__ = "stock_cache"
    __table_args__ = (Index("ix_stock_cache_last_updated", "last_updated"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    stock_data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # The attachment (see the module docstring); {} when there is none.
    ai_analyses: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
