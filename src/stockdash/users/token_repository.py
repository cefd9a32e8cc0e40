"""All queries on refresh tokens and one-time email tokens (looked up by hash only)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.users.models import EmailToken, RefreshToken


class RefreshTokenRepository(Protocol):
    """Storage of refresh tokens, whatever the backend."""

    async def add(self, token: RefreshToken) -> RefreshToken: ...
    async def get_by_hash(self, token_hash: str) -> RefreshToken | None: ...
    async def spend(self, token_id: int, now: datetime) -> bool: ...
    async def set_replaced_by(self, token_id: int, child_id: int) -> None: ...
    async def revoke_family(self, family_id: str, now: datetime) -> int: ...
    async def revoke_all_for_user(self, user_id: int, now: datetime) -> int: ...
    async def family_alive(self, family_id: str, now: datetime) -> bool: ...


class EmailTokenRepository(Protocol):
    """Storage of one-time email tokens, whatever the backend."""

    async def add(self, token: EmailToken) -> EmailToken: ...
    async def get_by_hash(self, token_hash: str, purpose: str) -> EmailToken | None: ...
    async def use(self, token_id: int, now: datetime) -> bool: ...
    async def invalidate(self, user_id: int, purpose: str, now: datetime) -> int: ...


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class SqlRefreshTokenRepository:
    """Refresh tokens in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: RefreshToken) -> RefreshToken:
        """Insert a token and flush to get its id."""
        self.session.add(token)
        await self.session.flush()
        return token

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        """The token stored under this hash."""
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalars().first()

    async def spend(self, token_id: int, now: datetime) -> bool:
        """Revoke a live token; False when it was already revoked (a concurrent use won)."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    async def set_replaced_by(self, token_id: int, child_id: int) -> None:
        """Link a spent token to the one that replaced it."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == token_id)
            .values(replaced_by=child_id)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        """Revoke every live token of a login session; how many were live."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt))

    async def revoke_all_for_user(self, user_id: int, now: datetime) -> int:
        """Revoke every live token of a user; how many were live."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt))

    async def family_alive(self, family_id: str, now: datetime) -> bool:
        """Whether a login session still holds an unspent, unexpired, unrevoked token."""
        stmt = (
            select(RefreshToken.id)
            .where(
                RefreshToken.family_id == family_id,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None


class SqlEmailTokenRepository:
    """One-time email tokens in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: EmailToken) -> EmailToken:
        """Insert a token and flush."""
        self.session.add(token)
        await self.session.flush()
        return token

    async def get_by_hash(self, token_hash: str, purpose: str) -> EmailToken | None:
        """The token of this purpose stored under this hash."""
        stmt = select(EmailToken).where(
            EmailToken.token_hash == token_hash, EmailToken.purpose == purpose
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def use(self, token_id: int, now: datetime) -> bool:
        """Mark a token used; False when it already was (a concurrent use won)."""
        stmt = (
            update(EmailToken)
            .where(EmailToken.id == token_id, EmailToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    async def invalidate(self, user_id: int, purpose: str, now: datetime) -> int:
        """Mark every unused token of a user and purpose as used; how many there were."""
        stmt = (
            update(EmailToken)
            .where(
                EmailToken.user_id == user_id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt))
