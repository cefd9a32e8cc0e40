"""All queries on watchlists: one protocol, a SQL and a MongoDB implementation."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from sqlalchemy import delete, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.db import record_change
from stockdash.core.mongo import bson_now
from stockdash.storage.slots import SlotCounter
from stockdash.users.models import User
from stockdash.watchlist.entities import AlreadyTracked, LimitReached, WatchEntry
from stockdash.watchlist.models import UserStock

Changes = list[object]


class WatchlistRepository(Protocol):
    """Storage of watchlists, whatever the backend."""

    async def list_for_user(self, user_id: int) -> list[WatchEntry]: ...
    async def count(self, user_id: int) -> int: ...
    async def get(self, user_id: int, symbol: str) -> WatchEntry | None: ...
    async def add_within_limit(self, user_id: int, symbol: str, limit: int) -> WatchEntry: ...
    async def remove(self, user_id: int, symbol: str) -> bool: ...
    async def tracked_symbols(self) -> dict[str, list[str]]: ...
    async def distinct_symbol_count(self) -> int: ...


def _entry(row: UserStock) -> WatchEntry:
    return WatchEntry(row.user_id, row.symbol, row.added_at)


class SqlWatchlistRepository:
    """Watchlists in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(self, user_id: int) -> list[WatchEntry]:
        """A user's stocks, oldest first."""
        stmt = (
            select(UserStock)
            .where(UserStock.user_id == user_id)
            .order_by(UserStock.added_at, UserStock.id)
        )
        return [_entry(r) for r in (await self.session.execute(stmt)).scalars()]

    async def count(self, user_id: int) -> int:
        """How many stocks a user tracks."""
        stmt = select(func.count()).select_from(UserStock).where(UserStock.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(self, user_id: int, symbol: str) -> WatchEntry | None:
        """One watchlist entry."""
        stmt = select(UserStock).where(UserStock.user_id == user_id, UserStock.symbol == symbol)
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _entry(row)

    async def add_within_limit(self, user_id: int, symbol: str, limit: int) -> WatchEntry:
        """Insert an entry unless the user already tracks `limit` stocks or this symbol.

        The caller holds the user's row lock (PostgreSQL) or SQLite's write lock (BEGIN
        IMMEDIATE) for the unit of work, so this count-then-insert cannot interleave.
        """
        if await self.get(user_id, symbol) is not None:
            raise AlreadyTracked(symbol)
        if await self.count(user_id) >= limit:
            raise LimitReached(limit)
        row = UserStock(user_id=user_id, symbol=symbol)
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            raise AlreadyTracked(symbol) from exc
        return _entry(row)

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


class MongoWatchlistRepository:
    """Watchlists in MongoDB: `user_stocks` (unique user_id+symbol) and `watchlist_counts`.

    The limit holds without locks or transactions (`storage.slots.SlotCounter`): a per-user
    counter document is incremented only while `count < limit`, then the entry is inserted; a
    duplicate (the unique index) gives the slot back.
    """

    def __init__(self, db: AsyncDatabase[dict[str, Any]], changes: Changes) -> None:
        self.stocks = db["user_stocks"]
        self.slots = SlotCounter(db["watchlist_counts"], self.count)
        self.users = db["users"]
        self._changes = changes

    async def list_for_user(self, user_id: int) -> list[WatchEntry]:
        """A user's stocks, oldest first."""
        cursor = self.stocks.find({"user_id": user_id}).sort([("added_at", 1), ("_id", 1)])
        return [WatchEntry(d["user_id"], d["symbol"], d["added_at"]) async for d in cursor]

    async def count(self, user_id: int) -> int:
        """How many stocks a user tracks."""
        return await self.stocks.count_documents({"user_id": user_id})

    async def get(self, user_id: int, symbol: str) -> WatchEntry | None:
        """One watchlist entry."""
        doc = await self.stocks.find_one({"user_id": user_id, "symbol": symbol})
        return None if doc is None else WatchEntry(doc["user_id"], doc["symbol"], doc["added_at"])

    async def add_within_limit(self, user_id: int, symbol: str, limit: int) -> WatchEntry:
        """Take a slot (`count < limit`, atomically), then insert; duplicates give it back."""
        if await self.get(user_id, symbol) is not None:
            raise AlreadyTracked(symbol)
        if not await self.slots.take(user_id, limit):
            raise LimitReached(limit)
        entry = WatchEntry(user_id, symbol, bson_now())
        try:
            await self.stocks.insert_one(
                {"user_id": user_id, "symbol": symbol, "added_at": entry.added_at}
            )
        except DuplicateKeyError as exc:
            await self.slots.give_back(user_id)
            raise AlreadyTracked(symbol) from exc
        self._changes.append(entry)
        return entry

    async def remove(self, user_id: int, symbol: str) -> bool:
        """Delete an entry and give its slot back; whether one existed."""
        result = await self.stocks.delete_one({"user_id": user_id, "symbol": symbol})
        if result.deleted_count == 0:
            return False
        await self.slots.give_back(user_id)
        self._changes.append(WatchEntry(user_id, symbol, bson_now()))
        return True

    async def tracked_symbols(self) -> dict[str, list[str]]:
        """Every symbol at least one active user tracks, with the tiers of those users.

        Two queries instead of a `$lookup`: on a sharded cluster both collections are sharded
        by different keys (user_id, symbol), where joins are costly.
        """
        tiers: dict[int, str] = {
            d["_id"]: d["subscription_tier"]
            async for d in self.users.find({"is_active": True}, {"subscription_tier": 1})
        }
        tracked: dict[str, set[str]] = {}
        async for d in self.stocks.find({}, {"user_id": 1, "symbol": 1}):
            tier = tiers.get(d["user_id"])
            if tier is not None:
                tracked.setdefault(d["symbol"], set()).add(tier)
        return {symbol: sorted(tracked[symbol]) for symbol in sorted(tracked)}

    async def distinct_symbol_count(self) -> int:
        """How many distinct symbols are tracked."""
        return len(await self.stocks.distinct("symbol"))
