"""An upstream request budget shared by every process through `limits` on Redis."""

from __future__ import annotations

import asyncio
import time

import limits
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter


class SharedRateGate:
    """Waits until the provider's per-minute budget, counted across all processes, has room."""

    def __init__(self, redis_url: str, *, provider: str, per_minute: int, prefix: str) -> None:
        self._limiter = MovingWindowRateLimiter(
            RedisStorage("async+" + redis_url, implementation="redispy", key_prefix=prefix)
        )
        self._item = limits.RateLimitItemPerMinute(per_minute)
        self._key = f"provider-{provider}"

    async def acquire(self) -> None:
        """Take one request from the shared budget, sleeping until the window frees one."""
        while not await self._limiter.hit(self._item, self._key):
            stats = await self._limiter.get_window_stats(self._item, self._key)
            await asyncio.sleep(max(0.05, stats.reset_time - time.time()))
