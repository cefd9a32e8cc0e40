"""Resilient upstream HTTP: timeouts, jittered retries (tenacity), Retry-After, a circuit breaker
and rate limiting."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import httpx
from purgatory.domain.model import OpenedState
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential

from stockdash.core.metrics import PROVIDER_REQUESTS
from stockdash.market.providers.guard import ProviderGuard
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


class MalformedPayload(ProviderError):
    """The provider answered 2xx with a payload of the wrong shape or types, or not JSON."""


@contextmanager
def malformed_is_provider_error(provider: str, endpoint: str) -> Iterator[None]:
    """Turn a payload of the wrong shape or types (a missing key, a string for a number, a list
    for an object) met while parsing into a ProviderError, which takes the fallback path."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedPayload(
            provider, f"{endpoint}: malformed payload ({type(exc).__name__}: {exc})"
        ) from exc


class GuardedProvider(Protocol):
    """A provider whose upstream calls go through one ResilientHttp (its breaker)."""

    _http: ResilientHttp


Provider = TypeVar("Provider", bound=GuardedProvider)
P = ParamSpec("P")
R = TypeVar("R")
ProviderMethod = Callable[Concatenate[Provider, P], Coroutine[Any, Any, R]]


def validated_by(
    provider: str,
) -> Callable[[ProviderMethod[Provider, P, R]], ProviderMethod[Provider, P, R]]:
    """A decorator for `provider`'s methods: one call through the circuit breaker; a payload of
    the wrong shape or types anywhere in the method is a ProviderError (and a failure for the
    breaker)."""

    def decorate(method: ProviderMethod[Provider, P, R]) -> ProviderMethod[Provider, P, R]:
        async def checked(self: Provider, /, *args: P.args, **kwargs: P.kwargs) -> R:
            async with self._http.guarded(method.__name__):
                with malformed_is_provider_error(provider, method.__name__):
                    return await method(self, *args, **kwargs)

        checked.__name__, checked.__doc__ = method.__name__, method.__doc__
        return checked

    return decorate


class _Retryable(Exception):
    """One attempt's failure worth another attempt: a 429/5xx response or a transport error."""

    def __init__(self, response: httpx.Response | None, error: httpx.TransportError | None) -> None:
        super().__init__(repr(error) if response is None else f"HTTP {response.status_code}")
        self.response = response
        self.error = error


class ResilientHttp:
    """GETs JSON from one provider with retries, rate limiting, metrics and ProviderError.

    The retry loop is tenacity's: up to `RetryPolicy.max_attempts` attempts, waiting what a
    Retry-After says, else exponential backoff with full jitter. The `guard` holds what every
    process must honour: the circuit breaker and the Retry-After pause.
    """

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
        guard: ProviderGuard | None = None,
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
        # Without a guard from the factory: this object's own, process-local state.
        self.guard = guard or ProviderGuard(provider, clock=clock)
        self._exponential = wait_exponential(
            multiplier=self._retry.backoff_base, max=self._retry.backoff_cap
        )

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
            raise MalformedPayload(
                self.provider, f"{endpoint}: invalid JSON", status=response.status_code
            ) from exc

    @asynccontextmanager
    async def guarded(self, operation: str) -> AsyncIterator[None]:
        """One provider operation (its requests and the parsing of their payloads) as one call
        through the circuit breaker, so garbage in a 200 counts as a failure like a 500 does.
        Fails fast while the breaker is open or a Retry-After has not passed."""
        await self._check_pause(operation)
        breakers = self.guard.breakers
        if breakers is None:
            yield
            return
        try:
            async with await breakers.get_breaker(self.provider):
                yield
        except OpenedState as exc:
            raise ProviderError(self.provider, f"{operation}: circuit open") from exc

    async def _check_pause(self, operation: str) -> None:
        wait = await self.guard.paused_for()
        if wait > 0:
            raise ProviderError(self.provider, f"{operation}: asked to wait {wait:.1f}s more")

    async def get(
        self, path_or_url: str, *, endpoint: str, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """GET with retries; the 2xx response or ProviderError (run it inside `guarded` for the
        circuit breaker). Fails fast, without an upstream call, while the provider's Retry-After
        has not passed (for any process, when the guard is shared)."""
        await self._check_pause(endpoint)
        return await self._get(path_or_url, endpoint=endpoint, params=params)

    async def _get(
        self, path_or_url: str, *, endpoint: str, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        url = self._absolute(path_or_url)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(url, endpoint, params)
        except _Retryable as exc:
            if exc.response is not None:
                raise self._status_error(exc.response, endpoint) from None
            raise ProviderError(
                self.provider, f"{endpoint}: {type(exc.error).__name__}"
            ) from exc.error
        raise AssertionError("unreachable: tenacity returns or raises")

    async def _attempt(
        self, url: str, endpoint: str, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        """One rate-limited request: the 2xx response, `_Retryable`, or ProviderError."""
        if self._limiter is not None:
            await self._limiter.acquire()
        try:
            response = await self._client.get(
                url, params=params, headers=self._headers, timeout=self._timeout
            )
        except httpx.TransportError as exc:
            self._count(endpoint, "error")
            raise _Retryable(None, exc) from exc
        self._count(endpoint, str(response.status_code))
        if response.is_success:
            return response
        if response.status_code not in RETRYABLE_STATUSES:
            raise self._status_error(response, endpoint)
        advertised = parse_retry_after(response.headers.get("Retry-After"), self._now())
        if advertised is not None:
            # Every caller in every process holds off as asked, not only this call's retry.
            await self.guard.pause(advertised)
            if advertised > self._retry.max_retry_after:
                # Longer advertised waits fail fast instead of stalling a whole refresh cycle.
                raise ProviderError(
                    self.provider,
                    f"{endpoint}: asked to retry after {advertised:.0f}s",
                    status=response.status_code,
                )
        raise _Retryable(response, None)

    def _wait(self, state: RetryCallState) -> float:
        """Before the next attempt: what the response's Retry-After says, else exponential
        backoff with full jitter (uniform in [0, capped exponential])."""
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Retryable) and failure.response is not None:
            advertised = parse_retry_after(failure.response.headers.get("Retry-After"), self._now())
            if advertised is not None:
                return advertised
        return self._jitter() * self._exponential(state)

    def _status_error(self, response: httpx.Response, endpoint: str) -> ProviderError:
        status = response.status_code
        return ProviderError(self.provider, f"{endpoint}: HTTP {status}", status=status)

    def _count(self, endpoint: str, status: str) -> None:
        PROVIDER_REQUESTS.labels(provider=self.provider, endpoint=endpoint, status=status).inc()

    def _absolute(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self._base_url}/{path_or_url.lstrip('/')}"
