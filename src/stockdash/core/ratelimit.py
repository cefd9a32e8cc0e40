"""Rate limits on the `limits` library: Redis-backed when REDIS_URL is set, in memory otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated

import limits
import redis.asyncio as aioredis
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from stockdash.core.config import Settings
from stockdash.core.errors import AppError, NotAuthenticated

logger = logging.getLogger(__name__)


class RateLimited(AppError):
    """Too many requests: 429 with Retry-After."""

    status_code = 429
    code = "rate_limited"


class RateLimiter:
    """One app's limiter: a moving window over a shared (Redis) or private (memory) storage."""

    def __init__(
        self,
        storage: Storage,
        *,
        enabled: bool = True,
        pool: aioredis.ConnectionPool | None = None,
    ) -> None:
        self.storage = storage
        self.enabled = enabled
        self._strategy = MovingWindowRateLimiter(storage)
        self._pool = pool

    async def hit(self, limit: str, *identifiers: str, what: str = "requests") -> None:
        """Count one request against a limit; 429 when it is exhausted."""
        if not self.enabled:
            return
        item = limits.parse(limit)
        if not await self._guard(self._strategy.hit(item, *identifiers)):
            raise await self._refusal(item, identifiers, what)

    async def ensure_available(self, limit: str, *identifiers: str, what: str = "requests") -> None:
        """429 if a limit is already exhausted, without counting anything."""
        if not self.enabled:
            return
        item = limits.parse(limit)
        if not await self._guard(self._strategy.test(item, *identifiers)):
            raise await self._refusal(item, identifiers, what)

    async def _guard(self, check: Awaitable[bool]) -> bool:
        # Fail open: an unreachable Redis must not take the whole API down with it.
        try:
            return await check
        except (aioredis.RedisError, OSError):
            logger.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return True

    async def _refusal(
        self, item: limits.RateLimitItem, identifiers: tuple[str, ...], what: str
    ) -> RateLimited:
        stats = await self._strategy.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimited(
            f"Too many {what}: the limit is {item}. Try again in {retry_after} s.",
            details={"limit": str(item), "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )

    async def close(self) -> None:
        """Release the Redis connections or the memory storage's expiry task."""
        if self._pool is not None:
            await self._pool.aclose()
        timer = getattr(self.storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis storage when REDIS_URL is set (shared by every instance), memory otherwise."""
    if not settings.redis_url:
        return RateLimiter(MemoryStorage(), enabled=settings.rate_limit_enabled)
    pool = aioredis.ConnectionPool.from_url(settings.redis_url)
    storage = RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=settings.rate_limit_key_prefix,
        connection_pool=pool,  # type: ignore[arg-type]  # options are typed as scalars only
    )
    return RateLimiter(storage, enabled=settings.rate_limit_enabled, pool=pool)


def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_ip(request: Request) -> str:
    """The client's address (the first X-Forwarded-For hop when proxy headers are trusted)."""
    settings: Settings = request.app.state.settings
    forwarded = request.headers.get("x-forwarded-for", "")
    if settings.trust_proxy_headers and forwarded.strip():
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


async def limit_login(
    request: Request,
    limiter: RateLimiterDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> AsyncIterator[None]:
    """Refuse logins once an IP or account has too many failures; count each failure."""
    settings: Settings = request.app.state.settings
    keys = [
        (settings.rate_limit_login_ip, "login-ip", client_ip(request)),
        (settings.rate_limit_login_account, "login-account", form.username.strip().lower()),
    ]
    for limit, scope, ident in keys:
        await limiter.ensure_available(limit, scope, ident, what="failed logins")
    try:
        yield
    except NotAuthenticated:
        for limit, scope, ident in keys:
            with contextlib.suppress(RateLimited):
                await limiter.hit(limit, scope, ident)
        raise


async def limit_password_reset(request: Request, limiter: RateLimiterDep) -> None:
    """Count a password-reset request against the client's IP and the address it names."""
    settings: Settings = request.app.state.settings
    limit = settings.rate_limit_password_reset
    await limiter.hit(limit, "reset-ip", client_ip(request), what="password-reset requests")
    try:
        email = str((await request.json()).get("email", "")).strip().lower()
    except (ValueError, AttributeError):
        return  # malformed bodies are refused by validation with 422
    if email:
        await limiter.hit(limit, "reset-email", email, what="password-reset requests")


async def limit_register(request: Request, limiter: RateLimiterDep) -> None:
    """Count a sign-up attempt against the client's IP."""
    settings: Settings = request.app.state.settings
    await limiter.hit(
        settings.rate_limit_register_ip, "register-ip", client_ip(request), what="sign-ups"
    )
