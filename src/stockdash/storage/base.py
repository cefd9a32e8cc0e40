"""The unit-of-work and storage protocols shared by the SQL and MongoDB backends."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from stockdash.admin.repository import AdminRepository
    from stockdash.alerts.repository import AlertRepository
    from stockdash.apikeys.repository import ApiKeyRepository
    from stockdash.jobs.store import JobStore
    from stockdash.market.repository import StockCacheRepository
    from stockdash.notifications.repository import NotificationRepository
    from stockdash.subscriptions.repository import SubscriptionEventRepository
    from stockdash.users.records import UserRecords
    from stockdash.users.token_repository import EmailTokenRepository, RefreshTokenRepository
    from stockdash.watchlist.repository import WatchlistRepository


class UnitOfWork(Protocol):
    """The repositories of one request or job, and the transaction they share.

    Services never commit: whoever opened the unit (the route's dependency, a job) commits once
    the work succeeded; leaving without commit rolls back (SQL, and MongoDB where the server runs
    transactions: a replica set or mongos). On a standalone MongoDB each write stands alone and
    there is nothing to undo; its invariants use conditional updates.
    """

    @property
    def users(self) -> UserRecords:
        """Users (domain records, not ORM rows)."""
        ...

    @property
    def watchlist(self) -> WatchlistRepository:
        """Watchlists."""
        ...

    @property
    def api_keys(self) -> ApiKeyRepository:
        """API keys."""
        ...

    @property
    def subscription_events(self) -> SubscriptionEventRepository:
        """Tier-change events."""
        ...

    @property
    def refresh_tokens(self) -> RefreshTokenRepository:
        """Refresh tokens of login sessions."""
        ...

    @property
    def email_tokens(self) -> EmailTokenRepository:
        """One-time email tokens (verification, password reset)."""
        ...

    @property
    def stock_cache(self) -> StockCacheRepository:
        """The persisted latest market data per symbol."""
        ...

    @property
    def alerts(self) -> AlertRepository:
        """Alerts."""
        ...

    @property
    def notifications(self) -> NotificationRepository:
        """Notifications and notification settings."""
        ...

    @property
    def admin(self) -> AdminRepository:
        """Account search, the audit log and service statistics."""
        ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the work is committed; a rollback drops it (metrics count only
        what happened)."""
        ...

    async def commit(self) -> None:
        """Make the work durable and tell the commit listeners (the user cache)."""
        ...

    async def rollback(self) -> None:
        """Undo what can be undone (SQL) and forget the recorded changes."""
        ...


class Storage(Protocol):
    """Opens units of work on one backend."""

    @property
    def backend(self) -> str:
        """ "sql" or "mongodb"."""
        ...

    def unit(
        self,
        *,
        read_only: bool = False,
        primary: bool = False,
        session: AsyncSession | None = None,
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work; on SQL `session` joins the request's session (one connection, and
        on SQLite one write lock, per request), on MongoDB it is ignored. On MongoDB a
        read-only unit may read a secondary (MONGODB_READ_PREFERENCE) unless `primary` asks
        for read-your-writes."""
        ...

    def job_store(self) -> JobStore:
        """The job state store on this backend (each operation its own short transaction)."""
        ...

    async def ensure_schema(self) -> None:
        """Create what the backend needs to start (MongoDB: collections and indexes)."""
        ...

    async def ping(self) -> bool:
        """Whether the database answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
