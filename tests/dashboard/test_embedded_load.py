"""The embedded default (SQLite, one `stockdash serve`) under 64 concurrent clients: a bounded
mix of dashboards, watchlist changes, logins and searches, and not one 5xx or dropped connection.

Before reads began with a deferred BEGIN, every read queued on SQLite's write lock and requests
that waited 30 s ended as 500 "database is locked".
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND, free_port
from tests.scale.cluster import Proc, accepting, wait_for

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="the embedded default is SQLite: run on the SQLite pass only"
)

CLIENTS = 64
USERS = 8
ROUNDS = 2
PASSWORD = "correct-horse-battery-9"
SYMBOLS = ["AAPL", "MSFT", "KO", "JPM", "XOM", "PEP", "V", "T", "VZ", "DIS", "PG", "WMT"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`stockdash serve` on its own SQLite file, as `make run` starts it (fast bcrypt)."""
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'stockdash.db'}",
        "ENVIRONMENT": "test",
        "JWT_SECRET_KEY": "embedded-load-test-secret-" + "x" * 32,
        "BCRYPT_ROUNDS": "4",
        "REFRESH_INTERVAL_SECONDS": "0",
        "REDIS_URL": "",
        "BROKER_URL": "",
        "LOG_LEVEL": "WARNING",
        # The test is about the database, not the per-user request limits.
        "RATE_LIMIT_ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = Proc(
        "serve",
        [sys.executable, "-m", "stockdash.cli", "serve", "--port", str(port)],
        env,
        tmp_path / "serve.log",
        tmp_path,
    )
    proc.start()
    try:
        wait_for(lambda: accepting("127.0.0.1", port), "stockdash serve", timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
        errors = [line for line in proc.output().splitlines() if "Traceback" in line]
        assert not errors, proc.tail(60)


async def _user(client: httpx.AsyncClient, n: int) -> None:
    """Register user n on the Pro plan."""
    name = f"load{n}"
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    token = await _login(client, name)
    r = await client.put(
        "/api/v1/subscriptions/me",
        json={"tier": "pro"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text


async def _login(client: httpx.AsyncClient, name: str) -> str:
    r = await client.post("/api/v1/auth/login", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def _session(base: str, n: int, statuses: Counter[int], failures: list[str]) -> None:
    """One client: log in, then rounds of dashboard, add, search, watchlist, remove."""
    rng = random.Random(n)
    name = f"load{n % USERS}"
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def call(method: str, url: str, **kwargs: object) -> httpx.Response | None:
            try:
                r = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:  # a dropped connection or a timeout
                failures.append(f"{method} {url}: {exc!r}")
                return None
            statuses[r.status_code] += 1
            if r.status_code >= 500:
                failures.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
            return r

        login = await call(
            "POST", "/api/v1/auth/login", data={"username": name, "password": PASSWORD}
        )
        if login is None or login.status_code != 200:
            return
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(ROUNDS):
            symbol = rng.choice(SYMBOLS)
            await call("GET", "/api/v1/dashboard?view=summary", headers=headers)
            await call("POST", "/api/v1/watchlist", json={"symbol": symbol}, headers=headers)
            await call("GET", f"/api/v1/stocks/search?q={symbol[:2]}", headers=headers)
            await call("GET", "/api/v1/watchlist", headers=headers)
            await call("DELETE", f"/api/v1/watchlist/{symbol}", headers=headers)
            await call("GET", "/api/v1/dashboard", headers=headers)


async def test_64_concurrent_clients_get_no_5xx_and_no_dropped_connection(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=60) as setup:
        for n in range(USERS):
            await _user(setup, n)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    await asyncio.gather(*(_session(server, n, statuses, failures) for n in range(CLIENTS)))
    assert not failures, f"{len(failures)} failures, e.g. {failures[:5]} ({statuses})"
    answered = sum(statuses.values())
    assert answered == CLIENTS * (1 + 6 * ROUNDS), statuses
    # Every answer is a success or the caller's mistake (a duplicate add, a missing remove).
    assert set(statuses) <= {200, 201, 204, 404, 409}, statuses
    assert statuses[200] > CLIENTS * 3, (statuses, time.monotonic() - started)


async def test_reads_never_wait_for_the_write_lock(server: str, tmp_path: Path) -> None:
    """A writer holding SQLite's write lock does not hold up reads (deferred BEGIN on reads)."""
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        await _user(client, 0)
        token = await _login(client, "load0")
        db = sqlite3.connect(tmp_path / "data" / "stockdash.db", isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")  # hold the write lock as a long write would
            started = time.monotonic()
            # A fresh login's user is not cached yet: these reads really query the database.
            r = await client.get("/api/v1/watchlist", headers={"Authorization": f"Bearer {token}"})
            waited = time.monotonic() - started
        finally:
            db.execute("ROLLBACK")
            db.close()
    assert r.status_code == 200, r.text
    # Generous: the busy timeout a locked read would wait for is 30 s.
    assert waited < 10, waited
