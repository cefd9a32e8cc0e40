"""All queries on users."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.users.models import User


class UserRepository(Protocol):
    """Storage of users, whatever the backend."""

    async def get(self, user_id: int) -> User | None: ...
    async def get_by_login(self, login: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def get_by_username(self, username: str) -> User | None: ...
    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]: ...
    async def add(self, user: User) -> User: ...
    async def lock(self, user_id: int) -> User | None: ...


class SqlUserRepository:
    """Users in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        """A user by id."""
        return await self.session.get(User, user_id)

    async def get_by_login(self, login: str) -> User | None:
        """A user by username or email (case-insensitive)."""
        needle = login.strip().lower()
        if "\x00" in needle:
            return None  # no account can contain NUL, and PostgreSQL refuses it in text
        stmt = select(User).where(
            or_(func.lower(User.username) == needle, func.lower(User.email) == needle)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def get_by_email(self, email: str) -> User | None:
        """A user by email only (case-insensitive)."""
        stmt = select(User).where(func.lower(User.email) == email.strip().lower())
        return (await self.session.execute(stmt)).scalars().first()

    async def get_by_username(self, username: str) -> User | None:
        """A user by username only (case-insensitive)."""
        stmt = select(User).where(func.lower(User.username) == username.strip().lower())
        return (await self.session.execute(stmt)).scalars().first()

    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]:
        """Whether the username and the email are already taken."""
        stmt = select(User.username, User.email).where(
            or_(
                func.lower(User.username) == username.lower(),
                func.lower(User.email) == email.lower(),
            )
        )
        rows = (await self.session.execute(stmt)).all()
        return (
            any(r.username.lower() == username.lower() for r in rows),
            any(r.email.lower() == email.lower() for r in rows),
        )

    async def add(self, user: User) -> User:
        """Insert a user and flush to get its id."""
        self.session.add(user)
        await self.session.flush()
        return user

    async def lock(self, user_id: int) -> User | None:
        """Load a user and lock its row until the transaction ends (PostgreSQL)."""
        # populate_existing: a row already in the session is re-read under the lock, not reused.
        stmt = (
            select(User)
            .where(User.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()
