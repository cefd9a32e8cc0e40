"""Named locks that several processes agree on (Redis), or that hold only inside this process.

The Redis implementation uses redis-py's `Lock`: a random token per holder, released only by the
holder (a Lua compare-and-delete), with an expiry so a crashed holder never blocks the others for
longer than its ttl. The process-local one is for the embedded default only (one process).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock as RedisLock
from redis.exceptions import LockError, RedisError

from stockdash.core.redis import REDIS_FAILURES, RedisOutage


class Lease(Protocol):
    """A held lock that can be renewed and released."""

    async def renew(self) -> bool: ...
    async def release(self) -> None: ...


class Locks(Protocol):
    """A factory of named, expiring locks."""

    shared: bool

    async def acquire(self, name: str, *, ttl: float, wait: float | None) -> Lease | None: ...

    def hold(
        self, name: str, *, ttl: float, wait: float | None
    ) -> contextlib.AbstractAsyncContextManager[bool]: ...


class _RedisLease:
    def __init__(self, lock: RedisLock, ttl: float) -> None:
        self._lock, self._ttl = lock, ttl

    async def renew(self) -> bool:
        """Push the expiry out by a full ttl; False when the lock was lost (expired or taken)."""
        try:
            await self._lock.extend(self._ttl, replace_ttl=True)
        except (LockError, RedisError):
            return False
        return True

    async def release(self) -> None:
        """Release it if still ours (never someone else's)."""
        with contextlib.suppress(LockError, RedisError):
            await self._lock.release()


class RedisLocks:
    """Locks in Redis, shared by every process that uses the same Redis and prefix."""

    shared = True

    def __init__(self, client: aioredis.Redis, *, prefix: str, retry_seconds: float = 5.0) -> None:
        self._redis, self._prefix = client, prefix
        self.outage = RedisOutage("locks", retry_seconds=retry_seconds)

    async def acquire(self, name: str, *, ttl: float, wait: float | None) -> _RedisLease | None:
        """Take the lock within `wait` seconds (None: only if free now); None when not taken,
        also while Redis is unreachable (the callers' work goes on without it)."""
        if not self.outage.usable():
            return None
        try:
            lease = await self._acquire(name, ttl=ttl, wait=wait)
        except REDIS_FAILURES as exc:
            self.outage.failed(exc)
            return None
        self.outage.succeeded()
        return lease

    async def _acquire(self, name: str, *, ttl: float, wait: float | None) -> _RedisLease | None:
        lock = self._redis.lock(
            f"{self._prefix}lock:{name}",
            timeout=ttl,
            sleep=0.05,
            blocking=wait is not None,
            blocking_timeout=wait,
        )
        if not await lock.acquire():
            return None
        return _RedisLease(lock, ttl)

    def hold(
        self, name: str, *, ttl: float, wait: float | None
    ) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold the lock for the block; yields whether it was taken (work goes on either way)."""
        return _held(self, name, ttl=ttl, wait=wait)


class _LocalLease:
    def __init__(self, owner: ProcessLocalLocks, name: str, token: object) -> None:
        self._owner, self._name, self._token = owner, name, token

    async def renew(self) -> bool:
        return self._owner._holders.get(self._name) is self._token

    async def release(self) -> None:
        if self._owner._holders.get(self._name) is self._token:
            del self._owner._holders[self._name]
            self._owner._changed.set()
            self._owner._changed = asyncio.Event()


class ProcessLocalLocks:
    """Locks that hold only inside this process: the embedded default's single process."""

    shared = False

    def __init__(self) -> None:
        self._holders: dict[str, object] = {}
        self._changed = asyncio.Event()

    async def acquire(self, name: str, *, ttl: float, wait: float | None) -> _LocalLease | None:
        """Take the lock, waiting up to `wait` seconds for its holder to release it."""
        deadline = None if wait is None else asyncio.get_running_loop().time() + wait
        while name in self._holders:
            if deadline is None:
                return None
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        token = object()
        self._holders[name] = token
        return _LocalLease(self, name, token)

    def hold(
        self, name: str, *, ttl: float, wait: float | None
    ) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold the lock for the block; yields whether it was taken (work goes on either way)."""
        return _held(self, name, ttl=ttl, wait=wait)


@contextlib.asynccontextmanager
async def _held(
    locks: RedisLocks | ProcessLocalLocks, name: str, *, ttl: float, wait: float | None
) -> AsyncIterator[bool]:
    lease = await locks.acquire(name, ttl=ttl, wait=wait)
    try:
        yield lease is not None
    finally:
        if lease is not None:
            await lease.release()
