"""Redis client-side caching: copies kept in this process until Redis pushes that their key
changed, and never trusted while the tracking connection is down or silent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from stockdash.core.tracking import TRACKING_CLIENT_NAME, RedisTracking
from stockdash.market.cache import RedisCache
from stockdash.users.cache import RedisUserVersions
from tests.redis_tools import RoundTrips, port_of, until

PREFIX = "t:"
KEY = "cardver:abc:AAPL"


@pytest.fixture
async def tracking(private_redis: str) -> AsyncIterator[RedisTracking]:
    tracker = RedisTracking(
        private_redis, connect_timeout=0.5, heartbeat_seconds=0.1, retry_seconds=0.05
    )
    yield tracker
    await tracker.close()


@pytest.fixture
async def other(private_redis: str) -> AsyncIterator[aioredis.Redis]:
    """Another client of the same Redis (as another instance or the worker would be)."""
    client = aioredis.Redis.from_url(private_redis, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def cache(private_redis: str, tracking: RedisTracking) -> AsyncIterator[RedisCache]:
    redis_cache = RedisCache(
        private_redis, prefix=PREFIX, tracking=tracking, tracked_prefixes=("cardver:",)
    )
    tracking.ensure_running()
    await until(lambda: tracking.live)
    yield redis_cache
    await redis_cache.close()


async def test_a_copy_is_used_until_another_client_changes_the_key(
    cache: RedisCache,
    other: aioredis.Redis,
    private_redis: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await other.set(PREFIX + KEY, "v1")
    assert await cache.get_many([KEY]) == ["v1"]
    trips = RoundTrips(monkeypatch, port_of(private_redis))
    assert await cache.get_many([KEY]) == ["v1"]
    assert await cache.get(KEY) == "v1"
    assert trips.count == 0
    await other.set(PREFIX + KEY, "v2")
    # The push left Redis with the writer's reply: the very next read already misses the copy.
    assert await cache.get(KEY) == "v2"
    assert trips.count == 2  # the writer's SET and the re-read


async def test_keys_outside_the_tracked_prefixes_are_not_kept(
    cache: RedisCache, other: aioredis.Redis, private_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await other.set(PREFIX + "card:abc:AAPL:x:quote", "q")
    assert await cache.get("card:abc:AAPL:x:quote") == "q"
    trips = RoundTrips(monkeypatch, port_of(private_redis))
    assert await cache.get("card:abc:AAPL:x:quote") == "q"
    assert trips.count == 1


async def test_a_flush_drops_every_copy(cache: RedisCache, other: aioredis.Redis) -> None:
    await other.set(PREFIX + KEY, "v1")
    assert await cache.get(KEY) == "v1"
    await other.flushall()
    assert await cache.get(KEY) is None


async def test_user_versions_are_read_once_and_dropped_on_a_bump_elsewhere(
    private_redis: str, tracking: RedisTracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = RedisUserVersions(
        aioredis.Redis.from_url(private_redis), prefix=PREFIX, tracking=tracking
    )
    elsewhere = RedisUserVersions(aioredis.Redis.from_url(private_redis), prefix=PREFIX)
    tracking.ensure_running()
    await until(lambda: tracking.live)
    await elsewhere.bump([7])
    first = await here.current(7)
    trips = RoundTrips(monkeypatch, port_of(private_redis))
    assert await here.current(7) == first
    assert trips.count == 0
    await elsewhere.bump([7])
    assert await here.current(7) != first


async def test_a_killed_connection_drops_every_copy_and_comes_back(
    cache: RedisCache, tracking: RedisTracking, other: aioredis.Redis
) -> None:
    await other.set(PREFIX + KEY, "v1")
    assert await cache.get(KEY) == "v1"
    clients = await other.client_list()
    (tracker,) = [c for c in clients if c["name"] == TRACKING_CLIENT_NAME]
    await other.client_kill_filter(_id=tracker["id"])
    await until(lambda: not tracking.live)
    # Nothing may be trusted while it is down: reads go to Redis.
    await other.set(PREFIX + KEY, "v2")
    assert await cache.get(KEY) == "v2"
    await until(lambda: tracking.live)
    assert await cache.get(KEY) == "v2"
    await other.set(PREFIX + KEY, "v3")
    assert await cache.get(KEY) == "v3"


async def test_an_unanswered_heartbeat_stops_trusting_copies(
    cache: RedisCache, tracking: RedisTracking, other: aioredis.Redis
) -> None:
    await other.set(PREFIX + KEY, "v1")
    assert await cache.get(KEY) == "v1"
    generation = tracking.generation
    # A paused server answers nobody, so it would push nothing either.
    await other.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    await until(lambda: not tracking.live, seconds=5)
    assert tracking.generation > generation
    await until(lambda: tracking.live, seconds=10)
    assert await cache.get(KEY) == "v1"


async def test_an_unreachable_redis_never_goes_live() -> None:
    from tests.conftest import free_port

    tracker = RedisTracking(
        f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.2, retry_seconds=0.05
    )
    tracker.subscribe("x:", lambda keys: None)
    tracker.ensure_running()
    await until(lambda: tracker._warned)  # an attempt failed (and was logged)
    assert not tracker.live
    await tracker.close()
