"""The providers' failure state (circuit breaker, Retry-After pause, refresh backoff) is shared
through Redis by every process, and kept per process while Redis is down."""

from __future__ import annotations

import time

import pytest
from purgatory.domain.model import OpenedState

from stockdash.core.config import Settings
from stockdash.market.factory import provider_guard
from stockdash.market.providers.guard import ProviderGuard
from tests.resilience.servers import RedisServer

FAILURES = 3


class Boom(Exception):
    """A failed provider call."""


@pytest.fixture
def shared_settings(settings: Settings, redis_server: RedisServer) -> Settings:
    """Settings of two "processes" sharing the private Redis."""
    return settings.model_copy(
        update={
            "redis_url": redis_server.url,
            "redis_key_prefix": "guard-test:",
            "redis_retry_seconds": 0.2,
            "provider_breaker_failures": FAILURES,
            "provider_breaker_reset_seconds": 600,
        }
    )


async def _fail(guard: ProviderGuard) -> None:
    """One failed call through the guard's breaker (an open breaker refuses it)."""
    assert guard.breakers is not None
    try:
        async with await guard.breakers.get_breaker(guard.provider):
            raise Boom
    except Boom:
        pass


async def _is_open(guard: ProviderGuard) -> bool:
    assert guard.breakers is not None
    try:
        async with await guard.breakers.get_breaker(guard.provider):
            return False
    except OpenedState:
        return True


async def test_two_processes_agree_through_redis(shared_settings: Settings) -> None:
    first = provider_guard(shared_settings, "polygon")
    second = provider_guard(shared_settings, "polygon")
    try:
        for _ in range(FAILURES):
            await _fail(first)
        assert await _is_open(second), "the breaker opened by one process holds in the other"

        await first.pause(100)
        assert 90 < await second.paused_for() <= 100

        assert await first.refresh_failed() is not None
        assert await second.refresh_wait() > 90  # the pause and the backoff both count
        assert await second.refresh_failures() == 1
        await second.refresh_succeeded()
        assert await first.refresh_failures() == 0
    finally:
        await first.close()
        await second.close()


async def test_without_redis_each_process_keeps_its_own(
    shared_settings: Settings, redis_server: RedisServer
) -> None:
    """Redis killed: no error, each process goes on with its own breaker and pause, within the
    Redis timeouts; once Redis is back the processes share again."""
    guard = provider_guard(shared_settings, "polygon")
    other = provider_guard(shared_settings, "polygon")
    try:
        redis_server.kill()
        started = time.monotonic()
        for _ in range(FAILURES):
            await _fail(guard)
        assert await _is_open(guard)
        await guard.pause(100)
        assert await guard.paused_for() > 90
        assert await guard.refresh_failed() is not None
        assert await guard.refresh_wait() > 0
        # Generous: the Redis connect timeout is half a second, paid about once per retry interval.
        assert time.monotonic() - started < 30
        assert await other.paused_for() == 0  # nothing shared while Redis is down

        redis_server.start()
        end = time.monotonic() + 30
        await guard.pause(200)
        while await other.paused_for() < 150:  # the writer's next try after its retry interval
            assert time.monotonic() < end, "the guards never shared again after Redis returned"
            await guard.pause(200)
    finally:
        await guard.close()
        await other.close()
