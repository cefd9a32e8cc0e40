"""The database down or black-holed: a real server answers 503 database_unavailable in time,
keeps its connections usable, keeps serving routes that need no database, and recovers.

The server (`stockdash serve`) reaches the shared PostgreSQL through a TCP proxy that the test
stops and black-holes; whichever backend the suite runs on, this needs PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from stockdash.core.migrate import upgrade
from tests.conftest import PG_URL, _drop_schema, assert_error
from tests.resilience.servers import TcpProxy
from tests.served import served_env, serving

CONNECT_TIMEOUT = 1.0
STATEMENT_TIMEOUT = 1.0
# An answer while the database is gone may cost a connect, a pool wait and a statement timeout;
# the slack on top is for two loaded cores, not for a hang (which would be 30 s or more).
DEADLINE = CONNECT_TIMEOUT * 2 + STATEMENT_TIMEOUT + 3.0
RECOVERY_SECONDS = 30.0
PASSWORD = "correct-horse-battery-9"


@dataclass
class Server:
    """A running `stockdash serve` behind the proxy, with one signed-in user."""

    base: str
    proxy: TcpProxy
    log: Path
    headers: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("dbdown")
    schema = f"stockdash_dbdown_{uuid.uuid4().hex[:10]}"
    upgrade(PG_URL, schema=schema)
    pg = urlsplit(PG_URL)
    proxy = TcpProxy(pg.port or 5432)
    proxied = PG_URL.replace(pg.netloc, f"{pg.username}@127.0.0.1:{proxy.port}")
    env = {
        **served_env(data_dir, "dbdown"),
        "DATABASE_URL": proxied,
        "DATABASE_SCHEMA": schema,
        "REDIS_URL": "",
        "BROKER_URL": "",
        "DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT),
        "DB_STATEMENT_TIMEOUT_SECONDS": str(STATEMENT_TIMEOUT),
        "USER_CACHE_SECONDS": "0",
    }
    log = data_dir / "server.log"
    try:
        with serving(env, log) as base:
            yield Server(base, proxy, log, _sign_in(base))
    finally:
        proxy.close()
        asyncio.run(_drop_schema(PG_URL, schema))


def _sign_in(base: str) -> dict[str, str]:
    creds = {"username": "dbdown", "email": "dbdown@example.com", "password": PASSWORD}
    assert httpx.post(f"{base}/api/v1/auth/register", json=creds).status_code == 201
    r = httpx.post(f"{base}/api/v1/auth/login", data={"username": "dbdown", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _assert_unavailable(client: httpx.Client, server: Server) -> None:
    """Routes needing the database: 503 database_unavailable with Retry-After, in time, on one
    keep-alive connection that is never dropped (a drop raises a transport error here)."""
    for path in ("/api/v1/watchlist", "/api/v1/users/me", "/api/v1/dashboard") * 3:
        started = time.monotonic()
        r = client.get(path, headers=server.headers)
        assert time.monotonic() - started < DEADLINE, path
        assert_error(r, 503, "database_unavailable")
        assert int(r.headers["Retry-After"]) >= 1
    r = client.get("/readyz")
    assert_error(r, 503, "database_unavailable")
    # Routes that need no database keep working.
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/stocks/search", params={"q": "AAP"}).status_code == 200


def _assert_recovers(client: httpx.Client, server: Server) -> None:
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        r = client.get("/api/v1/watchlist", headers=server.headers)
        if r.status_code == 200:
            return
        assert_error(r, 503, "database_unavailable")
    pytest.fail("the API did not recover after the database came back")


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_database_outage_is_a_503_on_a_live_connection(server: Server, fault: str) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as client:
        assert client.get("/api/v1/watchlist", headers=server.headers).status_code == 200
        server.proxy.set_mode(fault)
        try:
            _assert_unavailable(client, server)
        finally:
            server.proxy.set_mode("forward")
        _assert_recovers(client, server)
    log = server.log.read_text(errors="replace")
    # No request failed unhandled (background jobs may log their failed attempts; they retry).
    assert "Exception in ASGI application" not in log, log[-4000:]
    assert "unhandled error" not in log, log[-4000:]
