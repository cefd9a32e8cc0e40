"""All queries on watchlists."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.db import record_change
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock


class WatchlistRepository(Protocol):
    """Storage of watchlists, whatever the backend."""

    async def list_for_user(self, user_id: int) -> list[UserStock]: ...
    async def count(self, user_id: int) -> int: ...
    async def get(self, user_id: int, symbol: str) -> UserStock | None: ...
    async def add(self, item: UserStock) -> UserStock: ...
    async def remove(self, user_id: int, symbol: str) -> bool: ...
    async def tracked_symbols(self) -> dict[str, list[str]]: ...


class SqlWatchlistRepository:
    """Watchlists in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(self, user_id: int) -> list[UserStock]:
        """A user's stocks, oldest first."""
        stmt = (
            select(UserStock)
            .where(UserStock.user_id == user_id)
            .order_by(UserStock.added_at, UserStock.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def count(self, user_id: int) -> int:
        """How many stocks a user tracks."""
        stmt = select(func.count()).select_from(UserStock).where(UserStock.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(self, user_id: int, symbol: str) -> UserStock | None:
        """One watchlist entry."""
        stmt = select(UserStock).where(UserStock.user_id == user_id, UserStock.symbol == symbol)
        return (await self.session.execute(stmt)).scalars().first()

    async def add(self, item: UserStock) -> UserStock:
        """Insert an entry and flush."""
        self.session.add(item)
        await self.session.flush()
        return item

    async def remove(self, user_id: int, symbol: str) -> bool:
        """Delete an entry; whether one existed."""
        stmt = delete(UserStock).where(UserStock.user_id == user_id, UserStock.symbol == symbol)
        result = await self.session.execute(stmt)
        removed = bool(getattr(result, "rowcount", 0))
        if removed:
            # A bulk DELETE passes no flush: tell the commit listeners (the user cache) directly.
            record_change(self.session, UserStock(user_id=user_id, symbol=symbol))
        return removed

    async def tracked_symbols(self) -> dict[str, list[str]]:
        """Every symbol at least one active user tracks, with the tiers of those users."""
        stmt = (
            select(UserStock.symbol, User.subscription_tier)
            .join(User, User.id == UserStock.user_id)
            .where(User.is_active.is_(True))
            .group_by(UserStock.symbol, User.subscription_tier)
            .order_by(UserStock.symbol)
        )
        tracked: dict[str, list[str]] = {}
        for symbol, tier in (await self.session.execute(stmt)).all():
            tracked.setdefault(symbol, []).append(tier)
        return tracked

    async def distinct_symbol_count(self) -> int:
        """How many distinct symbols are tracked."""
        stmt = select(func.count(distinct(UserStock.symbol)))
        return int((await self.session.execute(stmt)).scalar_one())
