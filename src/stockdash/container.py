"""The composition root: one typed container built from the settings, for every process role.

The API, the worker, the scheduler, the CLI and the tests all build their objects here, once;
routes reach them through `Annotated` dependencies on the container (`ContainerDep` and the
per-service aliases), never by looking attributes up on the app.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from stockdash.alerts.evaluator import AlertEvaluator
from stockdash.analysis.narrator import narrator_from_settings
from stockdash.analysis.service import AnalysisService
from stockdash.core.config import Settings
from stockdash.core.container import Infrastructure
from stockdash.core.db import CommitListener, create_engine, create_sessionmaker, read_only_engine
from stockdash.core.deps import READ_METHODS, SessionDep
from stockdash.core.locks import Locks, ProcessLocalLocks, RedisLocks
from stockdash.core.mongo import build_mongo_client
from stockdash.core.ratelimit import build_rate_limiter
from stockdash.core.redis import blocking_pool
from stockdash.core.tracking import RedisTracking, build_tracking
from stockdash.dashboard.cards import VERSION_NAMESPACE, CardStore
from stockdash.events.bus import BLOCK_MS, EventBus, ProcessLocalEventBus, RedisEventBus
from stockdash.events.service import LiveUpdates
from stockdash.jobs.broker import build_broker
from stockdash.jobs.handlers import build_dead_letter_hooks, build_handlers
from stockdash.jobs.queue import JobQueue
from stockdash.jobs.refresh import RefreshListener
from stockdash.jobs.runner import JobRunner
from stockdash.jobs.store import JobStore
from stockdash.market.factory import build_market
from stockdash.market.service import NEAR_CACHED_PREFIXES, MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.monitoring.instrument import MongoCommandTimer
from stockdash.notifications.email import EmailSender, OutboxEmailSender, sender_from_settings
from stockdash.notifications.queued import QueuedEmailSender
from stockdash.notifications.service import Notifier
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.mongo import MongoStorage
from stockdash.storage.sql import SqlStorage
from stockdash.subscriptions.billing import BillingProvider, NoPaymentBilling
from stockdash.users.cache import (
    CurrentUserCache,
    ProcessLocalUserVersions,
    RedisUserVersions,
    UserVersions,
)
from stockdash.users.models import User
from stockdash.users.records import UserChanged, UserRecord
from stockdash.watchlist.entities import WatchEntry
from stockdash.watchlist.models import UserStock

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Container(Infrastructure):
    """Everything a stockdash process uses, wired once."""

    market: MarketService
    analysis: AnalysisService
    billing: BillingProvider
    # What routes send mail with (a queued job); the job delivers with `delivery_sender`.
    email_sender: EmailSender
    delivery_sender: EmailSender
    outbox: OutboxEmailSender
    broker: AsyncBroker
    jobs: JobStore
    queue: JobQueue
    runner: JobRunner
    user_cache: CurrentUserCache
    cards: CardStore
    # The converted domains' units of work (SQL or MongoDB, from the settings).
    storage: Storage
    events: EventBus
    notifier: Notifier
    alerts: AlertEvaluator
    # What the refresh tells about each refreshed symbol (live updates, alerts).
    refresh_listeners: list[RefreshListener]
    # Redis client-side caching of this process (None without Redis or with it turned off).
    tracking: RedisTracking | None = None

    async def database_ready(self) -> bool:
        """Whether the storage's database (SQL or MongoDB) answers."""
        return await self.storage.ping()

    async def aclose(self) -> None:
        """Release every connection (the broker is shut down by whoever started it)."""
        await self.events.aclose()
        if self.tracking is not None:
            await self.tracking.close()
        await self.storage.close()
        await self.market.close()
        await self.rate_limiter.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        await self.engine.dispose()


def build_redis(settings: Settings) -> aioredis.Redis | None:
    """The shared Redis client with short timeouts, or None without REDIS_URL."""
    if not settings.redis_url:
        return None
    pool = blocking_pool(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        connect_timeout=settings.redis_connect_timeout_seconds,
        command_timeout=settings.redis_command_timeout_seconds,
        decode_responses=False,
    )
    return aioredis.Redis(connection_pool=pool)


def build_locks(settings: Settings, client: aioredis.Redis | None) -> Locks:
    """Redis locks when there is a Redis; otherwise locks that hold inside this process only."""
    if client is None:
        return ProcessLocalLocks()
    return RedisLocks(
        client, prefix=settings.redis_key_prefix, retry_seconds=settings.redis_retry_seconds
    )


# What the user cache is told about on commit, and the user each kind belongs to: SQL rows (seen
# by the session's flush) and domain values (recorded by the MongoDB repositories).
USER_OWNERS: dict[type, Callable[[Any], int]] = {
    User: lambda user: user.id,
    UserStock: lambda item: item.user_id,
    UserRecord: lambda user: user.id,
    UserChanged: lambda change: change.id,
    WatchEntry: lambda entry: entry.user_id,
}


def build_user_cache(
    settings: Settings, client: aioredis.Redis | None, tracking: RedisTracking | None = None
) -> CurrentUserCache:
    """The current-user cache; its versions in Redis when there is one, else in this process."""
    versions: UserVersions = (
        RedisUserVersions(
            client,
            prefix=settings.redis_key_prefix,
            retry_seconds=settings.redis_retry_seconds,
            tracking=tracking,
        )
        if client is not None
        else ProcessLocalUserVersions()
    )
    return CurrentUserCache(
        versions,
        owners=USER_OWNERS,
        ttl=settings.user_cache_seconds,
    )


def build_storage(
    settings: Settings,
    engine: AsyncEngine,
    sessionmakers: tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]],
    listeners: list[CommitListener],
) -> Storage:
    """MongoDB when the settings select it (DATABASE_URL=mongodb://..., or MONGODB_URL), else
    the SQL database (writing and read-only session factories)."""
    target = settings.mongo
    if target is None:
        return SqlStorage(engine, *sessionmakers)
    client = build_mongo_client(
        target.url,
        timeout_seconds=settings.db_connect_timeout_seconds,
        event_listeners=[MongoCommandTimer()],
    )
    return MongoStorage(
        client,
        target.database,
        listeners=listeners,
        url=target.url,
        transactions=settings.mongodb_transactions,
        read_preference=settings.mongodb_read_preference,
    )


@contextlib.asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    """The storage the settings select, outside the app (CLI commands): its schema ensured,
    its connections closed when the block ends."""
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    sessionmaker = create_sessionmaker(engine)
    storage = build_storage(settings, engine, (sessionmaker, sessionmaker), [])
    try:
        await storage.ensure_schema()
        yield storage
    finally:
        await storage.close()
        await engine.dispose()


def build_events(settings: Settings, client: aioredis.Redis | None) -> EventBus:
    """The event bus: a Redis Stream when there is a Redis, else a log in this process."""
    if client is None or not settings.redis_url:
        return ProcessLocalEventBus(maxlen=settings.events_log_length)
    # The reader blocks on XREAD for up to BLOCK_MS: its own connection, a longer timeout.
    reader = aioredis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_connect_timeout_seconds,
        socket_timeout=BLOCK_MS / 1000 + 10,
    )
    return RedisEventBus(
        client,
        reader,
        prefix=settings.redis_key_prefix,
        maxlen=settings.events_log_length,
        retry_seconds=settings.redis_retry_seconds,
    )


def build_container(
    settings: Settings,
    *,
    snapshot: SnapshotProvider | None = None,
    billing: BillingProvider | None = None,
) -> Container:
    """Build every service for these settings (connections open lazily)."""
    engine = create_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        schema=settings.database_schema,
        connect_timeout=settings.db_connect_timeout_seconds,
        statement_timeout=settings.db_statement_timeout_seconds,
    )
    listeners: list[CommitListener] = []
    sessionmaker = create_sessionmaker(engine, listeners=listeners)
    redis = build_redis(settings)
    tracking = build_tracking(
        settings.redis_url,
        enabled=settings.redis_client_tracking,
        connect_timeout=settings.redis_connect_timeout_seconds,
    )
    user_cache = build_user_cache(settings, redis, tracking)
    listeners.append(user_cache)
    locks = build_locks(settings, redis)
    read_sessionmaker = create_sessionmaker(read_only_engine(engine), listeners=listeners)
    storage = build_storage(settings, engine, (sessionmaker, read_sessionmaker), listeners)
    market = build_market(
        settings,
        sessionmaker,
        snapshot=snapshot,
        locks=locks,
        storage=storage,
        tracking=tracking,
        tracked_prefixes=(*NEAR_CACHED_PREFIXES, VERSION_NAMESPACE),
    )
    analysis = AnalysisService.from_settings(
        market, settings, narrator=narrator_from_settings(settings, cache=market.cache)
    )
    broker = build_broker(settings)
    jobs = storage.job_store()
    queue = JobQueue(jobs, broker)
    outbox = OutboxEmailSender.from_settings(settings)
    events = build_events(settings, redis)
    live = settings.feature_real_time_updates
    email_sender = QueuedEmailSender(queue)
    notifier = Notifier(settings, storage, email_sender, events if live else None)
    alerts = AlertEvaluator(storage, notifier)
    listeners_after_refresh: list[RefreshListener] = [alerts]
    if live:
        listeners_after_refresh.insert(0, LiveUpdates(events, market.cache))
    container = Container(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        read_sessionmaker=read_sessionmaker,
        rate_limiter=build_rate_limiter(settings),
        redis=redis,
        locks=locks,
        market=market,
        analysis=analysis,
        billing=billing or NoPaymentBilling(),
        email_sender=email_sender,
        delivery_sender=sender_from_settings(settings),
        outbox=outbox,
        broker=broker,
        jobs=jobs,
        queue=queue,
        # Filled in below: the runner's handlers need the finished container.
        runner=None,  # type: ignore[arg-type]
        user_cache=user_cache,
        cards=CardStore(market, analysis, local_entries=settings.card_cache_entries),
        storage=storage,
        events=events,
        notifier=notifier,
        alerts=alerts,
        refresh_listeners=listeners_after_refresh,
        tracking=tracking,
    )
    container.runner = JobRunner(
        jobs,
        build_handlers(container),
        max_attempts=settings.job_max_attempts,
        backoff_seconds=settings.job_retry_backoff_seconds,
        lease_seconds=settings.job_lease_seconds,
        dead_letter_hooks=build_dead_letter_hooks(container),
    )
    from stockdash.jobs.roles import register_tasks

    register_tasks(broker, container)
    return container


def container_of(request: Request) -> Container:
    """The app's container (for code that has the request and wants no extra dependency)."""
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    """The app's container, as a dependency."""
    return container_of(request)


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_unit_of_work(
    request: Request, container: ContainerDep, session: SessionDep
) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work: on SQL over the request's session (one connection, and on
    SQLite one write lock, per request); the route commits it when its work succeeded."""
    async with container.storage.unit(
        read_only=request.method in READ_METHODS, session=session
    ) as unit:
        yield unit


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
