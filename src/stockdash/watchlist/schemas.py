"""Bodies for watchlists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Symbol = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=12,
        pattern=r"^[A-Za-z0-9.\-]+$",
    ),
]


class WatchlistAdd(BaseModel):
    """Add one symbol."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol = Field(description="Ticker, e.g. AAPL or BRK.B; case-insensitive.")


class WatchlistItem(BaseModel):
    """One tracked symbol."""

    model_config = ConfigDict(from_attributes=True)

    symbol: str
    added_at: datetime


class WatchlistPublic(BaseModel):
    """A user's watchlist with their tier's limit."""

    data: list[WatchlistItem]
    count: int
    max_stocks: int
