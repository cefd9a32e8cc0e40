"""All queries on notifications and notification settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.notifications.models import EmailMode, Notification, NotificationSettings
from stockdash.users.models import User


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a notification goes to and how they want email."""

    user_id: int
    username: str
    email: str
    mode: EmailMode


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

    async def page(
        self, user_id: int, *, page: int, size: int, unread_only: bool
    ) -> tuple[list[Notification], int]:
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
        return list((await self.session.execute(stmt)).scalars()), int(total)

    async def unread(self, user_id: int) -> int:
        """How many of the user's notifications are unread."""
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(self, user_id: int, notification_id: int) -> Notification | None:
        """One of the user's notifications (None for anyone else's)."""
        stmt = select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

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

    async def pending(self, user_id: int, limit: int) -> list[Notification]:
        """The user's notifications waiting for a digest, oldest first."""
        stmt = (
            select(Notification)
            .where(Notification.user_id == user_id, Notification.email_pending.is_(True))
            .order_by(Notification.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

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
