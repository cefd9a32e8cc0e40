"""The current user (and what hangs off them, such as their watchlist), cached briefly in this
process so an authenticated request need not query the database just to know who is calling.

Correctness across processes comes from a per-user version: every commit that changes a user's
row or one of their owned rows bumps it (`CurrentUserCache` is a `CommitListener` of the session
factory), and a cached entry is used only while its version is still the current one. With Redis
the version lives there, shared by every instance and worker; this process keeps the versions it
read for as long as Redis client-side caching (`core.tracking`) is live, so a warm request makes
no round trip, and a bump anywhere drops the copy here before a later request can use it. Without
tracking that is one GET per request. Without Redis the embedded default is one process and the
version lives in this process (`ProcessLocalUserVersions`). An entry also expires after a short
TTL, a safety net for changes made outside the application (SQL by hand).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import redis.asyncio as aioredis
from cachetools import LRUCache, TTLCache

from stockdash.core.redis import REDIS_FAILURES, RedisOutage
from stockdash.core.tracking import RedisTracking
from stockdash.users.records import UserRecord

logger = logging.getLogger(__name__)

T = TypeVar("T")
# A version that cannot be read (Redis down): the cache is bypassed, the database answers.
UNKNOWN = object()
_NOT_KEPT = object()
# How long a Redis version key outlives its last bump; an expired key reads as "no version",
# which no entry cached after a bump carries, so expiry only ever costs a reload.
VERSION_KEY_SECONDS = 7 * 24 * 3600


class UserVersions(Protocol):
    """Where the per-user versions live."""

    async def current(self, user_id: int) -> object:
        """The user's version now (UNKNOWN when it cannot be read)."""
        ...

    async def bump(self, user_ids: Iterable[int]) -> None:
        """Move these users to a new version."""
        ...


class ProcessLocalUserVersions:
    """Versions in this process only: right for the single-process embedded default."""

    def __init__(self) -> None:
        self._versions: dict[int, int] = {}

    async def current(self, user_id: int) -> object:
        """The user's version now."""
        return self._versions.get(user_id, 0)

    async def bump(self, user_ids: Iterable[int]) -> None:
        """Move these users to a new version."""
        for user_id in user_ids:
            self._versions[user_id] = self._versions.get(user_id, 0) + 1


class RedisUserVersions:
    """Versions in Redis, shared by every API instance and worker; with `tracking`, the versions
    read are kept here until Redis says they changed."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        retry_seconds: float = 5.0,
        tracking: RedisTracking | None = None,
        max_users: int = 100_000,
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}userver:"
        # Logs and counts an outage once and skips Redis until the next retry, so a paused
        # Redis costs one command timeout per retry interval, not one per request.
        self.outage = RedisOutage("users", retry_seconds=retry_seconds)
        self._tracking = tracking
        self._kept: LRUCache[int, object] = LRUCache(max_users)
        if tracking is not None:
            tracking.subscribe(self._prefix, self._forget)

    def _forget(self, keys: list[str] | None) -> None:
        """Redis says these users' versions changed (None: all of them)."""
        if keys is None:
            self._kept.clear()
            return
        for key in keys:
            if key.isdigit():
                self._kept.pop(int(key), None)

    async def current(self, user_id: int) -> object:
        """The user's version now (UNKNOWN while Redis cannot answer)."""
        tracking = self._tracking
        generation = 0
        if tracking is not None:
            generation = tracking.reading()
            if tracking.live and (kept := self._kept.get(user_id, _NOT_KEPT)) is not _NOT_KEPT:
                return kept
        if not self.outage.usable():
            return UNKNOWN
        try:
            version = await self._redis.get(f"{self._prefix}{user_id}")
        except REDIS_FAILURES as exc:
            self.outage.failed(exc)
            return UNKNOWN
        self.outage.succeeded()
        if tracking is not None and tracking.vouches(generation):
            self._kept[user_id] = version
        return version

    async def bump(self, user_ids: Iterable[int]) -> None:
        """Move these users to a new version (one pipelined round trip)."""
        user_ids = list(user_ids)
        for user_id in user_ids:
            self._kept.pop(user_id, None)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    key = f"{self._prefix}{user_id}"
                    pipe.incr(key)
                    pipe.expire(key, VERSION_KEY_SECONDS)
                await pipe.execute()
        except REDIS_FAILURES as exc:
            # Instances keep a changed user for at most the cache TTL (UNKNOWN meanwhile).
            self.outage.failed(exc)


@dataclass(slots=True)
class _Entry:
    """One cached user (an immutable domain value, shared by the requests it serves), the
    version it was read at, and what hangs off them."""

    user: UserRecord
    version: object
    attached: dict[str, Any] = field(default_factory=dict)


UserLoader = Callable[[], Awaitable[UserRecord | None]]


class CurrentUserCache:
    """Users by id, valid while their version is current; a listener of commits."""

    def __init__(
        self,
        versions: UserVersions,
        *,
        owners: dict[type, Callable[[Any], int]],
        ttl: float,
        max_users: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.versions = versions
        self._owners = owners
        self._enabled = ttl > 0
        self._entries: TTLCache[int, _Entry] = TTLCache(max_users, max(ttl, 1e-3), timer=clock)

    # -- CommitListener ------------------------------------------------------------------------

    def key_of(self, obj: object) -> Hashable | None:
        """The user a changed row belongs to (a user, or a row they own), else None."""
        owner = self._owners.get(type(obj))
        return None if owner is None else owner(obj)

    async def committed(self, keys: set[Hashable]) -> None:
        """Forget the changed users here and move them to a new version everywhere."""
        user_ids = [int(k) for k in keys if isinstance(k, int)]
        for user_id in user_ids:
            self._entries.pop(user_id, None)
        await self.versions.bump(user_ids)

    # -- reads ---------------------------------------------------------------------------------

    async def user(self, user_id: int, load: UserLoader) -> UserRecord | None:
        """The user, from this process while current, else loaded (and cached)."""
        if not self._enabled:
            return await load()
        version = await self.versions.current(user_id)
        entry = self._entries.get(user_id)
        if entry is not None and version is not UNKNOWN and entry.version == version:
            return entry.user
        # Read the version before the row: a change committed in between bumps it again later.
        user = await load()
        if user is not None and version is not UNKNOWN:
            self._entries[user_id] = _Entry(user, version)
        return user

    async def attached(self, user_id: int, name: str, load: Callable[[], Awaitable[T]]) -> T:
        """Something owned by the user (e.g. their watchlist), cached with the user's entry.

        Call after `user()` in the same request: the entry it validated is the one used.
        """
        entry = self._current(user_id)
        if entry is not None and name in entry.attached:
            value: T = entry.attached[name]
            return value
        value = await load()
        # Loaded after the entry's version was read, so it is at least as new as that version.
        if entry is not None and self._entries.get(user_id) is entry:
            entry.attached[name] = value
        return value

    def recall(self, user_id: int, name: str) -> Any:
        """What `remember` kept with the user's current entry (None if nothing)."""
        entry = self._current(user_id)
        return None if entry is None else entry.attached.get(name)

    def remember(self, user_id: int, name: str, value: object) -> None:
        """Keep a value derived from the user's current state with their entry (dropped with it
        when the user changes)."""
        entry = self._current(user_id)
        if entry is not None:
            entry.attached[name] = value

    def _current(self, user_id: int) -> _Entry | None:
        """The user's cached entry, if the cache is on and holds one."""
        return self._entries.get(user_id) if self._enabled else None
