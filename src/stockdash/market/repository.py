"""All queries on the persisted stock cache: the stock_cache table (SQL) or collection
(MongoDB)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.mongo import bson_time
from stockdash.market.models import StockCache

STOCK_CACHE = cast(Table, StockCache.__table__)


@dataclass
class RowWrite:
    """What to change in one symbol's row: keys merged into stock_data, and optionally the
    quote's expiry and the attachment (left as they are when None)."""

    patch: dict[str, Any]
    expires: datetime | None = None
    attachment: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StockCacheEntry:
    """The persisted latest data of one symbol, its attachment (see market.models) and when
    its quote expires."""

    symbol: str
    stock_data: dict[str, Any]
    ai_analyses: dict[str, Any]
    last_updated: datetime
    expires_at: datetime


def _entry(row: StockCache) -> StockCacheEntry:
    return StockCacheEntry(
        row.symbol, row.stock_data or {}, row.ai_analyses or {}, row.last_updated, row.expires_at
    )


class StockCacheRepository(Protocol):
    """Persistent latest data per symbol, whatever the backend."""

    async def get(self, symbol: str) -> StockCacheEntry | None: ...
    async def get_many(self, symbols: list[str]) -> dict[str, StockCacheEntry]: ...
    async def set_attachment(
        self, symbol: str, attachment: dict[str, Any], now: datetime
    ) -> None: ...
    async def write_many(self, writes: dict[str, RowWrite], now: datetime) -> None: ...


class SqlStockCacheRepository:
    """stock_cache rows in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        # The Core table, not the entity: a list of rows then runs as one plain executemany.
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(STOCK_CACHE)

    async def get(self, symbol: str) -> StockCacheEntry | None:
        """The persisted entry for a symbol."""
        stmt = select(StockCache).where(StockCache.symbol == symbol)
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _entry(row)

    async def get_many(self, symbols: list[str]) -> dict[str, StockCacheEntry]:
        """Persisted entries for several symbols."""
        if not symbols:
            return {}
        stmt = select(StockCache).where(StockCache.symbol.in_(symbols))
        return {row.symbol: _entry(row) for row in (await self.session.execute(stmt)).scalars()}

    async def stock_data_many(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """The stock_data of several symbols (without their larger attachment column)."""
        if not symbols:
            return {}
        stmt = select(StockCache.symbol, StockCache.stock_data).where(
            StockCache.symbol.in_(symbols)
        )
        return {symbol: data or {} for symbol, data in (await self.session.execute(stmt)).all()}

    async def write_many(self, writes: dict[str, RowWrite], now: datetime) -> None:
        """Apply several symbols' writes: one read of their stock_data, then one multi-row
        upsert per set of changed columns (a refresh batch is usually a single statement)."""
        existing = await self.stock_data_many(list(writes))
        groups: dict[tuple[bool, bool], list[dict[str, Any]]] = defaultdict(list)
        for symbol, write in writes.items():
            groups[(write.expires is not None, write.attachment is not None)].append(
                {
                    "symbol": symbol,
                    "stock_data": {**existing.get(symbol, {}), **write.patch},
                    "ai_analyses": write.attachment if write.attachment is not None else {},
                    "last_updated": now,
                    "expires_at": write.expires if write.expires is not None else now,
                }
            )
        for (sets_expiry, sets_attachment), rows in groups.items():
            stmt = self._insert()
            columns = ["stock_data", "last_updated"]
            columns += ["expires_at"] * sets_expiry + ["ai_analyses"] * sets_attachment
            stmt = stmt.on_conflict_do_update(
                index_elements=["symbol"], set_={c: stmt.excluded[c] for c in columns}
            )
            await self.session.execute(stmt, rows)

    async def set_attachment(self, symbol: str, attachment: dict[str, Any], now: datetime) -> None:
        """Store a symbol's attachment (the row must exist)."""
        stmt = (
            update(StockCache)
            .where(StockCache.symbol == symbol)
            .values(ai_analyses=attachment, last_updated=now)
        )
        await self.session.execute(stmt)


class MongoStockCacheRepository:
    """The stock cache in MongoDB's `stock_cache` (`_id` = symbol, the shard key the data is
    ready for). A write merges its keys into `stock_data` with `$set` on dotted paths, so
    concurrent writers of different keys of one symbol never undo each other; the TTL index
    on `expires_at` removes a symbol some time after its quote expired (see storage.mongo)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.cache = db["stock_cache"]

    @staticmethod
    def _entry(doc: dict[str, Any]) -> StockCacheEntry:
        return StockCacheEntry(
            doc["_id"],
            doc.get("stock_data") or {},
            doc.get("ai_analyses") or {},
            doc["last_updated"],
            doc["expires_at"],
        )

    async def get(self, symbol: str) -> StockCacheEntry | None:
        """The persisted entry for a symbol."""
        doc = await self.cache.find_one({"_id": symbol})
        return None if doc is None else self._entry(doc)

    async def get_many(self, symbols: list[str]) -> dict[str, StockCacheEntry]:
        """Persisted entries for several symbols."""
        if not symbols:
            return {}
        return {d["_id"]: self._entry(d) async for d in self.cache.find({"_id": {"$in": symbols}})}

    async def write_many(self, writes: dict[str, RowWrite], now: datetime) -> None:
        """Apply several symbols' writes in one bulk round trip (an upsert per symbol)."""
        if not writes:
            return
        stamp = bson_time(now)
        ops = []
        for symbol, write in writes.items():
            fields: dict[str, Any] = {f"stock_data.{k}": v for k, v in write.patch.items()}
            fields["last_updated"] = stamp
            on_insert: dict[str, Any] = {}
            if write.patch == {}:
                on_insert["stock_data"] = {}
            if write.expires is not None:
                fields["expires_at"] = bson_time(write.expires)
            else:
                on_insert["expires_at"] = stamp
            if write.attachment is not None:
                fields["ai_analyses"] = write.attachment
            else:
                on_insert["ai_analyses"] = {}
            update = {"$set": fields} | ({"$setOnInsert": on_insert} if on_insert else {})
            ops.append(UpdateOne({"_id": symbol}, update, upsert=True))
        await self.cache.bulk_write(ops, ordered=False)

    async def set_attachment(self, symbol: str, attachment: dict[str, Any], now: datetime) -> None:
        """Store a symbol's attachment (nothing when the symbol has no entry)."""
        await self.cache.update_one(
            {"_id": symbol}, {"$set": {"ai_analyses": attachment, "last_updated": bson_time(now)}}
        )
