"""All queries on API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.apikeys.models import ApiKey


class SqlApiKeyRepository:
    """API keys in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(self, user_id: int) -> list[ApiKey]:
        """A user's keys, oldest first."""
        stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)
        return list((await self.session.execute(stmt)).scalars())

    async def count(self, user_id: int) -> int:
        """How many keys a user has."""
        stmt = select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        """The key with this public prefix."""
        stmt = select(ApiKey).where(ApiKey.prefix == prefix)
        return (await self.session.execute(stmt)).scalars().first()

    async def add(self, key: ApiKey) -> ApiKey:
        """Insert a key and flush."""
        self.session.add(key)
        await self.session.flush()
        return key

    async def remove(self, user_id: int, key_id: int) -> bool:
        """Delete one of a user's keys; whether it existed."""
        stmt = delete(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def remove_all(self, user_id: int) -> int:
        """Delete every key of a user; how many there were."""
        result = await self.session.execute(delete(ApiKey).where(ApiKey.user_id == user_id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def touch(self, key_id: int, when: datetime) -> None:
        """Record a use."""
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when)
        )
