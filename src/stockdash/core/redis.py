"""Redis connection pools: bounded, with timeouts, shared by the cache and the locks."""

from __future__ import annotations

import redis.asyncio as aioredis

# How long a caller waits for a free pooled connection when no command timeout is given.
DEFAULT_POOL_WAIT_SECONDS = 5.0


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
