"""The MongoDB backend: collections, their indexes (created idempotently at start: the
counterpart of `stockdash migrate`), and the unit of work.

Shard keys the documents are ready for: `user_id` (users by `_id`, user_stocks,
watchlist_counts by `_id`) for user data, `symbol` (stock_cache by `_id`) for stock data;
api_keys are found by `prefix` on every keyed request, so a hashed `prefix` key suits them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.admin.repository import MongoAdminRepository
from stockdash.alerts.repository import MongoAlertRepository
from stockdash.apikeys.repository import MongoApiKeyRepository
from stockdash.core.db import CommitListener
from stockdash.core.mongo import ping_mongo, require_mongo
from stockdash.jobs.store import MongoJobStore
from stockdash.market.repository import MongoStockCacheRepository
from stockdash.notifications.repository import MongoNotificationRepository
from stockdash.subscriptions.repository import MongoSubscriptionEventRepository
from stockdash.users.records import MongoUserRecords
from stockdash.users.token_repository import (
    MongoEmailTokenRepository,
    MongoRefreshTokenRepository,
)
from stockdash.watchlist.repository import MongoWatchlistRepository

# How long an expired quote is kept: as on SQL, an expired quote is still served (marked stale)
# while the providers are down, and a restart reads the last data back; a symbol nobody has
# refreshed for a week is dropped.
STALE_KEEP_SECONDS = 7 * 24 * 3600

# Every collection the converted domains use, with its secondary indexes.
INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        # Case-insensitive uniqueness: the normalised (lower-cased) copies are unique.
        IndexModel([("username_key", ASCENDING)], name="uq_users_username_key", unique=True),
        IndexModel([("email_key", ASCENDING)], name="uq_users_email_key", unique=True),
    ],
    "user_stocks": [
        IndexModel(
            [("user_id", ASCENDING), ("symbol", ASCENDING)],
            name="uq_user_stocks_user_id_symbol",
            unique=True,
        ),
        IndexModel([("symbol", ASCENDING)], name="ix_user_stocks_symbol"),
    ],
    "api_keys": [
        IndexModel([("prefix", ASCENDING)], name="uq_api_keys_prefix", unique=True),
        IndexModel([("user_id", ASCENDING)], name="ix_api_keys_user_id"),
    ],
    "subscription_events": [
        IndexModel(
            [("user_id", ASCENDING), ("created_at", ASCENDING)],
            name="ix_subscription_events_user_id_created_at",
        ),
        IndexModel([("created_at", ASCENDING)], name="ix_subscription_events_created_at"),
    ],
    "refresh_tokens": [
        IndexModel([("token_hash", ASCENDING)], name="uq_refresh_tokens_token_hash", unique=True),
        IndexModel([("family_id", ASCENDING)], name="ix_refresh_tokens_family_id"),
        IndexModel([("user_id", ASCENDING)], name="ix_refresh_tokens_user_id"),
    ],
    "email_tokens": [
        IndexModel([("token_hash", ASCENDING)], name="uq_email_tokens_token_hash", unique=True),
        IndexModel(
            [("user_id", ASCENDING), ("purpose", ASCENDING)],
            name="ix_email_tokens_user_id_purpose",
        ),
    ],
    "audit_log": [
        IndexModel([("actor_user_id", ASCENDING)], name="ix_audit_log_actor_user_id"),
        IndexModel(
            [("target_type", ASCENDING), ("target_id", ASCENDING)], name="ix_audit_log_target"
        ),
        IndexModel([("created_at", ASCENDING)], name="ix_audit_log_created_at"),
    ],
    "alerts": [
        IndexModel([("symbol", ASCENDING)], name="ix_alerts_symbol"),
        IndexModel([("user_id", ASCENDING)], name="ix_alerts_user_id"),
    ],
    "notifications": [
        IndexModel(
            [("user_id", ASCENDING), ("_id", ASCENDING)], name="ix_notifications_user_id_id"
        ),
        IndexModel([("email_pending", ASCENDING)], name="ix_notifications_email_pending"),
    ],
    # `_id` = the job's UUID; dedup_key is stored only when set, so the sparse index skips the
    # many jobs without one.
    "jobs": [
        IndexModel([("dedup_key", ASCENDING)], name="uq_jobs_dedup_key", unique=True, sparse=True),
        IndexModel(
            [("status", ASCENDING), ("created_at", ASCENDING)], name="ix_jobs_status_created_at"
        ),
        IndexModel(
            [("kind", ASCENDING), ("created_at", ASCENDING)], name="ix_jobs_kind_created_at"
        ),
    ],
    # `_id` = user id: how each user wants notification emails, and their last digest.
    "notification_settings": [],
    # One document per user (`_id` = user id): the watchlist, API key and alert slot counters.
    "watchlist_counts": [],
    "api_key_counts": [],
    "alert_counts": [],
    # Sequences (`_id` = the sequence name): integer ids shared with the SQL backends.
    "counters": [],
    # Market data per symbol (`_id` = symbol); MongoDB deletes a document STALE_KEEP_SECONDS
    # after its quote's `expires_at` (TTL monitor, about once a minute).
    "stock_cache": [
        IndexModel(
            [("expires_at", ASCENDING)],
            name="ttl_stock_cache_expires_at",
            expireAfterSeconds=STALE_KEEP_SECONDS,
        )
    ],
}


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Create the collections and indexes that are missing (idempotent)."""
    existing = set(await db.list_collection_names())
    for name, indexes in INDEXES.items():
        if name not in existing:
            await db.create_collection(name)
        if indexes:
            await db[name].create_indexes(indexes)


@dataclass(slots=True)
class MongoUnitOfWork:
    """Repositories over one database; the changes they made are told to the listeners on
    commit, as `AppSession` does on SQL."""

    db: AsyncDatabase[dict[str, Any]]
    listeners: list[CommitListener]
    changes: list[object] = field(default_factory=list)
    actions: list[Callable[[], None]] = field(default_factory=list)
    users: MongoUserRecords = field(init=False)
    watchlist: MongoWatchlistRepository = field(init=False)
    api_keys: MongoApiKeyRepository = field(init=False)
    subscription_events: MongoSubscriptionEventRepository = field(init=False)
    refresh_tokens: MongoRefreshTokenRepository = field(init=False)
    email_tokens: MongoEmailTokenRepository = field(init=False)
    admin: MongoAdminRepository = field(init=False)
    stock_cache: MongoStockCacheRepository = field(init=False)
    alerts: MongoAlertRepository = field(init=False)
    notifications: MongoNotificationRepository = field(init=False)

    def __post_init__(self) -> None:
        self.users = MongoUserRecords(self.db, self.changes)
        self.watchlist = MongoWatchlistRepository(self.db, self.changes)
        self.api_keys = MongoApiKeyRepository(self.db)
        self.subscription_events = MongoSubscriptionEventRepository(self.db)
        self.refresh_tokens = MongoRefreshTokenRepository(self.db)
        self.email_tokens = MongoEmailTokenRepository(self.db)
        self.admin = MongoAdminRepository(self.db)
        self.stock_cache = MongoStockCacheRepository(self.db)
        self.alerts = MongoAlertRepository(self.db)
        self.notifications = MongoNotificationRepository(self.db)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` at commit (dropped by a rollback)."""
        self.actions.append(action)

    async def commit(self) -> None:
        """Writes are already durable (majority): run the after-commit actions and tell each
        listener the keys it cares about."""
        actions, self.actions[:] = list(self.actions), []
        for action in actions:
            action()
        changed, self.changes[:] = list(self.changes), []
        for listener in self.listeners:
            keys: set[Hashable] = set()
            for obj in changed:
                key = listener.key_of(obj)
                if key is not None:
                    keys.add(key)
            if keys:
                await listener.committed(keys)

    async def rollback(self) -> None:
        """Forget the recorded changes and actions (each write stood on its own)."""
        self.changes.clear()
        self.actions.clear()


class MongoStorage:
    """Units of work on one MongoDB database."""

    backend = "mongodb"

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        database: str,
        *,
        listeners: list[CommitListener],
        url: str = "mongodb://",
    ) -> None:
        self.client = client
        self.url = url
        self.db: AsyncDatabase[dict[str, Any]] = client[database]
        self.listeners = listeners

    @asynccontextmanager
    async def unit(
        self, *, read_only: bool = False, session: AsyncSession | None = None
    ) -> AsyncIterator[MongoUnitOfWork]:
        """A unit of work (the SQL `session` of a request is not used here)."""
        yield MongoUnitOfWork(self.db, self.listeners)

    def job_store(self) -> MongoJobStore:
        """Jobs in the `jobs` collection."""
        return MongoJobStore(self.db)

    async def ensure_schema(self) -> None:
        """Check MongoDB answers (MongoUnreachable with a clear message if not), then create
        the collections and indexes (idempotent)."""
        await require_mongo(self.client, self.url)
        await ensure_indexes(self.db)

    async def ping(self) -> bool:
        """Whether MongoDB answers."""
        return await ping_mongo(self.client)

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()
