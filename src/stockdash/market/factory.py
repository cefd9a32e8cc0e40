"""Build the configured market data provider and service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.config import Settings
from stockdash.core.locks import Locks
from stockdash.core.redis import redis_client
from stockdash.core.tracking import RedisTracking
from stockdash.market.cache import Cache, RedisCache, build_cache
from stockdash.market.fallback import FallbackProvider
from stockdash.market.providers.guard import ProviderGuard, circuit_breakers
from stockdash.market.providers.http import RateGate
from stockdash.market.service import NEAR_CACHED_PREFIXES, MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import MarketDataProvider
from stockdash.storage.base import Storage


def build_provider(
    settings: Settings, snapshot: SnapshotProvider, guard: ProviderGuard | None = None
) -> MarketDataProvider:
    """The provider MARKET_DATA_PROVIDER names, backed by the snapshot where it lacks data;
    `guard` is its shared failure state (`provider_guard`), built here when not given."""
    if settings.market_data_provider != "snapshot" and guard is None:
        guard = provider_guard(settings, settings.market_data_provider)
    if settings.market_data_provider == "polygon":
        if not settings.polygon_api_key:
            raise ValueError("MARKET_DATA_PROVIDER=polygon needs POLYGON_API_KEY.")
        from stockdash.market.providers.polygon import PolygonProvider

        polygon = PolygonProvider(
            settings.polygon_api_key,
            base_url=settings.polygon_base_url,
            requests_per_minute=settings.polygon_requests_per_minute,
            limiter=_shared_gate(settings, "polygon", settings.polygon_requests_per_minute),
            guard=guard,
        )
        return FallbackProvider(polygon, snapshot)
    if settings.market_data_provider == "yahoo":
        from stockdash.market.providers.yahoo import YahooProvider

        yahoo = YahooProvider(
            base_url=settings.yahoo_base_url,
            cookie_url=settings.yahoo_cookie_url,
            requests_per_minute=settings.yahoo_requests_per_minute,
            limiter=_shared_gate(settings, "yahoo", settings.yahoo_requests_per_minute),
            guard=guard,
        )
        return FallbackProvider(yahoo, snapshot)
    return snapshot


def provider_guard(settings: Settings, provider: str) -> ProviderGuard:
    """The provider's circuit breaker, Retry-After pause and refresh backoff: in Redis when
    configured (every process agrees), else in this process."""
    redis = shared = None
    if settings.redis_url:
        connect = settings.redis_connect_timeout_seconds
        command = settings.redis_command_timeout_seconds
        redis = redis_client(settings.redis_url, connect_timeout=connect, command_timeout=command)
        shared = RedisCache(
            settings.redis_url,
            prefix=f"{settings.redis_key_prefix}provider:",
            max_connections=8,
            connect_timeout=connect,
            command_timeout=command,
            retry_seconds=settings.redis_retry_seconds,
        )
    breakers = circuit_breakers(
        failures=settings.provider_breaker_failures,
        reset_seconds=settings.provider_breaker_reset_seconds,
        redis=redis,
        prefix=settings.redis_key_prefix,
        retry_seconds=settings.redis_retry_seconds,
    )
    return ProviderGuard(
        provider,
        breakers=breakers,
        shared=shared,
        redis=redis,
        backoff_base=settings.refresh_backoff_seconds,
        backoff_cap=settings.refresh_backoff_max_seconds,
    )


def _shared_gate(settings: Settings, provider: str, per_minute: int) -> RateGate | None:
    """With Redis, one request budget for every process; None: each process keeps its own."""
    if not settings.redis_url:
        return None
    from stockdash.market.providers.shared_rate import SharedRateGate

    return SharedRateGate(
        settings.redis_url,
        provider=provider,
        per_minute=per_minute,
        prefix=f"{settings.rate_limit_key_prefix}-upstream",
    )


def build_market(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession] | None,
    *,
    snapshot: SnapshotProvider | None = None,
    cache: Cache | None = None,
    locks: Locks | None = None,
    storage: Storage | None = None,
    tracking: RedisTracking | None = None,
    tracked_prefixes: tuple[str, ...] = NEAR_CACHED_PREFIXES,
) -> MarketService:
    """The market service for these settings (its data persisted in `storage`, else in the
    SQL database of `sessionmaker`)."""
    snapshot = snapshot or SnapshotProvider()
    guard = None
    if settings.market_data_provider != "snapshot":
        guard = provider_guard(settings, settings.market_data_provider)
    return MarketService(
        build_provider(settings, snapshot, guard),
        snapshot,
        cache=cache
        or build_cache(
            settings.redis_url,
            prefix=settings.redis_key_prefix,
            max_connections=settings.redis_max_connections,
            connect_timeout=settings.redis_connect_timeout_seconds,
            command_timeout=settings.redis_command_timeout_seconds,
            retry_seconds=settings.redis_retry_seconds,
            near_seconds=settings.market_near_cache_seconds,
            near_prefixes=NEAR_CACHED_PREFIXES,
            near_bytes=settings.market_near_cache_mb * 2**20,
            tracking=tracking,
            tracked_prefixes=tracked_prefixes,
        ),
        sessionmaker=sessionmaker,
        storage=storage,
        ttl=settings.cache_ttl,
        snapshot_fallback=settings.market_snapshot_fallback,
        locks=locks,
        provider_deadline=settings.provider_deadline_seconds,
        guard=guard,
    )
