"""Build the configured market data provider and service."""

from __future__ import annotations

from purgatory import AsyncCircuitBreakerFactory
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.config import Settings
from stockdash.core.locks import Locks
from stockdash.market.cache import Cache, build_cache
from stockdash.market.fallback import FallbackProvider
from stockdash.market.providers.http import RateGate
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import MarketDataProvider, ProviderError, UnknownSymbolError


def build_provider(settings: Settings, snapshot: SnapshotProvider) -> MarketDataProvider:
    """The provider MARKET_DATA_PROVIDER names, backed by the snapshot where it lacks data."""
    if settings.market_data_provider == "polygon":
        if not settings.polygon_api_key:
            raise ValueError("MARKET_DATA_PROVIDER=polygon needs POLYGON_API_KEY.")
        from stockdash.market.providers.polygon import PolygonProvider

        polygon = PolygonProvider(
            settings.polygon_api_key,
            base_url=settings.polygon_base_url,
            requests_per_minute=settings.polygon_requests_per_minute,
            limiter=_shared_gate(settings, "polygon", settings.polygon_requests_per_minute),
            breakers=provider_breakers(settings),
        )
        return FallbackProvider(polygon, snapshot)
    return snapshot


def provider_breakers(settings: Settings) -> AsyncCircuitBreakerFactory:
    """Circuit breakers for this process, one per provider (by name): each opens after
    PROVIDER_BREAKER_FAILURES failed calls in a row, half-opens PROVIDER_BREAKER_RESET_SECONDS
    later. An unknown symbol (404) is an answer, not a failure."""
    return AsyncCircuitBreakerFactory(
        default_threshold=settings.provider_breaker_failures,
        default_ttl=settings.provider_breaker_reset_seconds,
        exclude=[UnknownSymbolError, (ProviderError, lambda exc: exc.status == 404)],
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
) -> MarketService:
    """The market service for these settings."""
    snapshot = snapshot or SnapshotProvider()
    return MarketService(
        build_provider(settings, snapshot),
        snapshot,
        cache=cache
        or build_cache(
            settings.redis_url,
            prefix=settings.redis_key_prefix,
            max_connections=settings.redis_max_connections,
            connect_timeout=settings.redis_connect_timeout_seconds,
            command_timeout=settings.redis_command_timeout_seconds,
            retry_seconds=settings.redis_retry_seconds,
        ),
        sessionmaker=sessionmaker,
        ttl=settings.cache_ttl,
        snapshot_fallback=settings.market_snapshot_fallback,
        locks=locks,
        provider_deadline=settings.provider_deadline_seconds,
    )
