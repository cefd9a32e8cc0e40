"""Queries behind the admin API: user search, audit log, service statistics (SQL and MongoDB)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.admin.models import AuditLog
from stockdash.core.db import utcnow
from stockdash.core.mongo import bson_time, next_id
from stockdash.users.models import User
from stockdash.users.records import USER_FIELDS, UserRecord
from stockdash.watchlist.models import UserStock

AUDIT_FIELDS = (
    "id",
    "actor_user_id",
    "action",
    "target_type",
    "target_id",
    "details",
    "created_at",
)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to which object, and when."""

    id: int
    actor_user_id: int | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """What an audit entry is stored from."""

    actor_user_id: int | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Criteria of a user search."""

    q: str | None = None
    tier: str | None = None
    active: bool | None = None


def _conditions(f: UserFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.q:
        needle = f.q.replace("\x00", "").strip().lower()
        conditions.append(
            or_(
                func.lower(User.username).contains(needle, autoescape=True),
                func.lower(User.email).contains(needle, autoescape=True),
            )
        )
    if f.tier is not None:
        conditions.append(User.subscription_tier == f.tier)
    if f.active is not None:
        conditions.append(User.is_active.is_(f.active))
    return conditions


async def _count(session: AsyncSession, stmt: Select[int]) -> int:
    return int((await session.execute(stmt)).scalar_one())


class AdminRepository(Protocol):
    """The admin queries, whatever the backend."""

    async def owner_id(self) -> int | None: ...
    async def search_users(
        self, f: UserFilter, *, offset: int, limit: int
    ) -> tuple[list[UserRecord], int]: ...
    async def add_audit(self, entry: NewAuditEntry) -> AuditRecord: ...
    async def list_audit(self, *, offset: int, limit: int) -> tuple[list[AuditRecord], int]: ...
    async def users_by_tier(self, *, active_only: bool = False) -> dict[str, int]: ...
    async def count_users(self, *, active: bool | None = None) -> int: ...
    async def registration_times(self, since: datetime) -> list[datetime]: ...
    async def most_tracked(self, limit: int) -> list[tuple[str, int]]: ...


def _user(row: User) -> UserRecord:
    return UserRecord(**{name: getattr(row, name) for name in USER_FIELDS})


def _audit(row: AuditLog) -> AuditRecord:
    return AuditRecord(**{name: getattr(row, name) for name in AUDIT_FIELDS})


class SqlAdminRepository:
    """Admin queries in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def owner_id(self) -> int | None:
        """The owner: the first account that became an admin (the lowest id among admins)."""
        stmt = select(func.min(User.id)).where(User.role == "admin")
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def search_users(
        self, f: UserFilter, *, offset: int, limit: int
    ) -> tuple[list[UserRecord], int]:
        """One page of matching users (oldest first) and the total number of matches."""
        conditions = _conditions(f)
        total = await _count(
            self.session, select(func.count()).select_from(User).where(*conditions)
        )
        stmt = select(User).where(*conditions).order_by(User.id).offset(offset).limit(limit)
        return [_user(row) for row in (await self.session.execute(stmt)).scalars()], total

    async def add_audit(self, entry: NewAuditEntry) -> AuditRecord:
        """Insert an audit row and flush (the caller commits with the change it records)."""
        row = AuditLog(
            actor_user_id=entry.actor_user_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details=entry.details,
        )
        self.session.add(row)
        await self.session.flush()
        return _audit(row)

    async def list_audit(self, *, offset: int, limit: int) -> tuple[list[AuditRecord], int]:
        """One page of the audit log, newest first, and its size."""
        total = await _count(self.session, select(func.count()).select_from(AuditLog))
        stmt = select(AuditLog).order_by(AuditLog.id.desc()).offset(offset).limit(limit)
        return [_audit(row) for row in (await self.session.execute(stmt)).scalars()], total

    async def users_by_tier(self, *, active_only: bool = False) -> dict[str, int]:
        """How many accounts (optionally only active ones) each tier has."""
        stmt = select(User.subscription_tier, func.count()).group_by(User.subscription_tier)
        if active_only:
            stmt = stmt.where(User.is_active.is_(True))
        return {tier: int(n) for tier, n in (await self.session.execute(stmt)).all()}

    async def count_users(self, *, active: bool | None = None) -> int:
        """How many accounts exist (optionally only active or inactive ones)."""
        conditions = [] if active is None else [User.is_active.is_(active)]
        return await _count(self.session, select(func.count()).select_from(User).where(*conditions))

    async def registration_times(self, since: datetime) -> list[datetime]:
        """When each account created since a moment was registered."""
        stmt = select(User.created_at).where(User.created_at >= since)
        return list((await self.session.execute(stmt)).scalars())

    async def most_tracked(self, limit: int) -> list[tuple[str, int]]:
        """The symbols on the most watchlists, most popular first."""
        n = func.count(UserStock.id)
        stmt = (
            select(UserStock.symbol, n)
            .group_by(UserStock.symbol)
            .order_by(n.desc(), UserStock.symbol)
            .limit(limit)
        )
        return [(symbol, int(count)) for symbol, count in (await self.session.execute(stmt)).all()]


class MongoAdminRepository:
    """Admin queries in MongoDB: `users` (searched by the normalised key fields), `audit_log`
    (integer `_id` from `counters`, newest first by `_id`) and `user_stocks`."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.users = db["users"]
        self.audit = db["audit_log"]
        self.stocks = db["user_stocks"]
        self.counters = db["counters"]

    @staticmethod
    def _user(doc: dict[str, Any]) -> UserRecord:
        return UserRecord(id=doc["_id"], **{k: doc[k] for k in USER_FIELDS if k != "id"})

    @staticmethod
    def _audit(doc: dict[str, Any]) -> AuditRecord:
        return AuditRecord(id=doc["_id"], **{k: doc[k] for k in AUDIT_FIELDS if k != "id"})

    @staticmethod
    def _query(f: UserFilter) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if f.q:
            # A literal substring of the lower-cased name or address, as SQL's escaped LIKE.
            needle = re.escape(f.q.replace("\x00", "").strip().lower())
            query["$or"] = [{"username_key": {"$regex": needle}}, {"email_key": {"$regex": needle}}]
        if f.tier is not None:
            query["subscription_tier"] = f.tier
        if f.active is not None:
            query["is_active"] = f.active
        return query

    async def owner_id(self) -> int | None:
        """The owner: the first account that became an admin (the lowest id among admins)."""
        doc = await self.users.find_one({"role": "admin"}, {"_id": 1}, sort=[("_id", 1)])
        return None if doc is None else int(doc["_id"])

    async def search_users(
        self, f: UserFilter, *, offset: int, limit: int
    ) -> tuple[list[UserRecord], int]:
        """One page of matching users (oldest first) and the total number of matches."""
        query = self._query(f)
        total = await self.users.count_documents(query)
        cursor = self.users.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [self._user(doc) async for doc in cursor], total

    async def add_audit(self, entry: NewAuditEntry) -> AuditRecord:
        """Insert an audit entry."""
        seq = await next_id(self.counters, "audit_log")
        doc: dict[str, Any] = {
            "_id": seq,
            "actor_user_id": entry.actor_user_id,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "details": entry.details,
            "created_at": bson_time(utcnow()),
        }
        await self.audit.insert_one(doc)
        return self._audit(doc)

    async def list_audit(self, *, offset: int, limit: int) -> tuple[list[AuditRecord], int]:
        """One page of the audit log, newest first, and its size."""
        total = await self.audit.count_documents({})
        cursor = self.audit.find({}).sort("_id", DESCENDING).skip(offset).limit(limit)
        return [self._audit(doc) async for doc in cursor], total

    async def users_by_tier(self, *, active_only: bool = False) -> dict[str, int]:
        """How many accounts (optionally only active ones) each tier has."""
        pipeline: list[dict[str, Any]] = [
            {"$group": {"_id": "$subscription_tier", "n": {"$sum": 1}}}
        ]
        if active_only:
            pipeline.insert(0, {"$match": {"is_active": True}})
        cursor = await self.users.aggregate(pipeline)
        return {doc["_id"]: int(doc["n"]) async for doc in cursor}

    async def count_users(self, *, active: bool | None = None) -> int:
        """How many accounts exist (optionally only active or inactive ones)."""
        return await self.users.count_documents({} if active is None else {"is_active": active})

    async def registration_times(self, since: datetime) -> list[datetime]:
        """When each account created since a moment was registered."""
        cursor = self.users.find({"created_at": {"$gte": bson_time(since)}}, {"created_at": 1})
        return [doc["created_at"] async for doc in cursor]

    async def most_tracked(self, limit: int) -> list[tuple[str, int]]:
        """The symbols on the most watchlists, most popular first."""
        pipeline: list[dict[str, Any]] = [
            {"$group": {"_id": "$symbol", "n": {"$sum": 1}}},
            {"$sort": {"n": -1, "_id": 1}},
            {"$limit": limit},
        ]
        cursor = await self.stocks.aggregate(pipeline)
        return [(doc["_id"], int(doc["n"])) async for doc in cursor]
