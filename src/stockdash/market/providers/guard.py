"""What every process must agree on about a failing provider: its circuit breaker, the pause a
Retry-After asked for, and the refresh's backoff between cycles.

With Redis configured all three live there, so API instances, workers and the scheduler see
one state; while Redis is down each process keeps going on a process-local copy (and says so
once in the log), and without Redis, where one process does everything, only that copy exists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import redis.asyncio as aioredis
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import Context
from purgatory.service._async.repository import (
    AsyncAbstractRepository,
    AsyncInMemoryRepository,
    AsyncRedisRepository,
)
from purgatory.service._async.unit_of_work import AsyncAbstractUnitOfWork

from stockdash.core.redis import REDIS_FAILURES, RedisOutage
from stockdash.market.cache import Cache, MemoryCache, RedisCache
from stockdash.market.types import ProviderError, UnknownSymbolError

Clock = Callable[[], float]
T = TypeVar("T")

# How long the shared records outlive their last change (a week: a long outage is still one).
STATE_TTL = 7 * 24 * 3600.0


class SharedOrLocalBreakers(AsyncAbstractRepository):
    """Circuit-breaker state in Redis (purgatory's own Redis repository, on a pool with this
    project's timeouts and key prefix); while Redis fails, a process-local repository."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str,
        retry_seconds: float,
        threshold: int,
        ttl: float,
    ) -> None:
        self.messages = []
        self._threshold = threshold
        self._ttl = ttl
        self._shared = AsyncRedisRepository("redis://unused")
        self._shared.redis = redis
        self._shared.prefix = prefix
        self._local = AsyncInMemoryRepository()
        self.outage = RedisOutage("breaker", retry_seconds=retry_seconds)

    async def _either(
        self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]
    ) -> T:
        if self.outage.usable():
            try:
                result = await shared()
            except REDIS_FAILURES as exc:
                self.outage.failed(exc)
            else:
                self.outage.succeeded()
                return result
        return await local()

    async def get(self, name: str) -> Context | None:
        """The circuit's state (Redis's, or this process's while Redis is down), with this
        process's settings (Redis keeps those of whoever registered the circuit first)."""
        context = await self._either(
            partial(self._shared.get, name), partial(self._local.get, name)
        )
        if context is not None:
            context.threshold, context.ttl = self._threshold, self._ttl
        return context

    async def register(self, context: Context) -> None:
        """Record a new circuit."""
        await self._local.register(context)
        await self._either(partial(self._shared.register, context), _nothing)

    async def update_state(self, name: str, state: str, opened_at: float | None) -> None:
        """Record an opened, half-opened or closed circuit."""
        await self._either(partial(self._shared.update_state, name, state, opened_at), _nothing)

    async def inc_failures(self, name: str, failure_count: int) -> None:
        """Count one more failure."""
        await self._either(partial(self._shared.inc_failures, name, failure_count), _nothing)

    async def reset_failure(self, name: str) -> None:
        """Forget the failures after a success."""
        await self._either(partial(self._shared.reset_failure, name), _nothing)


async def _nothing() -> None:
    """The process-local repository keeps its state on the context objects themselves."""


class SharedBreakerUnitOfWork(AsyncAbstractUnitOfWork):
    """purgatory's unit of work over `SharedOrLocalBreakers` (Redis needs no transaction)."""

    def __init__(self, repository: SharedOrLocalBreakers) -> None:
        self.contexts = repository

    async def commit(self) -> None:
        """Each repository call is already durable."""

    async def rollback(self) -> None:
        """Nothing to undo."""


def circuit_breakers(
    *,
    failures: int,
    reset_seconds: float,
    redis: aioredis.Redis | None = None,
    prefix: str = "stockdash:",
    retry_seconds: float = 5.0,
) -> AsyncCircuitBreakerFactory:
    """One circuit breaker per provider (by name): opens after `failures` failed calls in a row,
    half-opens `reset_seconds` later; shared through Redis when given. An unknown symbol (404)
    is an answer, not a failure."""
    uow = None
    if redis is not None:
        repository = SharedOrLocalBreakers(
            redis,
            prefix=f"{prefix}breaker:",
            retry_seconds=retry_seconds,
            threshold=failures,
            ttl=reset_seconds,
        )
        uow = SharedBreakerUnitOfWork(repository)
    return AsyncCircuitBreakerFactory(
        default_threshold=failures,
        default_ttl=reset_seconds,
        exclude=[UnknownSymbolError, (ProviderError, lambda exc: exc.status == 404)],
        uow=uow,
    )


class ProviderGuard:
    """One provider's failure state that every process honours: the circuit breaker, the
    Retry-After pause and the refresh's backoff between cycles (see the module docstring)."""

    def __init__(
        self,
        provider: str,
        *,
        breakers: AsyncCircuitBreakerFactory | None = None,
        shared: Cache | None = None,
        redis: aioredis.Redis | None = None,
        clock: Clock = time.time,
        backoff_base: float = 60.0,
        backoff_cap: float = 1800.0,
    ) -> None:
        self.provider = provider
        self.breakers = breakers
        self._shared = shared
        self._redis = redis
        self._local = MemoryCache(max_items=64, clock=clock)
        self._clock = clock
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    async def close(self) -> None:
        """Release the Redis connections."""
        if self._shared is not None:
            await self._shared.close()
        if self._redis is not None:
            await self._redis.aclose()

    # -- a small record store: Redis first, this process's copy while Redis is down ---------

    async def _read(self, key: str) -> dict[str, Any] | None:
        if self._shared is not None:
            text = await self._shared.get(key)
            if _reachable(self._shared):
                return json.loads(text) if text else None
        text = await self._local.get(key)
        return json.loads(text) if text else None

    async def _write(self, key: str, record: dict[str, Any] | None) -> None:
        if record is None:
            await self._local.delete(key)
            if self._shared is not None:
                await self._shared.delete(key)
            return
        text = json.dumps(record)
        await self._local.set(key, text, STATE_TTL)
        if self._shared is not None:
            await self._shared.set(key, text, STATE_TTL)

    # -- Retry-After -----------------------------------------------------------------------

    async def paused_for(self) -> float:
        """Seconds the provider asked every caller to wait still (0: none)."""
        record = await self._read(f"pause:{self.provider}")
        return max(0.0, float(record["until"]) - self._clock()) if record else 0.0

    async def pause(self, seconds: float) -> None:
        """Honour a Retry-After: no call leaves any process before it has passed."""
        until = self._clock() + seconds
        record = await self._read(f"pause:{self.provider}")
        if record is None or float(record["until"]) < until:
            await self._write(f"pause:{self.provider}", {"until": until})

    # -- the refresh's backoff between cycles ----------------------------------------------

    async def refresh_wait(self) -> float:
        """Seconds before the refresh should call the provider again (a pause or a backoff)."""
        record = await self._read(f"backoff:{self.provider}")
        backoff = max(0.0, float(record["until"]) - self._clock()) if record else 0.0
        return max(backoff, await self.paused_for())

    async def refresh_failed(self) -> float | None:
        """A refresh could not reach the provider: back off, doubling per failed attempt up to
        the cap. Returns the new wait; None while already backing off (nothing changes)."""
        key = f"backoff:{self.provider}"
        record = await self._read(key) or {"failures": 0, "until": 0.0}
        now = self._clock()
        if float(record["until"]) > now:
            return None
        failures = int(record["failures"]) + 1
        wait = min(self._backoff_cap, self._backoff_base * 2.0 ** (failures - 1))
        await self._write(key, {"failures": failures, "until": now + wait})
        return wait

    async def refresh_succeeded(self) -> None:
        """The provider answered a refresh: no more backoff."""
        if await self._read(f"backoff:{self.provider}") is not None:
            await self._write(f"backoff:{self.provider}", None)

    async def refresh_failures(self) -> int:
        """Failed refresh attempts in a row (0 once one succeeds)."""
        record = await self._read(f"backoff:{self.provider}")
        return int(record["failures"]) if record else 0


def _reachable(cache: Cache) -> bool:
    """Whether a cache is not in a Redis outage (a memory cache always is reachable)."""
    return not (isinstance(cache, RedisCache) and cache.outage.down)
