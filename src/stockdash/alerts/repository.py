"""All queries on alerts: domain records, a SQL and a MongoDB implementation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Exists

from stockdash.alerts.models import Alert
from stockdash.core.db import utcnow
from stockdash.core.mongo import bson_now, bson_time, next_id
from stockdash.storage.slots import SlotCounter
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock

ALERT_FIELDS = (
    "id",
    "user_id",
    "symbol",
    "kind",
    "threshold",
    "model",
    "enabled",
    "armed",
    "last_signal",
    "created_at",
    "last_fired_at",
)
# What a change of an alert (by its owner, or by an evaluation) may write.
STATE_FIELDS = ("threshold", "enabled", "armed", "last_signal", "last_fired_at")


@dataclass(slots=True)
class AlertRecord:
    """An alert on a symbol; `armed` is False after it fired until its condition is false
    again. Mutable: an evaluation updates its state, which `save` then stores."""

    id: int
    user_id: int
    symbol: str
    kind: str
    threshold: float | None
    model: str | None
    enabled: bool
    armed: bool
    last_signal: str | None
    created_at: datetime
    last_fired_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewAlert:
    """What an alert is created from."""

    user_id: int
    symbol: str
    kind: str
    threshold: float | None
    model: str | None


class AlertLimitReached(Exception):
    """The user already has as many alerts as their tier allows."""


class AlertRepository(Protocol):
    """Storage of alerts, whatever the backend."""

    async def list_for_user(
        self, user_id: int, symbol: str | None = None
    ) -> list[tuple[AlertRecord, bool]]: ...
    async def get(self, user_id: int, alert_id: int) -> AlertRecord | None: ...
    async def count(self, user_id: int) -> int: ...
    async def watched(self, user_id: int, symbol: str) -> bool: ...
    async def add_within_limit(self, alert: NewAlert, limit: int) -> AlertRecord: ...
    async def save(self, alert: AlertRecord) -> None: ...
    async def remove(self, user_id: int, alert_id: int) -> bool: ...
    async def to_evaluate(self, symbols: Sequence[str]) -> list[tuple[AlertRecord, str]]: ...


def _record(row: Alert) -> AlertRecord:
    return AlertRecord(**{name: getattr(row, name) for name in ALERT_FIELDS})


def _watched() -> Exists:
    """Whether the alert's owner has its symbol on their watchlist (correlated EXISTS)."""
    return (
        exists()
        .where(UserStock.user_id == Alert.user_id, UserStock.symbol == Alert.symbol)
        .correlate(Alert)
    )


class SqlAlertRepository:
    """Alerts in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(
        self, user_id: int, symbol: str | None = None
    ) -> list[tuple[AlertRecord, bool]]:
        """A user's alerts, newest first, each with whether its symbol is on their watchlist."""
        stmt = select(Alert, _watched()).where(Alert.user_id == user_id)
        if symbol is not None:
            stmt = stmt.where(Alert.symbol == symbol)
        rows = await self.session.execute(stmt.order_by(Alert.id.desc()))
        return [(_record(alert), bool(watched)) for alert, watched in rows.all()]

    async def get(self, user_id: int, alert_id: int) -> AlertRecord | None:
        """One of the user's alerts (None for anyone else's)."""
        stmt = select(Alert).where(Alert.id == alert_id, Alert.user_id == user_id)
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if row is None else _record(row)

    async def count(self, user_id: int) -> int:
        """How many alerts the user has."""
        stmt = select(func.count()).select_from(Alert).where(Alert.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def watched(self, user_id: int, symbol: str) -> bool:
        """Whether the symbol is on the user's watchlist."""
        stmt = select(UserStock.id).where(UserStock.user_id == user_id, UserStock.symbol == symbol)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def add_within_limit(self, alert: NewAlert, limit: int) -> AlertRecord:
        """Insert an alert unless the user has `limit` already (AlertLimitReached); the caller
        holds the user's row lock, which serialises concurrent creations."""
        if await self.count(alert.user_id) >= limit:
            raise AlertLimitReached(limit)
        row = Alert(
            user_id=alert.user_id,
            symbol=alert.symbol,
            kind=alert.kind,
            threshold=alert.threshold,
            model=alert.model,
        )
        self.session.add(row)
        await self.session.flush()
        return _record(row)

    async def save(self, alert: AlertRecord) -> None:
        """Store an alert's changed state (threshold, switch, arming, last signal and firing)."""
        values: dict[str, Any] = {name: getattr(alert, name) for name in STATE_FIELDS}
        stmt = (
            update(Alert)
            .where(Alert.id == alert.id)
            .values(**values, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    async def remove(self, user_id: int, alert_id: int) -> bool:
        """Delete one of the user's alerts; whether it existed."""
        stmt = delete(Alert).where(Alert.id == alert_id, Alert.user_id == user_id)
        return bool(getattr(await self.session.execute(stmt), "rowcount", 0))

    async def to_evaluate(self, symbols: Sequence[str]) -> list[tuple[AlertRecord, str]]:
        """Every enabled alert on these symbols whose owner still watches the symbol (the others
        are paused), with the owner's tier: one query, however many alerts there are."""
        stmt = (
            select(Alert, User.subscription_tier)
            .join(User, User.id == Alert.user_id)
            .where(Alert.symbol.in_(list(symbols)), Alert.enabled.is_(True), User.is_active)
            .where(_watched())
            .order_by(Alert.id)
        )
        return [(_record(a), str(t)) for a, t in (await self.session.execute(stmt)).all()]


class MongoAlertRepository:
    """Alerts in MongoDB's `alerts` (integer `_id` from `counters`; indexes on `symbol` and
    `user_id`); the per-tier cap is a slot counter in `alert_counts` (`storage.slots`). The
    watched test reads `user_stocks` in a second query instead of a `$lookup` (the collections
    are sharded by different keys)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.alerts = db["alerts"]
        self.stocks = db["user_stocks"]
        self.users = db["users"]
        self.counters = db["counters"]
        self.slots = SlotCounter(db["alert_counts"], self.count)

    @staticmethod
    def _record(doc: dict[str, Any]) -> AlertRecord:
        return AlertRecord(id=doc["_id"], **{k: doc[k] for k in ALERT_FIELDS if k != "id"})

    async def _symbols(self, user_id: int) -> set[str]:
        cursor = self.stocks.find({"user_id": user_id}, {"symbol": 1})
        return {d["symbol"] async for d in cursor}

    async def list_for_user(
        self, user_id: int, symbol: str | None = None
    ) -> list[tuple[AlertRecord, bool]]:
        """A user's alerts, newest first, each with whether its symbol is on their watchlist."""
        query: dict[str, Any] = {"user_id": user_id}
        if symbol is not None:
            query["symbol"] = symbol
        watched = await self._symbols(user_id)
        cursor = self.alerts.find(query).sort("_id", -1)
        return [(self._record(d), d["symbol"] in watched) async for d in cursor]

    async def get(self, user_id: int, alert_id: int) -> AlertRecord | None:
        """One of the user's alerts (None for anyone else's)."""
        doc = await self.alerts.find_one({"_id": alert_id, "user_id": user_id})
        return None if doc is None else self._record(doc)

    async def count(self, user_id: int) -> int:
        """How many alerts the user has."""
        return await self.alerts.count_documents({"user_id": user_id})

    async def watched(self, user_id: int, symbol: str) -> bool:
        """Whether the symbol is on the user's watchlist."""
        return await self.stocks.find_one({"user_id": user_id, "symbol": symbol}) is not None

    async def add_within_limit(self, alert: NewAlert, limit: int) -> AlertRecord:
        """Take a slot (`count < limit`, atomically), then insert; a failed insert gives it back."""
        if not await self.slots.take(alert.user_id, limit):
            raise AlertLimitReached(limit)
        try:
            seq = await next_id(self.counters, "alerts")
            now = bson_now()
            doc: dict[str, Any] = {
                "_id": seq,
                "user_id": alert.user_id,
                "symbol": alert.symbol,
                "kind": alert.kind,
                "threshold": alert.threshold,
                "model": alert.model,
                "enabled": True,
                "armed": True,
                "last_signal": None,
                "created_at": now,
                "updated_at": now,
                "last_fired_at": None,
            }
            await self.alerts.insert_one(doc)
        except Exception:
            await self.slots.give_back(alert.user_id)
            raise
        return self._record(doc)

    async def save(self, alert: AlertRecord) -> None:
        """Store an alert's changed state (threshold, switch, arming, last signal and firing)."""
        values: dict[str, Any] = {name: getattr(alert, name) for name in STATE_FIELDS}
        if values["last_fired_at"] is not None:
            values["last_fired_at"] = bson_time(values["last_fired_at"])
        await self.alerts.update_one(
            {"_id": alert.id}, {"$set": {**values, "updated_at": bson_now()}}
        )

    async def remove(self, user_id: int, alert_id: int) -> bool:
        """Delete one of the user's alerts; whether it existed."""
        result = await self.alerts.delete_one({"_id": alert_id, "user_id": user_id})
        if result.deleted_count != 1:
            return False
        await self.slots.give_back(user_id)
        return True

    async def to_evaluate(self, symbols: Sequence[str]) -> list[tuple[AlertRecord, str]]:
        """Every enabled alert on these symbols whose active owner still watches the symbol,
        with the owner's tier (three queries, however many alerts there are)."""
        alerts = [
            self._record(d)
            async for d in self.alerts.find(
                {"symbol": {"$in": list(symbols)}, "enabled": True}
            ).sort("_id", 1)
        ]
        owners = sorted({a.user_id for a in alerts})
        if not owners:
            return []
        tiers = {
            d["_id"]: str(d["subscription_tier"])
            async for d in self.users.find(
                {"_id": {"$in": owners}, "is_active": True}, {"subscription_tier": 1}
            )
        }
        watched = {
            (d["user_id"], d["symbol"])
            async for d in self.stocks.find(
                {"user_id": {"$in": owners}, "symbol": {"$in": list(symbols)}},
                {"user_id": 1, "symbol": 1},
            )
        }
        return [
            (a, tiers[a.user_id])
            for a in alerts
            if a.user_id in tiers and (a.user_id, a.symbol) in watched
        ]
