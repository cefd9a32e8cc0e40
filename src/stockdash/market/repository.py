"""All queries on the stock_cache table."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.market.models import StockCache

STOCK_CACHE = cast(Table, StockCache.__table__)


@dataclass
class RowWrite:
    """What to change in one symbol's row: keys merged into stock_data, and optionally the
    quote's expiry and the attachment (left as they are when None)."""

    patch: dict[str, Any]
    expires: datetime | None = None
    attachment: dict[str, Any] | None = None


class StockCacheRepository(Protocol):
    """Persistent latest data per symbol, whatever the backend."""

    async def get(self, symbol: str) -> StockCache | None: ...
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

    async def get(self, symbol: str) -> StockCache | None:
        """The persisted entry for a symbol."""
        stmt = select(StockCache).where(StockCache.symbol == symbol)
        return (await self.session.execute(stmt)).scalars().first()

    async def get_many(self, symbols: list[str]) -> dict[str, StockCache]:
        """Persisted entries for several symbols."""
        if not symbols:
            return {}
        stmt = select(StockCache).where(StockCache.symbol.in_(symbols))
        return {row.symbol: row for row in (await self.session.execute(stmt)).scalars()}

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
