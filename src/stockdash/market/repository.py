"""All queries on the stock_cache table."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.market.models import StockCache


class StockCacheRepository(Protocol):
    """Persistent latest data per symbol, whatever the backend."""

    async def get(self, symbol: str) -> StockCache | None: ...
    async def upsert_data(
        self, symbol: str, data: dict[str, Any], now: datetime, expires: datetime
    ) -> None: ...
    async def merge_data(
        self, symbol: str, patch: dict[str, Any], now: datetime, expires: datetime | None
    ) -> None: ...
    async def set_analyses(self, symbol: str, analyses: dict[str, Any], now: datetime) -> None: ...


class SqlStockCacheRepository:
    """stock_cache rows in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(StockCache)

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

    async def upsert_data(
        self, symbol: str, data: dict[str, Any], now: datetime, expires: datetime
    ) -> None:
        """Store the latest market data for a symbol, keeping its analyses."""
        stmt = self._insert().values(
            symbol=symbol, stock_data=data, ai_analyses={}, last_updated=now, expires_at=expires
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["symbol"],
            set_={"stock_data": data, "last_updated": now, "expires_at": expires},
        )
        await self.session.execute(stmt)

    async def merge_data(
        self, symbol: str, patch: dict[str, Any], now: datetime, expires: datetime | None
    ) -> None:
        """Update some top-level keys of a symbol's stock_data (quote, fundamentals), keeping the rest.

        `expires` (the quote's expiry) is left unchanged when None.
        """
        await self.merge_many({symbol: patch}, now, expires)

    async def merge_many(
        self, patches: dict[str, dict[str, Any]], now: datetime, expires: datetime | None
    ) -> None:
        """`merge_data` for several symbols: one read of their rows, one upsert each."""
        existing = await self.get_many(list(patches))
        for symbol, patch in patches.items():
            row = existing.get(symbol)
            data = {**(row.stock_data if row is not None else {}), **patch}
            values: dict[str, Any] = {"stock_data": data, "last_updated": now}
            if expires is not None:
                values["expires_at"] = expires
            stmt = self._insert().values(
                symbol=symbol,
                stock_data=data,
                ai_analyses={},
                last_updated=now,
                expires_at=expires if expires is not None else now,
            )
            await self.session.execute(
                stmt.on_conflict_do_update(index_elements=["symbol"], set_=values)
            )

    async def set_analyses(self, symbol: str, analyses: dict[str, Any], now: datetime) -> None:
        """Store the latest analyses for a symbol (the row must exist)."""
        stmt = (
            update(StockCache)
            .where(StockCache.symbol == symbol)
            .values(ai_analyses=analyses, last_updated=now)
        )
        await self.session.execute(stmt)
