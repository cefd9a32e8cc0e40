"""Redis connection pools (bounded, with timeouts) and the outage tracker that keeps Redis optional."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from stockdash.core.metrics import REDIS_ERRORS, REDIS_UP

logger = logging.getLogger(__name__)

# How long a caller waits for a free pooled connection when no command timeout is given.
DEFAULT_POOL_WAIT_SECONDS = 5.0
# What an unreachable, paused or failing Redis raises (timeouts included: redis-py's are
# RedisErrors, asyncio's are TimeoutError, refused sockets are OSError).
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def blocking_pool(
    url: str,
    *,
    max_connections: int,
    connect_timeout: float | None,
    command_timeout: float | None,
    decode_responses: bool,
) -> aioredis.BlockingConnectionPool:
    """A bounded pool whose callers wait for a free connection (up to the command timeout)
    instead of failing at once when many requests use Redis together."""
    return aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=command_timeout or DEFAULT_POOL_WAIT_SECONDS,
        socket_connect_timeout=connect_timeout,
        socket_timeout=command_timeout,
        decode_responses=decode_responses,
    )


def redis_client(
    url: str,
    *,
    connect_timeout: float | None,
    command_timeout: float | None,
    max_connections: int = 8,
) -> aioredis.Redis:
    """A client on a bounded `blocking_pool` with this project's timeouts, replies decoded."""
    return aioredis.Redis(
        connection_pool=blocking_pool(
            url,
            max_connections=max_connections,
            connect_timeout=connect_timeout,
            command_timeout=command_timeout,
            decode_responses=True,
        ),
        decode_responses=True,
    )


class RedisOutage:
    """Whether one component's Redis works: an error opens an outage (logged once, counted),
    the next success closes it; meanwhile the component skips Redis for `retry_seconds`
    between attempts, so a dead or paused Redis costs one timeout per interval, not per call."""

    def __init__(
        self, component: str, *, retry_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.component = component
        self.down = False
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._next_try = 0.0
        self._errors = REDIS_ERRORS.labels(component)
        self._up = REDIS_UP.labels(component)
        self._up.set(1)

    def usable(self) -> bool:
        """Whether to try Redis now (always, unless in an outage and before the next retry)."""
        return not self.down or self._clock() >= self._next_try

    def failed(self, exc: BaseException) -> None:
        """Record an error: count it, and log it only when it starts an outage."""
        self._errors.inc()
        self._next_try = self._clock() + self._retry_seconds
        if not self.down:
            self.down = True
            self._up.set(0)
            logger.warning(
                "redis unavailable for %s (%s: %s); falling back until it answers again",
                self.component,
                type(exc).__name__,
                exc,
            )

    def succeeded(self) -> None:
        """Record a success: ends an outage (logged once)."""
        if self.down:
            self.down = False
            self._up.set(1)
            logger.warning("redis reachable again for %s; outage over", self.component)
