"""The MongoDB backend: collections, their indexes (created idempotently at start: the
counterpart of `stockdash migrate`), and the unit of work.

Shard keys the documents are ready for: `user_id` (users by `_id`, user_stocks,
watchlist_counts by `_id`) for user data, `symbol` (stock_cache by `_id`) for stock data;
api_keys are found by `prefix` on every keyed request, so a hashed `prefix` key suits them.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReadPreference
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.client_session_shared import TransactionOptions
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.admin.repository import MongoAdminRepository
from stockdash.alerts.repository import MongoAlertRepository
from stockdash.apikeys.repository import MongoApiKeyRepository
from stockdash.core.db import CommitListener
from stockdash.core.mongo import is_transient, ping_mongo, require_mongo, supports_transactions
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

logger = logging.getLogger(__name__)

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


# Transactions read a snapshot and write with majority (the client's default too), on the
# primary (a transaction's reads must).
TRANSACTION = TransactionOptions(
    read_concern=ReadConcern("snapshot"),
    write_concern=WriteConcern("majority"),
    read_preference=ReadPreference.PRIMARY,
)
# How often a commit whose outcome is unknown (a network error, a failover) is sent again.
COMMIT_TRIES = 3
READ_PREFERENCES = {
    "primary": ReadPreference.PRIMARY,
    "primaryPreferred": ReadPreference.PRIMARY_PREFERRED,
    "secondary": ReadPreference.SECONDARY,
    "secondaryPreferred": ReadPreference.SECONDARY_PREFERRED,
    "nearest": ReadPreference.NEAREST,
}
R = TypeVar("R")


class InSession:
    """A repository whose coroutine methods run with a session bound (PyMongo then passes it to
    every operation), so the repositories need not thread the session through each call."""

    def __init__(self, target: object, session: AsyncClientSession) -> None:
        self._target = target
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        session = self._session

        @functools.wraps(attr)
        async def bound(*args: Any, **kwargs: Any) -> Any:
            # Bound only for the call: a task the request starts later (a background task)
            # must not inherit the unit's transaction.
            async with session.bind(end_session=False):
                return await attr(*args, **kwargs)

        return bound


def in_session(repository: R, session: AsyncClientSession | None) -> R:
    """`repository` with its operations in `session` (itself without one)."""
    if session is None:
        return repository
    return cast(R, InSession(repository, session))


async def commit_transaction(session: AsyncClientSession) -> None:
    """Commit, sending the commit again while its outcome is unknown (PyMongo's
    `UnknownTransactionCommitResult`: committing twice is safe)."""
    for attempt in range(1, COMMIT_TRIES + 1):
        try:
            await session.commit_transaction()
            return
        except PyMongoError as exc:
            if is_transient(exc):
                # Not reused for another transaction: mongoeco keeps the failed one on the
                # server session and fails the next commit on it (PyMongo drops a session the
                # same way after a network error).
                session._server_session.mark_dirty()
            if attempt == COMMIT_TRIES or not exc.has_error_label("UnknownTransactionCommitResult"):
                raise


@dataclass(slots=True)
class MongoUnitOfWork:
    """Repositories over one database; with a `session` (a replica set) their writes form one
    transaction, committed by `commit()` and aborted by `rollback()` or by leaving the unit
    without commit; without one (a standalone server) each write stands alone. The changes they
    made are told to the listeners on commit, as `AppSession` does on SQL."""

    db: AsyncDatabase[dict[str, Any]]
    listeners: list[CommitListener]
    session: AsyncClientSession | None = None
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
        db, session = self.db, self.session
        self.users = in_session(MongoUserRecords(db, self.changes), session)
        self.watchlist = in_session(MongoWatchlistRepository(db, self.changes), session)
        self.api_keys = in_session(MongoApiKeyRepository(db), session)
        self.subscription_events = in_session(MongoSubscriptionEventRepository(db), session)
        self.refresh_tokens = in_session(MongoRefreshTokenRepository(db), session)
        self.email_tokens = in_session(MongoEmailTokenRepository(db), session)
        self.admin = in_session(MongoAdminRepository(db), session)
        self.stock_cache = in_session(MongoStockCacheRepository(db), session)
        self.alerts = in_session(MongoAlertRepository(db), session)
        self.notifications = in_session(MongoNotificationRepository(db), session)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` at commit (dropped by a rollback)."""
        self.actions.append(action)

    async def commit(self) -> None:
        """Commit the transaction (if any; work after it goes on in a new one, as a SQL session
        begins anew), then run the after-commit actions and tell each listener the keys it
        cares about."""
        if self.session is not None and self.session.in_transaction:
            await commit_transaction(self.session)
            await self.session.start_transaction()
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
        """Abort the transaction (if any: without one each write stood on its own and stays)
        and forget the recorded changes and actions."""
        if self.session is not None and self.session.in_transaction:
            await self.session.abort_transaction()
            await self.session.start_transaction()
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
        transactions: Literal["auto", "on", "off"] = "auto",
        read_preference: str = "secondaryPreferred",
    ) -> None:
        self.client = client
        self.url = url
        self.db: AsyncDatabase[dict[str, Any]] = client[database]
        self.primary_db = client.get_database(database, read_preference=ReadPreference.PRIMARY)
        self.read_db = client.get_database(
            database, read_preference=READ_PREFERENCES[read_preference]
        )
        self.listeners = listeners
        self.transactions_mode = transactions
        self._transactions: bool | None = {"on": True, "off": False}.get(transactions)

    async def transactions(self) -> bool:
        """Whether write units run in transactions (in "auto" mode asked of the server once)."""
        if self._transactions is None:
            self._transactions = await supports_transactions(self.client)
        return self._transactions

    @asynccontextmanager
    async def unit(
        self,
        *,
        read_only: bool = False,
        primary: bool = False,
        session: AsyncSession | None = None,
    ) -> AsyncIterator[MongoUnitOfWork]:
        """A unit of work (the SQL `session` of a request is not used here): a read-only one
        reads with the configured read preference (the primary if `primary`), a writing one
        on the primary, in a transaction when the server runs them."""
        if read_only:
            yield MongoUnitOfWork(self.primary_db if primary else self.read_db, self.listeners)
            return
        if not await self.transactions():
            yield MongoUnitOfWork(self.primary_db, self.listeners)
            return
        async with self.client.start_session(default_transaction_options=TRANSACTION) as own:
            await own.start_transaction()
            try:
                yield MongoUnitOfWork(self.primary_db, self.listeners, own)
            finally:
                if own.in_transaction:  # left without commit: nothing of it stays
                    await own.abort_transaction()

    def job_store(self) -> MongoJobStore:
        """Jobs in the `jobs` collection."""
        return MongoJobStore(self.db)

    async def ensure_schema(self) -> None:
        """Check MongoDB answers (MongoUnreachable with a clear message if not), then create
        the collections and indexes (idempotent)."""
        await require_mongo(self.client, self.url)
        await ensure_indexes(self.db)
        logger.info(
            "MongoDB transactions %s (MONGODB_TRANSACTIONS=%s)",
            "on" if await self.transactions() else "off: each write stands alone",
            self.transactions_mode,
        )

    async def ping(self) -> bool:
        """Whether MongoDB answers."""
        return await ping_mongo(self.client)

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()
