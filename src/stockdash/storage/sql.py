"""The unit of work on SQLAlchemy (SQLite or PostgreSQL): one session, one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stockdash.admin.repository import SqlAdminRepository
from stockdash.alerts.repository import SqlAlertRepository
from stockdash.apikeys.repository import SqlApiKeyRepository
from stockdash.core.db import after_commit, ping
from stockdash.jobs.store import SqlJobStore
from stockdash.market.repository import SqlStockCacheRepository
from stockdash.notifications.repository import SqlNotificationRepository
from stockdash.subscriptions.repository import SqlSubscriptionEventRepository
from stockdash.users.records import SqlUserRecords
from stockdash.users.token_repository import SqlEmailTokenRepository, SqlRefreshTokenRepository
from stockdash.watchlist.repository import SqlWatchlistRepository


class SqlUnitOfWork:
    """Repositories over one session; commit goes through `AppSession` (commit listeners)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = SqlUserRecords(session)
        self.watchlist = SqlWatchlistRepository(session)
        self.api_keys = SqlApiKeyRepository(session)
        self.subscription_events = SqlSubscriptionEventRepository(session)
        self.refresh_tokens = SqlRefreshTokenRepository(session)
        self.email_tokens = SqlEmailTokenRepository(session)
        self.admin = SqlAdminRepository(session)
        self.stock_cache = SqlStockCacheRepository(session)
        self.alerts = SqlAlertRepository(session)
        self.notifications = SqlNotificationRepository(session)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` after the session's commit (dropped by a rollback)."""
        after_commit(self.session, action)

    async def commit(self) -> None:
        """Commit the session (its listeners hear what changed)."""
        await self.session.commit()

    async def rollback(self) -> None:
        """Roll the session back."""
        await self.session.rollback()


class SqlStorage:
    """Units of work on the SQL engine (writing and read-only session factories)."""

    backend = "sql"

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        read_sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.read_sessionmaker = read_sessionmaker

    @asynccontextmanager
    async def unit(
        self,
        *,
        read_only: bool = False,
        primary: bool = False,
        session: AsyncSession | None = None,
    ) -> AsyncIterator[SqlUnitOfWork]:
        """A unit over `session` (left to its owner) or over a new session (rolled back unless
        committed); `primary` changes nothing here (one server answers every read)."""
        if session is not None:
            yield SqlUnitOfWork(session)
            return
        factory = self.read_sessionmaker if read_only else self.sessionmaker
        async with factory() as own:
            try:
                yield SqlUnitOfWork(own)
            finally:
                if own.in_transaction():
                    await own.rollback()

    def job_store(self) -> SqlJobStore:
        """Jobs in the `jobs` table."""
        return SqlJobStore(self.sessionmaker)

    async def ensure_schema(self) -> None:
        """Nothing: SQL schemas are Alembic's (`stockdash migrate`)."""

    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        return await ping(self.engine)

    async def close(self) -> None:
        """The engine is disposed by the container."""


def sessions_storage(sessionmaker: async_sessionmaker[AsyncSession]) -> SqlStorage:
    """SQL storage over one session factory (for callers that hold only a factory)."""
    return SqlStorage(sessionmaker.kw["bind"], sessionmaker, sessionmaker)
