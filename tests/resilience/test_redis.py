"""Redis is an accelerator: killed, paused or absent, the API answers from the next cache level.

Each test runs the app against a redis-server of its own (tests/resilience/servers.py) and breaks
it for real; the limits stay enforced, in process, while it is down.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.core.metrics import REGISTRY
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import UserFactory, WatchlistFactory, assert_error
from tests.resilience.servers import DEADLINE_SECONDS, RedisServer

# Redis timeouts far below the defaults keep the test quick; the slack below is generous.
TIMEOUT = 0.3
RETRY = 0.3
# A request during an outage pays at most one connect or command timeout (then Redis is skipped),
# which the error counts show; this bound only catches a request that waited for Redis itself, so
# it is generous for a loaded machine and far below PAUSE_SECONDS.
OUTAGE_SLACK_SECONDS = 10.0
# A pause no request could sit out within the slack: one that hangs on Redis fails its deadline.
PAUSE_SECONDS = 30.0
# Every component that talks to Redis (core/redis.RedisOutage's labels).
COMPONENTS = ("cache", "locks", "ratelimit", "users")
SYMBOLS = ["AAPL", "MSFT", "JPM"]


def with_redis(settings: Settings, url: str, **update: Any) -> Settings:
    """Settings that use `url` for the cache, locks, rate limits and user versions."""
    return settings.model_copy(
        update={
            "redis_url": url,
            "redis_connect_timeout_seconds": TIMEOUT,
            "redis_command_timeout_seconds": TIMEOUT,
            "redis_retry_seconds": RETRY,
            "rate_limit_login_ip": "3/minute",
            "rate_limit_login_account": "3/minute",
            **update,
        }
    )


@pytest.fixture
def retry() -> float:
    """REDIS_RETRY_SECONDS for the test (overridden by parametrising `retry`)."""
    return RETRY


@pytest.fixture
def settings(settings: Settings, redis_server: RedisServer, retry: float) -> Settings:
    """The usual test settings on the private Redis."""
    return with_redis(settings, redis_server.url, redis_retry_seconds=retry)


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process (0 when it has none yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def timed_get(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """GET within the outage deadline, never a 5xx."""
    started = time.monotonic()
    r = await client.get(url, **kwargs)
    assert time.monotonic() - started < OUTAGE_SLACK_SECONDS, url
    assert r.status_code < 500, r.text
    return r


async def assert_served(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Quotes and the dashboard answer in full (from the database copy or the snapshot)."""
    for symbol in SYMBOLS:
        r = await timed_get(client, f"/api/v1/stocks/{symbol}", headers=headers)
        assert r.status_code == 200 and r.json()["price"] is not None, r.text
    r = await timed_get(client, "/api/v1/dashboard", headers=headers)
    assert r.status_code == 200
    cards = r.json()["data"]
    assert [c["symbol"] for c in cards] == SYMBOLS
    assert all(c["error"] is None and c["quote"]["price"] is not None for c in cards), cards


async def redis_state(client: httpx.AsyncClient) -> str:
    """What /readyz says about Redis (it stays 200 either way)."""
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    return str(r.json()["details"]["redis"])


async def wait_for_recovery(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Poll until /readyz and the cache both use Redis again, failing after the deadline."""
    end = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < end:
        await client.get("/api/v1/stocks/AAPL", headers=headers)
        if await redis_state(client) == "ok" and sample("stockdash_redis_up", component="cache"):
            return
    pytest.fail("the API did not go back to Redis after it came back")


async def test_killed_redis_is_a_cache_miss_and_recovers(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    redis_server: RedisServer,
) -> None:
    user = await make_user("expert")
    await fill_watchlist(user, SYMBOLS)
    await assert_served(client, user.headers)
    assert await redis_state(client) == "ok"
    errors = sample("stockdash_redis_errors_total", component="cache")

    redis_server.kill()
    await assert_served(client, user.headers)
    assert await redis_state(client) == "degraded"
    assert sample("stockdash_redis_errors_total", component="cache") > errors
    assert sample("stockdash_redis_up", component="cache") == 0

    redis_server.start()
    await wait_for_recovery(client, user.headers)
    await assert_served(client, user.headers)


@pytest.mark.parametrize("retry", [3.0])
async def test_paused_redis_costs_one_timeout_not_one_per_call(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    redis_server: RedisServer,
    retry: float,
) -> None:
    """Each component waits one command timeout, then skips Redis until its retry is due.

    Counted, not timed: the timeouts paid are Redis errors in /metrics, so a loaded machine that
    serves slowly cannot fail it; only paying per call (or hanging for the pause) can.
    """
    user = await make_user("expert")
    await fill_watchlist(user, SYMBOLS)
    await assert_served(client, user.headers)
    before = {c: sample("stockdash_redis_errors_total", component=c) for c in COMPONENTS}

    # Far longer than any request may take: a call that waited for the pause would show.
    redis_server.pause(PAUSE_SECONDS)
    started = time.monotonic()
    await assert_served(client, user.headers)
    elapsed = time.monotonic() - started
    assert await redis_state(client) == "degraded"
    # A paused server cannot be told to unpause (that command is paused too): restart it.
    redis_server.kill()
    redis_server.start()

    paid = {c: sample("stockdash_redis_errors_total", component=c) - before[c] for c in COMPONENTS}
    assert sum(paid.values()) >= 1, "the pause went unnoticed"
    # One timeout per component, plus one per retry interval that passed while serving. The
    # dashboard builds its cards side by side (the card versions are unreadable): their first
    # lock attempts are in flight together and pay their timeouts at the same moment, one
    # timeout of latency; every later attempt skips Redis.
    first_wave = {"locks": len(SYMBOLS)}
    allowed = {c: first_wave.get(c, 1) + int(elapsed // retry) for c in COMPONENTS}
    assert all(paid[c] <= allowed[c] for c in COMPONENTS), (paid, allowed, elapsed)
    await wait_for_recovery(client, user.headers)


async def test_login_limits_hold_while_redis_is_down(
    client: httpx.AsyncClient, make_user: UserFactory, redis_server: RedisServer
) -> None:
    """Fail safe: with Redis gone the limits move in process; the 4th wrong guess is a 429."""
    user = await make_user()
    fallbacks = sample("stockdash_rate_limit_fallbacks_total")
    redis_server.kill()
    login = {"username": user.username, "password": "wrong-password"}
    for _ in range(3):
        r = await timed_get(client, "/readyz")
        assert_error(await client.post("/api/v1/auth/login", data=login), 401)
    r = await client.post("/api/v1/auth/login", data=login)
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert sample("stockdash_rate_limit_fallbacks_total") > fallbacks
    assert sample("stockdash_redis_up", component="ratelimit") == 0

    redis_server.start()
    end = time.monotonic() + DEADLINE_SECONDS
    # Back on Redis: its counters start empty, so a right password is accepted again.
    while time.monotonic() < end:
        good = {"username": user.username, "password": user.password}
        r = await client.post("/api/v1/auth/login", data=good)
        if r.status_code == 200 and sample("stockdash_redis_up", component="ratelimit"):
            return
        assert r.status_code in (200, 429), r.text
    pytest.fail("the rate limits did not go back to Redis")


async def test_redis_absent_at_start(
    settings: Settings, snapshot: SnapshotProvider, tmp_path: Path
) -> None:
    """The API starts without its Redis, serves from the database and snapshot, then uses it."""
    absent = RedisServer(tmp_path / "absent")
    app = create_app(with_redis(settings, absent.url), snapshot=snapshot)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        assert await redis_state(c) == "degraded"
        creds = {"username": "absent1", "email": "absent1@example.com", "password": "horse-9-xx"}
        assert (await c.post("/api/v1/auth/register", json=creds)).status_code == 201
        token = await c.post(
            "/api/v1/auth/login", data={"username": "absent1", "password": creds["password"]}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        r = await timed_get(c, "/api/v1/stocks/AAPL", headers=headers)
        assert r.status_code == 200
        try:
            absent.start()
            await wait_for_recovery(c, headers)
        finally:
            absent.kill()
