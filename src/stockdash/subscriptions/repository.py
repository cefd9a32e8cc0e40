"""All queries on subscription events: one protocol, a SQL and a MongoDB implementation."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.mongo import bson_now, next_id
from stockdash.subscriptions.entities import NewSubscriptionEvent, SubscriptionEventRecord
from stockdash.subscriptions.models import SubscriptionEvent
from stockdash.subscriptions.tiers import TIER_ORDER

FIELDS = ("id", "user_id", "from_tier", "to_tier", "changed_by_user_id", "created_at")
# Every (from, to) pair that moves a user to a more generous tier.
UPGRADES = [
    (low.value, high.value) for i, low in enumerate(TIER_ORDER) for high in TIER_ORDER[i + 1 :]
]


class SubscriptionEventRepository(Protocol):
    """Storage of tier-change events, whatever the backend."""

    async def add(self, event: NewSubscriptionEvent) -> SubscriptionEventRecord: ...
    async def list_for_user(self, user_id: int) -> list[SubscriptionEventRecord]: ...
    async def count_upgrades(self) -> int: ...


def _record(row: SubscriptionEvent) -> SubscriptionEventRecord:
    return SubscriptionEventRecord(**{name: getattr(row, name) for name in FIELDS})


class SqlSubscriptionEventRepository:
    """Subscription events in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: NewSubscriptionEvent) -> SubscriptionEventRecord:
        """Insert an event (its id assigned)."""
        row = SubscriptionEvent(
            user_id=event.user_id,
            from_tier=event.from_tier,
            to_tier=event.to_tier,
            changed_by_user_id=event.changed_by_user_id,
        )
        self.session.add(row)
        await self.session.flush()
        return _record(row)

    async def list_for_user(self, user_id: int) -> list[SubscriptionEventRecord]:
        """A user's tier changes, newest first."""
        stmt = (
            select(SubscriptionEvent)
            .where(SubscriptionEvent.user_id == user_id)
            .order_by(SubscriptionEvent.created_at.desc(), SubscriptionEvent.id.desc())
        )
        return [_record(r) for r in (await self.session.execute(stmt)).scalars()]

    async def count_upgrades(self) -> int:
        """How many changes moved a user to a more generous tier."""
        pairs = [
            and_(SubscriptionEvent.from_tier == low, SubscriptionEvent.to_tier == high)
            for low, high in UPGRADES
        ]
        stmt = select(func.count()).select_from(SubscriptionEvent).where(or_(*pairs))
        return int((await self.session.execute(stmt)).scalar_one())


class MongoSubscriptionEventRepository:
    """Subscription events in MongoDB's `subscription_events` (integer `_id` from `counters`,
    indexes on (user_id, created_at) and created_at)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.events = db["subscription_events"]
        self.counters = db["counters"]

    @staticmethod
    def _record(doc: dict[str, Any]) -> SubscriptionEventRecord:
        return SubscriptionEventRecord(id=doc["_id"], **{k: doc[k] for k in FIELDS if k != "id"})

    async def add(self, event: NewSubscriptionEvent) -> SubscriptionEventRecord:
        """Insert an event (its id assigned)."""
        seq = await next_id(self.counters, "subscription_events")
        record = SubscriptionEventRecord(
            id=seq,
            user_id=event.user_id,
            from_tier=event.from_tier,
            to_tier=event.to_tier,
            changed_by_user_id=event.changed_by_user_id,
            created_at=bson_now(),
        )
        doc: dict[str, Any] = {"_id": record.id}
        doc.update({k: getattr(record, k) for k in FIELDS if k != "id"})
        await self.events.insert_one(doc)
        return record

    async def list_for_user(self, user_id: int) -> list[SubscriptionEventRecord]:
        """A user's tier changes, newest first."""
        cursor = self.events.find({"user_id": user_id}).sort([("created_at", -1), ("_id", -1)])
        return [self._record(d) async for d in cursor]

    async def count_upgrades(self) -> int:
        """How many changes moved a user to a more generous tier."""
        return await self.events.count_documents(
            {"$or": [{"from_tier": low, "to_tier": high} for low, high in UPGRADES]}
        )
