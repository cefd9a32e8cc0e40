"""bcrypt runs on its own small pool: a flood of password checks leaves other requests alone."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core import security
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import assert_error
from tests.users.auth_helpers import bearer, login

PASSWORD = "quartz-lantern-meadow-91"


@pytest.fixture
async def costly(
    settings: Settings, snapshot: SnapshotProvider
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose password hashes cost what they cost in production-like settings (2^10)."""
    app = create_app(settings.model_copy(update={"bcrypt_rounds": 10}), snapshot=snapshot)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _sign_up(client: httpx.AsyncClient, name: str) -> None:
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201


def _wrong_login(client: httpx.AsyncClient, i: int) -> asyncio.Task[httpx.Response]:
    form = {"username": "victim", "password": f"wrong-guess-{i}"}
    return asyncio.create_task(client.post("/api/v1/auth/login", data=form))


async def test_a_flood_of_wrong_logins_does_not_starve_other_users(
    costly: httpx.AsyncClient,
) -> None:
    """An upper bound relative to the flood: /users/me never waits for a large part of it."""
    await _sign_up(costly, "victim")
    await _sign_up(costly, "bystander")
    me = bearer((await login(costly, "bystander", PASSWORD))["access_token"])
    # Cache the bystander first: a cold read queues for a database connection behind the flood's
    # own lookups, which is pool contention, not what this test is about (bcrypt's own pool).
    assert (await costly.get("/api/v1/users/me", headers=me)).status_code == 200
    started = time.perf_counter()
    guesses = [_wrong_login(costly, i) for i in range(40)]
    waits: list[float] = []
    while not all(t.done() for t in guesses):
        asked = time.perf_counter()
        assert (await costly.get("/api/v1/users/me", headers=me)).status_code == 200
        waits.append(time.perf_counter() - asked)
        # A cached /users/me never suspends in-process (no socket here): pace the reads so the
        # logins' tasks get the loop, as they would between a real server's requests.
        await asyncio.sleep(0.005)
    flood = time.perf_counter() - started
    statuses = Counter(r.status_code for r in await asyncio.gather(*guesses))
    assert set(statuses) <= {401, 503}, statuses
    print(f"flood {flood:.2f} s, {len(waits)} reads, worst {max(waits):.3f} s")
    assert max(waits) < flood / 3, (max(waits), flood, len(waits))


async def test_past_the_queue_limit_checks_are_refused_at_once(
    costly: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _sign_up(costly, "victim")
    monkeypatch.setattr(security.HASHER, "max_pending", 2)
    answers = await asyncio.gather(*(_wrong_login(costly, i) for i in range(12)))
    statuses = Counter(r.status_code for r in answers)
    assert statuses[401] >= 2 and statuses[503] >= 1, statuses
    assert set(statuses) == {401, 503}, statuses
    busy = next(r for r in answers if r.status_code == 503)
    assert_error(busy, 503, "password_check_busy")
    assert busy.headers["Retry-After"] == "1"
    assert security.HASHER.pending == 0


async def test_the_queue_is_bounded_by_the_measured_cost_of_a_check(
    costly: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that would wait longer than `max_wait` behind those in flight is refused at once,
    however few are queued (cheap checks may queue deeply; expensive ones are shed)."""
    await _sign_up(costly, "victim")
    assert security.HASHER.cost > 0
    monkeypatch.setattr(security.HASHER, "max_wait", 0.0)  # no wait at all is acceptable
    answers = await asyncio.gather(*(_wrong_login(costly, i) for i in range(12)))
    statuses = Counter(r.status_code for r in answers)
    assert statuses[401] >= 1 and statuses[503] >= 1, statuses
    assert set(statuses) == {401, 503}, statuses
    assert security.HASHER.pending == 0
