"""The cache protocol with an in-process TTL implementation and a Redis one (keys as the seed names them)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import redis.asyncio as aioredis

from stockdash.core.metrics import CACHE_HITS, CACHE_MISSES
from stockdash.core.redis import blocking_pool


@runtime_checkable
class Cache(Protocol):
    """A string key-value store with expiry, shared by API instances when it is Redis."""

    name: str

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: float) -> None: ...
    async def add(self, key: str, value: str, ttl: float) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def close(self) -> None: ...


class MemoryCache:
    """In-process TTL cache with an LRU bound (the embedded default)."""

    name = "memory"

    def __init__(
        self, max_items: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_items = max_items
        self._clock = clock

    async def get(self, key: str) -> str | None:
        """The live value for a key, if any."""
        entry = self._items.get(key)
        if entry is None:
            CACHE_MISSES.labels(self.name).inc()
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._items[key]
            CACHE_MISSES.labels(self.name).inc()
            return None
        self._items.move_to_end(key)
        CACHE_HITS.labels(self.name).inc()
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store a value for ttl seconds."""
        self._items[key] = (self._clock() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max_items:
            self._items.popitem(last=False)

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Store only if absent (a lock); whether it was stored."""
        entry = self._items.get(key)
        if entry is not None and entry[0] > self._clock():
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        """Forget a key."""
        self._items.pop(key, None)

    async def close(self) -> None:
        """Drop everything."""
        self._items.clear()


class RedisCache:
    """Redis-backed cache shared by every API instance and worker."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stockdash:",
        max_connections: int = 64,
        connect_timeout: float | None = None,
        command_timeout: float | None = None,
    ) -> None:
        self._redis = aioredis.Redis(
            connection_pool=blocking_pool(
                url,
                max_connections=max_connections,
                connect_timeout=connect_timeout,
                command_timeout=command_timeout,
                decode_responses=True,
            ),
            decode_responses=True,
        )
        self._prefix = prefix

    async def get(self, key: str) -> str | None:
        """The live value for a key, if any."""
        raw = await self._redis.get(self._prefix + key)
        value = raw.decode() if isinstance(raw, bytes) else raw
        (CACHE_HITS if value is not None else CACHE_MISSES).labels(self.name).inc()
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store a value for ttl seconds."""
        await self._redis.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Store only if absent (a lock); whether it was stored."""
        return bool(
            await self._redis.set(self._prefix + key, value, px=max(1, int(ttl * 1000)), nx=True)
        )

    async def delete(self, key: str) -> None:
        """Forget a key."""
        await self._redis.delete(self._prefix + key)

    async def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(await self._redis.ping())

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def build_cache(redis_url: str | None, *, prefix: str = "stockdash:", **options: Any) -> Cache:
    """Redis when a URL is configured (`options`: pool size and timeouts), otherwise in-process."""
    return RedisCache(redis_url, prefix=prefix, **options) if redis_url else MemoryCache()
