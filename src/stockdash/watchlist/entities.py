"""Watchlist domain values: what crosses the service boundary instead of database rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One tracked symbol of a user."""

    user_id: int
    symbol: str
    added_at: datetime


class AlreadyTracked(Exception):
    """The symbol is already on the user's watchlist."""


class LimitReached(Exception):
    """The watchlist already holds as many symbols as the limit allows."""
