"""Rate limits on the `limits` library: Redis-backed when REDIS_URL is set (in memory while it is
unreachable), in memory otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import limits
import redis.asyncio as aioredis
from fastapi import Depends, Request
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from stockdash.core.config import Settings
from stockdash.core.container import InfrastructureDep, get_infrastructure
from stockdash.core.errors import AppError
from stockdash.core.metrics import RATE_LIMIT_FALLBACKS
from stockdash.core.redis import REDIS_FAILURES, RedisOutage, blocking_pool

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Keeps the reservation counters apart from the moving-window entries of the same limit.
SLOT_NAMESPACE = "slot"


class RateLimited(AppError):
    """Too many requests: 429 with Retry-After."""

    status_code = 429
    code = "rate_limited"


@dataclass(frozen=True, slots=True)
class Slot:
    """One reserved unit of a fixed-window counter."""

    key: str
    expiry: int


class Reservation:
    """Slots taken before the work they guard; `release` gives them back."""

    def __init__(self, limiter: RateLimiter, slots: list[Slot]) -> None:
        self._limiter = limiter
        self._slots = slots

    async def release(self) -> None:
        """Give every slot back (the attempt did not count after all)."""
        slots, self._slots = self._slots, []
        for slot in slots:
            await self._limiter.give_back(slot)


class RateLimiter:
    """One app's limiter over a shared (Redis) or private (memory) storage.

    `hit` counts on moving windows; `reserve` takes slots of fixed windows that can be given back.
    With Redis, an unreachable server does not open the limits: while it is down (`outage`),
    every check runs on an in-process memory storage instead (fail safe, per instance), and the
    first successful Redis call switches back.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        enabled: bool = True,
        pool: aioredis.ConnectionPool | None = None,
        retry_seconds: float = 5.0,
    ) -> None:
        self.storage = storage
        self.enabled = enabled
        self._strategy = MovingWindowRateLimiter(storage)
        self._pool = pool
        self.outage = RedisOutage("ratelimit", retry_seconds=retry_seconds)
        # Only a shared storage can fail; the in-process stand-in is created on its first use.
        self._fallback: MovingWindowRateLimiter | None = None

    async def hit(self, limit: str, *identifiers: str, what: str = "requests") -> None:
        """Count one request against every limit in `limit` ("a;b"); 429 when one is exhausted."""
        if not self.enabled:
            return
        for item in limits.parse_many(limit):
            if not await self._hit_one(item, identifiers):
                raise await self._refusal(item, identifiers, what)

    async def reserve(
        self, wanted: list[tuple[str, tuple[str, ...]]], *, what: str = "requests"
    ) -> Reservation:
        """Atomically take one slot of each (limit, identifiers) before the work; 429 if one is full.

        Fixed windows on the storage's counters: `incr` is atomic on memory and Redis, so parallel
        callers can never take more slots than the limit, and a slot can be given back
        (`Reservation.release`) when the attempt turns out not to count.
        """
        taken: list[Slot] = []
        if not self.enabled:
            return Reservation(self, taken)
        for limit, identifiers in wanted:
            for item in limits.parse_many(limit):
                slot = Slot(item.key_for(SLOT_NAMESPACE, *identifiers), item.get_expiry())
                count = await self._incr(slot)
                if count <= item.amount:
                    taken.append(slot)
                    continue
                await self.give_back(slot)
                await Reservation(self, taken).release()
                raise await self._slot_refusal(item, slot, what)
        return Reservation(self, taken)

    async def give_back(self, slot: Slot) -> None:
        """Return one reserved slot to its counter."""
        left = await self._incr(slot, -1)
        if left < 0:
            # The window ended while the slot was out, so the give-back opened a new counter:
            # undo it rather than grant the next window an extra attempt.
            await self._incr(slot)

    async def _hit_one(self, item: limits.RateLimitItem, identifiers: tuple[str, ...]) -> bool:
        return await self._run(lambda s: s.hit(item, *identifiers))

    async def _incr(self, slot: Slot, amount: int = 1) -> int:
        return await self._run(lambda s: s.storage.incr(slot.key, slot.expiry, amount=amount))

    async def _run(self, check: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        """Run a check on the shared storage, or on the in-process one while Redis is down."""
        if self._pool is None:
            return await check(self._strategy)
        if self.outage.usable():
            try:
                result = await check(self._strategy)
            except REDIS_FAILURES as exc:
                self.outage.failed(exc)
            else:
                self.outage.succeeded()
                return result
        # Fail safe, not open: limits still hold, per instance, until Redis answers again.
        RATE_LIMIT_FALLBACKS.inc()
        return await check(self._local())

    def _local(self) -> MovingWindowRateLimiter:
        if self._fallback is None:
            self._fallback = MovingWindowRateLimiter(MemoryStorage())
        return self._fallback

    async def _refusal(
        self, item: limits.RateLimitItem, identifiers: tuple[str, ...], what: str
    ) -> RateLimited:
        stats = await self._run(lambda s: s.get_window_stats(item, *identifiers))
        return _refused(item, stats.reset_time, what)

    async def _slot_refusal(self, item: limits.RateLimitItem, slot: Slot, what: str) -> RateLimited:
        return _refused(item, await self._run(lambda s: s.storage.get_expiry(slot.key)), what)

    async def close(self) -> None:
        """Release the Redis connections or the memory storage's expiry task."""
        if self._pool is not None:
            await self._pool.aclose()
        for storage in (self.storage, self._fallback and self._fallback.storage):
            timer = getattr(storage, "timer", None)
            if isinstance(timer, asyncio.Task) and not timer.done():
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer


def _refused(item: limits.RateLimitItem, reset_time: float, what: str) -> RateLimited:
    """The 429 for an exhausted limit, with Retry-After until the window frees a slot."""
    retry_after = max(1, math.ceil(reset_time - time.time()))
    return RateLimited(
        f"Too many {what}: the limit is {item}. Try again in {retry_after} s.",
        details={"limit": str(item), "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis storage when REDIS_URL is set (shared by every instance), memory otherwise."""
    if not settings.redis_url:
        return RateLimiter(MemoryStorage(), enabled=settings.rate_limit_enabled)
    pool = blocking_pool(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        connect_timeout=settings.redis_connect_timeout_seconds,
        command_timeout=settings.redis_command_timeout_seconds,
        decode_responses=False,
    )
    storage = RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=settings.rate_limit_key_prefix,
        connection_pool=pool,  # type: ignore[arg-type]  # options are typed as scalars only
    )
    return RateLimiter(
        storage,
        enabled=settings.rate_limit_enabled,
        pool=pool,
        retry_seconds=settings.redis_retry_seconds,
    )


async def get_rate_limiter(infra: InfrastructureDep) -> RateLimiter:
    """The app's rate limiter."""
    return infra.rate_limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_ip(request: Request) -> str:
    """The client's address: the peer, or behind trusted proxies the address the outermost one saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so only the
    last TRUSTED_PROXY_HOPS entries are trustworthy; anything left of them came from the client.
    """
    settings: Settings = get_infrastructure(request).settings
    peer = request.client.host if request.client else "unknown"
    if not settings.trust_proxy_headers:
        return peer
    header = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not hops:
        return peer
    # Fewer entries than proxies: the request skipped one; the left-most is the best we have.
    return (
        hops[-settings.trusted_proxy_hops] if len(hops) >= settings.trusted_proxy_hops else hops[0]
    )
