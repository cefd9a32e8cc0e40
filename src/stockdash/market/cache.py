"""The cache protocol with an in-process TTL implementation and a Redis one (keys as the seed names them)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol, TypeVar, runtime_checkable

from cachetools import TTLCache

from stockdash.core.metrics import CACHE_HITS, CACHE_MISSES, CACHE_SECONDS
from stockdash.core.redis import REDIS_FAILURES, RedisOutage, redis_client

T = TypeVar("T")


@runtime_checkable
class Cache(Protocol):
    """A string key-value store with expiry, shared by API instances when it is Redis."""

    name: str

    async def get(self, key: str) -> str | None: ...
    async def get_many(self, keys: list[str]) -> list[str | None]: ...
    async def set(self, key: str, value: str, ttl: float) -> None: ...
    async def set_many(self, items: dict[str, str], ttl: float) -> None: ...
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
        self._hits = CACHE_HITS.labels(self.name)
        self._misses = CACHE_MISSES.labels(self.name)

    async def get(self, key: str) -> str | None:
        """The live value for a key, if any."""
        value = self._live(key, self._clock())
        (self._hits if value is not None else self._misses).inc()
        return value

    def _live(self, key: str, now: float) -> str | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= now:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    async def get_many(self, keys: list[str]) -> list[str | None]:
        """The live values for several keys, in order (None where absent)."""
        now = self._clock()
        values = [self._live(key, now) for key in keys]
        hits = sum(v is not None for v in values)
        self._hits.inc(hits)
        self._misses.inc(len(values) - hits)
        return values

    async def set_many(self, items: dict[str, str], ttl: float) -> None:
        """Store several values for ttl seconds."""
        for key, value in items.items():
            await self.set(key, value, ttl)

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
    """Redis-backed cache shared by every API instance and worker.

    Redis is an accelerator, not a dependency: an error or timeout is a miss (reads) or a no-op
    (writes), so callers fall through to the database copy and the snapshot; `outage` logs and
    counts it once and skips Redis until its next retry, and the first success recovers.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stockdash:",
        max_connections: int = 64,
        connect_timeout: float | None = None,
        command_timeout: float | None = None,
        retry_seconds: float = 5.0,
        near_seconds: float = 0.0,
        near_prefixes: tuple[str, ...] = (),
        near_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The near cache: values under `near_prefixes` kept in this process for `near_seconds`
        # (a quote or a 5-year history is read on every request and changes once per refresh:
        # a round trip, and for a history 200 KB, saved per request, at the price of another
        # process's write reaching this one up to `near_seconds` late).
        self._near: TTLCache[str, str] | None = (
            TTLCache(near_entries, near_seconds, timer=clock)
            if near_seconds > 0 and near_prefixes and near_entries > 0
            else None
        )
        self._near_prefixes = near_prefixes
        self._redis = redis_client(
            url,
            max_connections=max_connections,
            connect_timeout=connect_timeout,
            command_timeout=command_timeout,
        )
        self._prefix = prefix
        self.outage = RedisOutage("cache", retry_seconds=retry_seconds)
        self._timed = {
            op: CACHE_SECONDS.labels(op) for op in ("get", "get_many", "set", "set_many")
        }

    async def _try(self, call: Callable[[], Awaitable[T]], fallback: T) -> T:
        """The call's result, or `fallback` when Redis fails or is in an outage."""
        if not self.outage.usable():
            return fallback
        try:
            result = await call()
        except REDIS_FAILURES as exc:
            self.outage.failed(exc)
            return fallback
        self.outage.succeeded()
        return result

    async def get(self, key: str) -> str | None:
        """The live value for a key, if any (None also while Redis is unreachable)."""
        near = self._near_for(key)
        if near is not None and (kept := near.get(key)) is not None:
            CACHE_HITS.labels(self.name).inc()
            return kept
        raw = await self._try(partial(self._get, key), None)
        value = raw.decode() if isinstance(raw, bytes) else raw
        (CACHE_HITS if value is not None else CACHE_MISSES).labels(self.name).inc()
        if near is not None and value is not None:
            near[key] = value
        return value

    def _near_for(self, key: str) -> TTLCache[str, str] | None:
        """The near cache, if this key is one it keeps."""
        if self._near is not None and key.startswith(self._near_prefixes):
            return self._near
        return None

    def _keep_near(self, key: str, value: str | None) -> None:
        """What this process just wrote (or deleted) is what it reads next."""
        near = self._near_for(key)
        if near is None:
            return
        if value is None:
            near.pop(key, None)
        else:
            near[key] = value

    async def _get(self, key: str) -> str | bytes | None:
        with self._timed["get"].time():
            value: str | bytes | None = await self._redis.get(self._prefix + key)
            return value

    async def get_many(self, keys: list[str]) -> list[str | None]:
        """The live values for several keys, in order: one MGET, one round trip."""
        if not keys:
            return []
        missing: list[str | bytes | None] = [None] * len(keys)
        raw = await self._try(partial(self._mget, keys), missing)
        values = [v.decode() if isinstance(v, bytes) else v for v in raw]
        hits = sum(v is not None for v in values)
        CACHE_HITS.labels(self.name).inc(hits)
        CACHE_MISSES.labels(self.name).inc(len(values) - hits)
        return values

    async def _mget(self, keys: list[str]) -> list[str | bytes | None]:
        with self._timed["get_many"].time():
            values: list[str | bytes | None] = await self._redis.mget(
                [self._prefix + key for key in keys]
            )
            return values

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store a value for ttl seconds."""
        await self._try(partial(self._set, key, value, ttl), None)
        self._keep_near(key, value)

    async def _set(self, key: str, value: str, ttl: float) -> None:
        with self._timed["set"].time():
            await self._redis.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))

    async def set_many(self, items: dict[str, str], ttl: float) -> None:
        """Store several values for ttl seconds, in order, in one pipelined round trip."""
        if items:
            await self._try(partial(self._set_many, items, ttl), None)
            for key, value in items.items():
                self._keep_near(key, value)

    async def _set_many(self, items: dict[str, str], ttl: float) -> None:
        px = max(1, int(ttl * 1000))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self._prefix + key, value, px=px)
            with self._timed["set_many"].time():
                await pipe.execute()

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Store only if absent (a lock); whether it was stored (False while Redis is down)."""
        return bool(
            await self._try(
                partial(
                    self._redis.set,
                    self._prefix + key,
                    value,
                    px=max(1, int(ttl * 1000)),
                    nx=True,
                ),
                False,
            )
        )

    async def delete(self, key: str) -> None:
        """Forget a key."""
        self._keep_near(key, None)
        await self._try(partial(self._redis.delete, self._prefix + key), 0)

    async def ping(self) -> bool:
        """Whether Redis answers (False when it does not, rather than an error)."""
        return bool(await self._try(self._redis.ping, False))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def build_cache(redis_url: str | None, *, prefix: str = "stockdash:", **options: Any) -> Cache:
    """Redis when a URL is configured (`options`: pool size and timeouts), otherwise in-process."""
    return RedisCache(redis_url, prefix=prefix, **options) if redis_url else MemoryCache()
