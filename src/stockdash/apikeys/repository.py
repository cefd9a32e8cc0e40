"""All queries on API keys: one protocol, a SQL and a MongoDB implementation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.apikeys.entities import ApiKeyRecord, KeyLimitReached, NewApiKey
from stockdash.apikeys.models import ApiKey
from stockdash.core.mongo import bson_now, next_id
from stockdash.storage.slots import SlotCounter

FIELDS = ("id", "user_id", "name", "prefix", "key_hash", "created_at", "last_used_at")


class ApiKeyRepository(Protocol):
    """Storage of API keys, whatever the backend."""

    async def list_for_user(self, user_id: int) -> list[ApiKeyRecord]: ...
    async def count(self, user_id: int) -> int: ...
    async def by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    async def add(self, key: NewApiKey) -> ApiKeyRecord: ...
    async def add_within_limit(self, key: NewApiKey, limit: int) -> ApiKeyRecord: ...
    async def remove(self, user_id: int, key_id: int) -> bool: ...
    async def remove_all(self, user_id: int) -> int: ...
    async def touch(self, key_id: int, when: datetime) -> None: ...


def _record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(**{name: getattr(row, name) for name in FIELDS})


class SqlApiKeyRepository:
    """API keys in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(self, user_id: int) -> list[ApiKeyRecord]:
        """A user's keys, oldest first."""
        stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)
        return [_record(k) for k in (await self.session.execute(stmt)).scalars()]

    async def count(self, user_id: int) -> int:
        """How many keys a user has."""
        stmt = select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        """The key with this public prefix."""
        stmt = select(ApiKey).where(ApiKey.prefix == prefix)
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _record(row)

    async def add(self, key: NewApiKey) -> ApiKeyRecord:
        """Insert a key (its id assigned)."""
        row = ApiKey(user_id=key.user_id, name=key.name, prefix=key.prefix, key_hash=key.key_hash)
        self.session.add(row)
        await self.session.flush()
        return _record(row)

    async def add_within_limit(self, key: NewApiKey, limit: int) -> ApiKeyRecord:
        """Insert a key unless the user holds `limit` already (KeyLimitReached); the caller
        holds the user's row lock, which serialises concurrent creations."""
        if await self.count(key.user_id) >= limit:
            raise KeyLimitReached(limit)
        return await self.add(key)

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


class MongoApiKeyRepository:
    """API keys in MongoDB's `api_keys` collection: integer `_id` from `counters` (the ids the
    routes use), unique `prefix`, an index on `user_id`. The per-user cap is a slot counter in
    `api_key_counts` (`storage.slots`), as the watchlist limit: no lock needed."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.keys = db["api_keys"]
        self.counters = db["counters"]
        self.slots = SlotCounter(db["api_key_counts"], self.count)

    @staticmethod
    def _record(doc: dict[str, Any]) -> ApiKeyRecord:
        return ApiKeyRecord(id=doc["_id"], **{k: doc[k] for k in FIELDS if k != "id"})

    async def list_for_user(self, user_id: int) -> list[ApiKeyRecord]:
        """A user's keys, oldest first."""
        cursor = self.keys.find({"user_id": user_id}).sort("_id", 1)
        return [self._record(d) async for d in cursor]

    async def count(self, user_id: int) -> int:
        """How many keys a user has."""
        return await self.keys.count_documents({"user_id": user_id})

    async def by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        """The key with this public prefix."""
        doc = await self.keys.find_one({"prefix": prefix})
        return None if doc is None else self._record(doc)

    async def add(self, key: NewApiKey) -> ApiKeyRecord:
        """Insert a key (its id assigned)."""
        seq = await next_id(self.counters, "api_keys")
        record = ApiKeyRecord(
            id=seq,
            user_id=key.user_id,
            name=key.name,
            prefix=key.prefix,
            key_hash=key.key_hash,
            created_at=bson_now(),
            last_used_at=None,
        )
        doc: dict[str, Any] = {"_id": record.id}
        doc.update({k: getattr(record, k) for k in FIELDS if k != "id"})
        await self.keys.insert_one(doc)
        return record

    async def add_within_limit(self, key: NewApiKey, limit: int) -> ApiKeyRecord:
        """Take a slot (`count < limit`, atomically), then insert; a failed insert gives it back."""
        if not await self.slots.take(key.user_id, limit):
            raise KeyLimitReached(limit)
        try:
            return await self.add(key)
        except Exception:
            await self.slots.give_back(key.user_id)
            raise

    async def remove(self, user_id: int, key_id: int) -> bool:
        """Delete one of a user's keys; whether it existed."""
        result = await self.keys.delete_one({"_id": key_id, "user_id": user_id})
        if result.deleted_count != 1:
            return False
        await self.slots.give_back(user_id)
        return True

    async def remove_all(self, user_id: int) -> int:
        """Delete every key of a user; how many there were."""
        removed = (await self.keys.delete_many({"user_id": user_id})).deleted_count
        await self.slots.give_back(user_id, removed)
        return removed

    async def touch(self, key_id: int, when: datetime) -> None:
        """Record a use."""
        await self.keys.update_one({"_id": key_id}, {"$set": {"last_used_at": when}})
