"""Queries behind the admin API: user search, audit log, service statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.admin.models import AuditLog
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock


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
    ) -> tuple[list[User], int]:
        """One page of matching users (oldest first) and the total number of matches."""
        conditions = _conditions(f)
        total = await _count(
            self.session, select(func.count()).select_from(User).where(*conditions)
        )
        stmt = select(User).where(*conditions).order_by(User.id).offset(offset).limit(limit)
        return list((await self.session.execute(stmt)).scalars()), total

    async def add_audit(self, entry: AuditLog) -> AuditLog:
        """Insert an audit row and flush (the caller commits with the change it records)."""
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def list_audit(self, *, offset: int, limit: int) -> tuple[list[AuditLog], int]:
        """One page of the audit log, newest first, and its size."""
        total = await _count(self.session, select(func.count()).select_from(AuditLog))
        stmt = select(AuditLog).order_by(AuditLog.id.desc()).offset(offset).limit(limit)
        return list((await self.session.execute(stmt)).scalars()), total

    async def users_by_tier(self) -> dict[str, int]:
        """How many accounts each tier has."""
        stmt = select(User.subscription_tier, func.count()).group_by(User.subscription_tier)
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
