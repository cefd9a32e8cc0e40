"""The cache protocol with an in-process TTL implementation and a Redis one (keys as the seed names them)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, runtime_checkable

from cachetools import LRUCache

from stockdash.core.metrics import CACHE_HITS, CACHE_MISSES, CACHE_SECONDS
from stockdash.core.redis import REDIS_FAILURES, RedisOutage, redis_client
from stockdash.core.tracking import RedisTracking

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


# A copy kept under Redis tracking is still re-read after this long: a safety net, not the
# mechanism (every change, expiry or eviction of the key drops it at once).
TRACKED_MAX_SECONDS = 300.0


@dataclass(slots=True)
class _NearCopy:
    """A value kept in this process: since when, and whether Redis tracking vouches for it."""

    value: str
    at: float
    tracked: bool


def _copy_size(copy: _NearCopy) -> int:
    """What a near copy costs, roughly: its text (the key and the record are small)."""
    return len(copy.value) + 100


class RedisCache:
    """Redis-backed cache shared by every API instance and worker.

    Redis is an accelerator, not a dependency: an error or timeout is a miss (reads) or a no-op
    (writes), so callers fall through to the database copy and the snapshot; `outage` logs and
    counts it once and skips Redis until its next retry, and the first success recovers.

    The near cache keeps values of hot keys in this process. Under `tracked_prefixes`, while
    Redis client-side caching (`core.tracking`) is live, a copy is used until Redis says the key
    changed; under `near_prefixes` without it, for `near_seconds` (a quote or a 5-year history is
    read on every request and changes once per refresh: a round trip, and for a history 200 KB,
    saved per request, at the price of another process's write reaching this one up to
    `near_seconds` late).
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
        near_bytes: int = 64 * 2**20,
        tracking: RedisTracking | None = None,
        tracked_prefixes: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._near_seconds = near_seconds
        self._near_prefixes = near_prefixes if near_seconds > 0 else ()
        self._tracking = tracking if tracked_prefixes else None
        self._tracked_prefixes = tracked_prefixes if tracking is not None else ()
        # Bounded by size, not count: a 5-year history is 200 KB, a card version 16 bytes.
        self._near: LRUCache[str, _NearCopy] | None = (
            LRUCache(near_bytes, getsizeof=_copy_size)
            if near_bytes > 0 and (self._near_prefixes or self._tracked_prefixes)
            else None
        )
        self._clock = clock
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
        if self._tracking is not None:
            for tracked in self._tracked_prefixes:
                self._tracking.subscribe(prefix + tracked, partial(self._forget, tracked))

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
        kept = self._near_get(key)
        if kept is not None:
            CACHE_HITS.labels(self.name).inc()
            return kept
        generation = self._generation()
        raw = await self._try(partial(self._get, key), None)
        value = raw.decode() if isinstance(raw, bytes) else raw
        (CACHE_HITS if value is not None else CACHE_MISSES).labels(self.name).inc()
        if value is not None:
            self._keep_read(key, value, generation)
        return value

    # -- the near cache ------------------------------------------------------------------------

    def _generation(self) -> int:
        """Where the tracker stands before a read (a push meanwhile forbids keeping its answer)."""
        return 0 if self._tracking is None else self._tracking.reading()

    def _near_get(self, key: str) -> str | None:
        """This process's copy of a key, if it may still be used."""
        if self._near is None or (copy := self._near.get(key)) is None:
            return None
        age = self._clock() - copy.at
        tracked = copy.tracked and self._tracking is not None and self._tracking.live
        if tracked and age < TRACKED_MAX_SECONDS:
            return copy.value
        if age < self._near_seconds and key.startswith(self._near_prefixes):
            return copy.value
        return None

    def _keep_read(self, key: str, value: str, generation: int) -> None:
        """Keep a value just read: tracked when nothing was pushed while it was read, else for
        `near_seconds` where that applies."""
        if self._near is None:
            return
        tracking = self._tracking
        if (
            tracking is not None
            and tracking.vouches(generation)
            and key.startswith(self._tracked_prefixes)
        ):
            self._near[key] = _NearCopy(value, self._clock(), tracked=True)
        elif key.startswith(self._near_prefixes):
            self._near[key] = _NearCopy(value, self._clock(), tracked=False)

    def _keep_near(self, key: str, value: str | None) -> None:
        """What this process just wrote (or deleted) is what it reads next, for `near_seconds`."""
        if self._near is None:
            return
        if value is not None and key.startswith(self._near_prefixes):
            self._near[key] = _NearCopy(value, self._clock(), tracked=False)
        else:
            self._near.pop(key, None)

    def _forget(self, tracked: str, keys: list[str] | None) -> None:
        """Redis says these keys (under `tracked`) changed; None: every copy is suspect."""
        if self._near is None:
            return
        if keys is None:
            self._near.clear()
            return
        for key in keys:
            self._near.pop(tracked + key, None)

    async def _get(self, key: str) -> str | bytes | None:
        with self._timed["get"].time():
            value: str | bytes | None = await self._redis.get(self._prefix + key)
            return value

    async def get_many(self, keys: list[str]) -> list[str | None]:
        """The live values for several keys, in order: near copies, the rest in one MGET."""
        if not keys:
            return []
        values: list[str | None] = [self._near_get(key) for key in keys]
        remote = [i for i, v in enumerate(values) if v is None]
        if remote:
            generation = self._generation()
            missing: list[str | bytes | None] = [None] * len(remote)
            raw = await self._try(partial(self._mget, [keys[i] for i in remote]), missing)
            for i, v in zip(remote, raw, strict=True):
                value = v.decode() if isinstance(v, bytes) else v
                values[i] = value
                if value is not None:
                    self._keep_read(keys[i], value, generation)
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
