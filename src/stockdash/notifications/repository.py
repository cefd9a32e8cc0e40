"""All queries on notifications and notification settings: domain records, a SQL and a
MongoDB implementation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.mongo import bson_now, bson_time
from stockdash.notifications.models import EmailMode, Notification, NotificationSettings
from stockdash.users.models import User

NOTIFICATION_FIELDS = (
    "id",
    "user_id",
    "alert_id",
    "kind",
    "symbol",
    "title",
    "body",
    "data",
    "created_at",
    "read_at",
    "email_pending",
)


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """One message to a user (an alert that fired)."""

    id: int
    user_id: int
    alert_id: int | None
    kind: str
    symbol: str | None
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    email_pending: bool


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    """What a notification is stored from."""

    user_id: int
    alert_id: int | None
    kind: str
    symbol: str | None
    title: str
    body: str
    data: dict[str, Any]
    email_pending: bool


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a notification goes to and how they want email."""

    user_id: int
    username: str
    email: str
    mode: EmailMode


class NotificationRepository(Protocol):
    """Storage of notifications and notification settings, whatever the backend."""

    async def recipients(self, user_ids: Iterable[int]) -> dict[int, Recipient]: ...
    async def add_many(self, drafts: list[NotificationDraft]) -> list[NotificationRecord]: ...
    async def page(
        self, user_id: int, *, page: int, size: int, unread_only: bool
    ) -> tuple[list[NotificationRecord], int]: ...
    async def unread(self, user_id: int) -> int: ...
    async def mark_read(
        self, user_id: int, notification_id: int, now: datetime
    ) -> NotificationRecord | None: ...
    async def mark_all_read(self, user_id: int, now: datetime) -> int: ...
    async def user_exists(self, user_id: int) -> bool: ...
    async def email_mode(self, user_id: int) -> EmailMode: ...
    async def set_email_mode(self, user_id: int, mode: EmailMode) -> None: ...
    async def digest_due(self, cutoff: datetime) -> list[Recipient]: ...
    async def pending(self, user_id: int, limit: int) -> list[NotificationRecord]: ...
    async def digest_sent(self, user_id: int, ids: list[int], now: datetime) -> None: ...


def _note(row: Notification) -> NotificationRecord:
    return NotificationRecord(**{name: getattr(row, name) for name in NOTIFICATION_FIELDS})


class SqlNotificationRepository:
    """Notifications in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recipients(self, user_ids: Iterable[int]) -> dict[int, Recipient]:
        """The users with their email mode (one query)."""
        stmt = (
            select(User.id, User.username, User.email, NotificationSettings.email)
            .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
            .where(User.id.in_(list(user_ids)))
        )
        rows = (await self.session.execute(stmt)).all()
        return {
            uid: Recipient(uid, name, email, EmailMode(mode or EmailMode.OFF))
            for uid, name, email, mode in rows
        }

    async def add_many(self, drafts: list[NotificationDraft]) -> list[NotificationRecord]:
        """Insert notifications (their ids assigned)."""
        rows = [
            Notification(
                user_id=d.user_id,
                alert_id=d.alert_id,
                kind=d.kind,
                symbol=d.symbol,
                title=d.title,
                body=d.body,
                data=d.data,
                email_pending=d.email_pending,
            )
            for d in drafts
        ]
        self.session.add_all(rows)
        await self.session.flush()
        return [_note(row) for row in rows]

    async def page(
        self, user_id: int, *, page: int, size: int, unread_only: bool
    ) -> tuple[list[NotificationRecord], int]:
        """One page of a user's notifications, newest first, and how many there are."""
        where = [Notification.user_id == user_id]
        if unread_only:
            where.append(Notification.read_at.is_(None))
        total = (
            await self.session.execute(select(func.count()).select_from(Notification).where(*where))
        ).scalar_one()
        stmt = (
            select(Notification)
            .where(*where)
            .order_by(Notification.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
        return [_note(r) for r in (await self.session.execute(stmt)).scalars()], int(total)

    async def unread(self, user_id: int) -> int:
        """How many of the user's notifications are unread."""
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def mark_read(
        self, user_id: int, notification_id: int, now: datetime
    ) -> NotificationRecord | None:
        """Mark one of the user's notifications read (kept as it was if it already is); None
        for anyone else's."""
        stmt = select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            return None
        if row.read_at is None:
            row.read_at = now
            await self.session.flush()
        return _note(row)

    async def mark_all_read(self, user_id: int, now: datetime) -> int:
        """Mark every unread notification of the user read; how many."""
        stmt = (
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)

    async def user_exists(self, user_id: int) -> bool:
        """Whether the account still exists."""
        return await self.session.get(User, user_id) is not None

    async def email_mode(self, user_id: int) -> EmailMode:
        """The user's email mode (off without a settings row)."""
        row = await self.session.get(NotificationSettings, user_id)
        return EmailMode(row.email) if row else EmailMode.OFF

    async def set_email_mode(self, user_id: int, mode: EmailMode) -> None:
        """Set the user's email mode; leaving digests drops what waited for one."""
        row = await self.session.get(NotificationSettings, user_id)
        if row is None:
            self.session.add(NotificationSettings(user_id=user_id, email=mode))
        else:
            row.email = mode
        if mode != EmailMode.DIGEST:
            await self.session.execute(
                update(Notification)
                .where(Notification.user_id == user_id, Notification.email_pending.is_(True))
                .values(email_pending=False)
                .execution_options(synchronize_session=False)
            )

    async def digest_due(self, cutoff: datetime) -> list[Recipient]:
        """Digest users with pending notifications whose last digest is older than `cutoff`."""
        pending = (
            select(Notification.id)
            .where(Notification.user_id == User.id, Notification.email_pending.is_(True))
            .exists()
        )
        stmt = (
            select(User.id, User.username, User.email)
            .join(NotificationSettings, NotificationSettings.user_id == User.id)
            .where(
                NotificationSettings.email == EmailMode.DIGEST,
                or_(
                    NotificationSettings.last_digest_at.is_(None),
                    NotificationSettings.last_digest_at <= cutoff,
                ),
                pending,
            )
        )
        rows = (await self.session.execute(stmt)).all()
        return [Recipient(uid, name, email, EmailMode.DIGEST) for uid, name, email in rows]

    async def pending(self, user_id: int, limit: int) -> list[NotificationRecord]:
        """The user's notifications waiting for a digest, oldest first."""
        stmt = (
            select(Notification)
            .where(Notification.user_id == user_id, Notification.email_pending.is_(True))
            .order_by(Notification.id)
            .limit(limit)
        )
        return [_note(r) for r in (await self.session.execute(stmt)).scalars()]

    async def digest_sent(self, user_id: int, ids: list[int], now: datetime) -> None:
        """Record a digest: its notifications no longer pending, the time it went."""
        await self.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(email_pending=False)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(NotificationSettings)
            .where(NotificationSettings.user_id == user_id)
            .values(last_digest_at=now)
            .execution_options(synchronize_session=False)
        )


class MongoNotificationRepository:
    """Notifications in MongoDB's `notifications` (integer `_id` from `counters`; indexes on
    (user_id, _id) and email_pending) and settings in `notification_settings` (`_id` = user
    id). No joins: recipients and digests read `users` in a second query."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.notes = db["notifications"]
        self.settings = db["notification_settings"]
        self.users = db["users"]
        self.counters = db["counters"]

    @staticmethod
    def _record(doc: dict[str, Any]) -> NotificationRecord:
        return NotificationRecord(
            id=doc["_id"], **{k: doc[k] for k in NOTIFICATION_FIELDS if k != "id"}
        )

    async def _modes(self, user_ids: list[int]) -> dict[int, str]:
        cursor = self.settings.find({"_id": {"$in": user_ids}}, {"email": 1})
        return {d["_id"]: d["email"] async for d in cursor}

    async def recipients(self, user_ids: Iterable[int]) -> dict[int, Recipient]:
        """The users with their email mode (two queries)."""
        ids = list(user_ids)
        modes = await self._modes(ids)
        cursor = self.users.find({"_id": {"$in": ids}}, {"username": 1, "email": 1})
        return {
            d["_id"]: Recipient(
                d["_id"], d["username"], d["email"], EmailMode(modes.get(d["_id"], EmailMode.OFF))
            )
            async for d in cursor
        }

    async def add_many(self, drafts: list[NotificationDraft]) -> list[NotificationRecord]:
        """Insert notifications (their ids taken from the counter in one step)."""
        if not drafts:
            return []
        counter = await self.counters.find_one_and_update(
            {"_id": "notifications"},
            {"$inc": {"seq": len(drafts)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert counter is not None  # upsert with AFTER always returns the document
        first, now = int(counter["seq"]) - len(drafts) + 1, bson_now()
        docs: list[dict[str, Any]] = [
            {
                "_id": first + i,
                "user_id": d.user_id,
                "alert_id": d.alert_id,
                "kind": d.kind,
                "symbol": d.symbol,
                "title": d.title,
                "body": d.body,
                "data": d.data,
                "created_at": now,
                "read_at": None,
                "email_pending": d.email_pending,
            }
            for i, d in enumerate(drafts)
        ]
        await self.notes.insert_many(docs)
        return [self._record(doc) for doc in docs]

    async def page(
        self, user_id: int, *, page: int, size: int, unread_only: bool
    ) -> tuple[list[NotificationRecord], int]:
        """One page of a user's notifications, newest first, and how many there are."""
        query: dict[str, Any] = {"user_id": user_id}
        if unread_only:
            query["read_at"] = None
        total = await self.notes.count_documents(query)
        cursor = self.notes.find(query).sort("_id", -1).skip((page - 1) * size).limit(size)
        return [self._record(d) async for d in cursor], total

    async def unread(self, user_id: int) -> int:
        """How many of the user's notifications are unread."""
        return await self.notes.count_documents({"user_id": user_id, "read_at": None})

    async def mark_read(
        self, user_id: int, notification_id: int, now: datetime
    ) -> NotificationRecord | None:
        """Mark one of the user's notifications read (kept as it was if it already is); None
        for anyone else's."""
        await self.notes.update_one(
            {"_id": notification_id, "user_id": user_id, "read_at": None},
            {"$set": {"read_at": bson_time(now)}},
        )
        doc = await self.notes.find_one({"_id": notification_id, "user_id": user_id})
        return None if doc is None else self._record(doc)

    async def mark_all_read(self, user_id: int, now: datetime) -> int:
        """Mark every unread notification of the user read; how many."""
        result = await self.notes.update_many(
            {"user_id": user_id, "read_at": None}, {"$set": {"read_at": bson_time(now)}}
        )
        return result.modified_count

    async def user_exists(self, user_id: int) -> bool:
        """Whether the account still exists."""
        return await self.users.find_one({"_id": user_id}, {"_id": 1}) is not None

    async def email_mode(self, user_id: int) -> EmailMode:
        """The user's email mode (off without a settings document)."""
        return EmailMode((await self._modes([user_id])).get(user_id, EmailMode.OFF))

    async def set_email_mode(self, user_id: int, mode: EmailMode) -> None:
        """Set the user's email mode; leaving digests drops what waited for one."""
        await self.settings.update_one(
            {"_id": user_id},
            {
                "$set": {"email": str(mode), "updated_at": bson_now()},
                "$setOnInsert": {"last_digest_at": None},
            },
            upsert=True,
        )
        if mode != EmailMode.DIGEST:
            await self.notes.update_many(
                {"user_id": user_id, "email_pending": True}, {"$set": {"email_pending": False}}
            )

    async def digest_due(self, cutoff: datetime) -> list[Recipient]:
        """Digest users with pending notifications whose last digest is older than `cutoff`."""
        cursor = self.settings.find(
            {
                "email": str(EmailMode.DIGEST),
                "$or": [{"last_digest_at": None}, {"last_digest_at": {"$lte": bson_time(cutoff)}}],
            },
            {"_id": 1},
        )
        candidates = [d["_id"] async for d in cursor]
        if not candidates:
            return []
        waiting = await self.notes.distinct(
            "user_id", {"user_id": {"$in": candidates}, "email_pending": True}
        )
        users = self.users.find({"_id": {"$in": waiting}}, {"username": 1, "email": 1})
        return [
            Recipient(d["_id"], d["username"], d["email"], EmailMode.DIGEST) async for d in users
        ]

    async def pending(self, user_id: int, limit: int) -> list[NotificationRecord]:
        """The user's notifications waiting for a digest, oldest first."""
        cursor = self.notes.find({"user_id": user_id, "email_pending": True}).sort("_id", 1)
        return [self._record(d) async for d in cursor.limit(limit)]

    async def digest_sent(self, user_id: int, ids: list[int], now: datetime) -> None:
        """Record a digest: its notifications no longer pending, the time it went."""
        await self.notes.update_many({"_id": {"$in": ids}}, {"$set": {"email_pending": False}})
        await self.settings.update_one(
            {"_id": user_id}, {"$set": {"last_digest_at": bson_time(now), "updated_at": bson_now()}}
        )
