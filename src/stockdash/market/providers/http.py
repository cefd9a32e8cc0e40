"""Resilient upstream HTTP: timeouts, jittered retries, Retry-After and rate limiting."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from stockdash.core.metrics import PROVIDER_REQUESTS
from stockdash.market.types import ProviderError

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Now = Callable[[], datetime]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class RateGate(Protocol):
    """Anything that makes a caller wait until one more upstream request may be sent."""

    async def acquire(self) -> None: ...


class TokenBucket:
    """Process-local rate limiter: `rate_per_minute` tokens, at most `capacity` banked.

    Holds only inside one process; with several processes, `SharedRateGate` keeps the
    provider's limit for all of them together.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        capacity: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._per_second = rate_per_minute / 60.0
        self._capacity = capacity
        self._tokens = capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one request may be sent, then consume its token."""
        async with self._lock:
            self._refill()
            while self._tokens < 1:
                await self._sleep((1 - self._tokens) / self._per_second)
                self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._per_second)
        self._updated = now


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry 429/5xx responses and transport errors."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    # Longer advertised waits fail fast instead of stalling a whole refresh cycle.
    max_retry_after: float = 120.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait per a Retry-After header (delta-seconds or HTTP-date), else None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@contextmanager
def malformed_is_provider_error(provider: str, endpoint: str) -> Iterator[None]:
    """Turn a payload of the wrong shape or types (a missing key, a string for a number, a list
    for an object) met while parsing into a ProviderError, which takes the fallback path."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError(
            provider, f"{endpoint}: malformed payload ({type(exc).__name__}: {exc})"
        ) from exc


class ResilientHttp:
    """GETs JSON from one provider with retries, rate limiting, metrics and ProviderError."""

    def __init__(
        self,
        provider: str,
        *,
        base_url: str,
        client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        limiter: RateGate | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Now = utc_now,
        breakers: AsyncCircuitBreakerFactory | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.provider = provider
        self._base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()
        self._headers = dict(headers or {})
        self._timeout = httpx.Timeout(timeout)
        self._retry = retry or RetryPolicy()
        self._limiter = limiter
        self._sleep = sleep
        self._jitter = jitter
        self._now = now
        self._breakers = breakers
        self._clock = clock
        # Set by a 429's Retry-After: no request leaves before it, whoever asks (a user request
        # or the next refresh cycle), so the provider's wish holds across calls and cycles.
        self._not_before = 0.0

    async def aclose(self) -> None:
        """Close the underlying client if this object created it."""
        if self._owns_client:
            await self._client.aclose()

    async def get_json(
        self, path_or_url: str, *, endpoint: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        """GET and decode JSON; `endpoint` is the low-cardinality metrics label."""
        response = await self.get(path_or_url, endpoint=endpoint, params=params)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(
                self.provider, f"{endpoint}: invalid JSON", status=response.status_code
            ) from exc

    async def get(
        self, path_or_url: str, *, endpoint: str, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """GET with retries behind the circuit breaker; the 2xx response or ProviderError.

        Fails fast, without an upstream call, while the breaker is open or the provider's
        Retry-After has not passed.
        """
        wait = self._not_before - self._clock()
        if wait > 0:
            raise ProviderError(self.provider, f"{endpoint}: asked to wait {wait:.1f}s more")
        if self._breakers is None:
            return await self._get(path_or_url, endpoint=endpoint, params=params)
        try:
            async with await self._breakers.get_breaker(self.provider):
                return await self._get(path_or_url, endpoint=endpoint, params=params)
        except OpenedState as exc:
            raise ProviderError(self.provider, f"{endpoint}: circuit open") from exc

    async def _get(
        self, path_or_url: str, *, endpoint: str, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        url = self._absolute(path_or_url)
        attempts = self._retry.max_attempts
        for attempt in range(1, attempts + 1):
            response = await self._attempt(url, endpoint, params, last=attempt == attempts)
            if response is None:
                await self._sleep(self._backoff(attempt))
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < attempts:
                await self._sleep(self._retry_delay(response, attempt, endpoint))
                continue
            if response.is_success:
                return response
            raise self._status_error(response, endpoint)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(
        self, url: str, endpoint: str, params: Mapping[str, Any] | None, *, last: bool
    ) -> httpx.Response | None:
        """One rate-limited request; None means a transport error worth retrying."""
        if self._limiter is not None:
            await self._limiter.acquire()
        try:
            response = await self._client.get(
                url, params=params, headers=self._headers, timeout=self._timeout
            )
        except httpx.TransportError as exc:
            self._count(endpoint, "error")
            if last:
                raise ProviderError(self.provider, f"{endpoint}: {type(exc).__name__}") from exc
            return None
        self._count(endpoint, str(response.status_code))
        return response

    def _retry_delay(self, response: httpx.Response, attempt: int, endpoint: str) -> float:
        advertised = parse_retry_after(response.headers.get("Retry-After"), self._now())
        if advertised is None:
            return self._backoff(attempt)
        self._not_before = max(self._not_before, self._clock() + advertised)
        if advertised > self._retry.max_retry_after:
            raise ProviderError(
                self.provider,
                f"{endpoint}: asked to retry after {advertised:.0f}s",
                status=response.status_code,
            )
        return advertised

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (uniform in [0, capped exponential])."""
        ceiling = min(self._retry.backoff_cap, self._retry.backoff_base * 2.0 ** (attempt - 1))
        return self._jitter() * ceiling

    def _status_error(self, response: httpx.Response, endpoint: str) -> ProviderError:
        status = response.status_code
        if status == 429:
            advertised = parse_retry_after(response.headers.get("Retry-After"), self._now())
            if advertised is not None:
                self._not_before = max(self._not_before, self._clock() + advertised)
        return ProviderError(self.provider, f"{endpoint}: HTTP {status}", status=status)

    def _count(self, endpoint: str, status: str) -> None:
        PROVIDER_REQUESTS.labels(provider=self.provider, endpoint=endpoint, status=status).inc()

    def _absolute(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self._base_url}/{path_or_url.lstrip('/')}"
