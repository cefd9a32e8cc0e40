"""The near cache in front of Redis: quotes and histories kept in a process for a bounded time,
another process's write seen once that time is up, this process's own writes at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tests.conftest import REDIS_URL, _delete_keys

from stockdash.market.cache import RedisCache
from stockdash.market.service import NEAR_CACHED_PREFIXES

pytestmark = pytest.mark.redis


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"stockdash-test-{uuid.uuid4().hex[:12]}"
    yield f"{name}:"
    await _delete_keys(name)


def _cache(prefix: str, clock: Clock, near_seconds: float = 1.0) -> RedisCache:
    return RedisCache(
        REDIS_URL,
        prefix=prefix,
        near_seconds=near_seconds,
        near_prefixes=NEAR_CACHED_PREFIXES,
        clock=clock,
    )


async def test_another_process_write_arrives_once_the_near_time_is_up(prefix: str) -> None:
    clock = Clock()
    reader, writer = _cache(prefix, clock), _cache(prefix, Clock())
    try:
        await writer.set("stock:AAPL", "v1", 60)
        await writer.set("card:AAPL:ver", "c1", 60)
        assert await reader.get("stock:AAPL") == "v1"
        assert await reader.get("card:AAPL:ver") == "c1"
        await writer.set("stock:AAPL", "v2", 60)
        await writer.set("card:AAPL:ver", "c2", 60)
        clock.now += 0.9
        assert await reader.get("stock:AAPL") == "v1"  # kept near, still within its second
        assert await reader.get("card:AAPL:ver") == "c2"  # not a near-cached key: read every time
        clock.now += 0.2
        assert await reader.get("stock:AAPL") == "v2"
    finally:
        await reader.close()
        await writer.close()


async def test_a_process_reads_its_own_writes_at_once(prefix: str) -> None:
    cache = _cache(prefix, Clock())
    try:
        await cache.set("history:MSFT", "h1", 60)
        assert await cache.get("history:MSFT") == "h1"
        await cache.set_many({"history:MSFT": "h2", "stock:MSFT": "s2"}, 60)
        assert await cache.get("history:MSFT") == "h2"
        assert await cache.get("stock:MSFT") == "s2"
        await cache.delete("stock:MSFT")
        assert await cache.get("stock:MSFT") is None
    finally:
        await cache.close()


async def test_without_a_near_time_every_read_goes_to_redis(prefix: str) -> None:
    clock = Clock()
    reader, writer = _cache(prefix, clock, near_seconds=0), _cache(prefix, Clock())
    try:
        await writer.set("stock:KO", "v1", 60)
        assert await reader.get("stock:KO") == "v1"
        await writer.set("stock:KO", "v2", 60)
        assert await reader.get("stock:KO") == "v2"
    finally:
        await reader.close()
        await writer.close()


async def test_near_copies_are_bounded_by_size(prefix: str) -> None:
    """The near cache holds bytes, not a count: a few large histories push older copies out."""
    cache = RedisCache(
        REDIS_URL,
        prefix=prefix,
        near_seconds=60,
        near_prefixes=NEAR_CACHED_PREFIXES,
        near_bytes=250_000,
        clock=Clock(),
    )
    big = "x" * 100_000
    try:
        for symbol in ("AAPL", "MSFT", "KO"):
            await cache.set(f"history:{symbol}:5y", big, 60)
        assert cache._near is not None
        assert cache._near.currsize <= 250_000
        assert "history:AAPL:5y" not in cache._near  # the least recently used went first
        assert "history:KO:5y" in cache._near
    finally:
        await cache.close()
