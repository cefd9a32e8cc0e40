"""Shared fixtures: a clean database per test (SQLite, PostgreSQL or MongoDB), the app, clients,
factories.

`STOCKDASH_TEST_DB=sqlite` (default), `postgres` or `mongo` picks the backend; `TEST_DATABASE_URL`
overrides the PostgreSQL URL (default: the local server's `test` database); `MONGODB_TEST_URL`
replaces the mongoeco test server (started once per xdist worker) on the MongoDB pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from pymongo import MongoClient
from sqlalchemy import text

from stockdash.analysis.narrator import Narrator
from stockdash.analysis.schemas import MODEL_NAMES
from stockdash.analysis.service import AnalysisService
from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.core.db import Base, create_engine
from stockdash.core.metrics import REGISTRY
from stockdash.core.migrate import upgrade
from stockdash.market.cache import Cache, MemoryCache, RedisCache
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.models import load_all_models
from tests import mongo_server

BACKEND = os.environ.get("STOCKDASH_TEST_DB", "sqlite")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Each test session gets its own schema in the `test` database, so parallel runs never collide.
PG_SCHEMA = f"stockdash_test_{uuid.uuid4().hex[:12]}"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

RATE_LIMIT_NAMES = (
    "login_ip",
    "login_account",
    "login_account_total",
    "register_ip",
    "verify_resend",
    "password_reset",
    "api_free",
    "api_pro",
    "api_expert",
    "api_key",
)

load_all_models()

# Forty large caps with full history and statements in the snapshot, most popular first.
POPULAR_SYMBOLS = [
    "AAPL",
    "MSFT",
    "GOOGL",
    "AMZN",
    "NVDA",
    "META",
    "TSLA",
    "JPM",
    "JNJ",
    "KO",
    "PG",
    "WMT",
    "XOM",
    "V",
    "MA",
    "UNH",
    "HD",
    "COST",
    "PEP",
    "CVX",
    "ABBV",
    "MRK",
    "LLY",
    "AVGO",
    "ORCL",
    "NFLX",
    "DIS",
    "MCD",
    "BAC",
    "WFC",
    "INTC",
    "CSCO",
    "IBM",
    "PFE",
    "T",
    "VZ",
    "NKE",
    "SBUX",
    "ADBE",
    "CRM",
]


def free_port() -> int:
    """A loopback port nobody listens on right now (for servers the tests start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On the MongoDB pass, skip the tests marked `sql_only` (with their reason)."""
    if BACKEND != "mongo":
        return
    for item in items:
        marker = item.get_closest_marker("sql_only")
        if marker is not None:
            reason = marker.kwargs.get("reason", "needs a SQL database")
            item.add_marker(pytest.mark.skip(reason=f"sql_only: {reason}"))


def pytest_report_header() -> str:
    where = {
        "postgres": PG_URL,
        "mongo": "a MongoDB database per test",
    }.get(BACKEND, "a SQLite file per test")
    return f"stockdash database backend: {BACKEND} ({where}); app cache: {CACHE_BACKEND}"


async def _drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


async def _truncate_postgres(url: str) -> None:
    engine = create_engine(url, schema=PG_SCHEMA)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A MongoDB server for this test process (started once per xdist worker)."""
    if mongo_server.MONGODB_TEST_URL:
        yield mongo_server.MONGODB_TEST_URL
        return
    if not mongo_server.available():
        pytest.skip("no MongoDB test server: run `make mongo-server` or set MONGODB_TEST_URL")
    with mongo_server.mongo_server(free_port()) as url:
        yield url


@contextlib.contextmanager
def own_mongo_database(url: str, name: str) -> Iterator[str]:
    """A URL naming a fresh database on the MongoDB server at `url`, dropped when the block ends."""
    database = f"stockdash_{name}_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path=f"/{database}"))
    finally:
        client: MongoClient[dict[str, object]] = MongoClient(url)
        try:
            client.drop_database(database)
        finally:
            client.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the real migrations once: into a template SQLite file, or into a fresh PostgreSQL
    schema (nothing on the MongoDB pass: each test's database gets its indexes at startup)."""
    if BACKEND == "mongo":
        yield ""
        return
    if BACKEND == "postgres":
        upgrade(PG_URL, schema=PG_SCHEMA)
        yield PG_URL
        asyncio.run(_drop_schema(PG_URL, PG_SCHEMA))
        return
    template = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{template}")
    yield str(template)


@pytest.fixture
def database_url(
    migrated_template: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A clean, migrated database for one test (on MongoDB: a database of its own, dropped after)."""
    if BACKEND == "mongo":
        with own_mongo_database(request.getfixturevalue("mongo_url"), "test") as url:
            yield url
        return
    if BACKEND == "postgres":
        yield migrated_template
        asyncio.run(_truncate_postgres(migrated_template))
        return
    path = tmp_path / "stockdash.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite+aiosqlite:///{path}"


# The app's cache and rate limits: in-process on the SQLite pass, the real Redis on the PostgreSQL
# pass (override with STOCKDASH_TEST_CACHE=memory|redis), so every API test runs against both.
# The MongoDB pass checks the storage, so it keeps the cache in-process: Redis is covered once
# already, and the pass stays independent of it.
CACHE_BACKEND = os.environ.get(
    "STOCKDASH_TEST_CACHE", "redis" if BACKEND == "postgres" else "memory"
)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str | None]:
    """A unique Redis key prefix for one test (None on the in-process pass); cleaned up after."""
    if CACHE_BACKEND != "redis":
        yield None
        return
    prefix = f"stockdash-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    await _delete_keys(prefix)


# The MongoDB pass: the mongoeco server (Python, one per worker) can take longer than the 2 s
# default to answer on two loaded cores, and declares no replica set, so its transactions are
# switched on as tests/api's servers do (`auto` with MONGODB_TEST_URL).
MONGO_SETTINGS: dict[str, Any] = {
    "db_connect_timeout_seconds": 10.0,
    "mongodb_transactions": mongo_server.TRANSACTIONS,
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, redis_prefix: str | None) -> Settings:
    """Test settings: fast bcrypt, a temp data dir, no background refresh."""
    return Settings(
        environment="test",
        jwt_secret_key="test-secret-key-that-is-long-enough-0123456789",
        database_url=database_url,
        database_schema=PG_SCHEMA if BACKEND == "postgres" else None,
        data_dir=tmp_path / "data",
        # No built frontend: API tests must not depend on whether frontend/dist exists.
        frontend_dist=tmp_path / "no-frontend",
        bcrypt_rounds=4,
        refresh_interval_seconds=0,
        warm_analysis_context=False,
        job_retry_backoff_seconds=0,
        redis_url=REDIS_URL if redis_prefix else None,
        **(MONGO_SETTINGS if BACKEND == "mongo" else {}),
        redis_key_prefix=f"{redis_prefix}:" if redis_prefix else "stockdash:",
        rate_limit_key_prefix=f"{redis_prefix}-rl" if redis_prefix else "stockdash-rl",
        # Generous limits so ordinary tests never trip them; tests/security/test_ratelimit.py
        # sets real ones.
        **{f"rate_limit_{name}": "100000/minute" for name in RATE_LIMIT_NAMES},
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Any]:
    """A running redis-server of this test's own (a `RedisServer` it may kill, restart or
    pause, and whose command counts touch no one else), killed afterwards."""
    from tests.resilience.servers import RedisServer  # it imports this module

    server = RedisServer(tmp_path / "private-redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def private_redis(redis_server: Any) -> str:
    """The URL of this test's own redis-server."""
    return str(redis_server.url)


@pytest.fixture(scope="session")
def snapshot() -> SnapshotProvider:
    """One offline snapshot for the whole session (it is read-only)."""
    return SnapshotProvider()


@pytest.fixture
async def app(settings: Settings, snapshot: SnapshotProvider) -> AsyncIterator[Any]:
    """The app with its lifespan running."""
    application = create_app(settings, snapshot=snapshot)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


_counter = itertools.count(1)


@dataclass
class UserHandle:
    """A registered user and an authenticated client header."""

    id: int
    username: str
    email: str
    password: str
    headers: dict[str, str]


UserFactory = Callable[..., Awaitable[UserHandle]]


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> UserFactory:
    """Register and log in a new user, optionally on a given tier."""

    async def factory(tier: str = "free", password: str = "correct-horse-9") -> UserHandle:
        n = next(_counter)
        username, email = f"user{n}", f"user{n}@example.com"
        r = await client.post(
            "/api/v1/auth/register",
            json={"username": username, "email": email, "password": password},
        )
        assert r.status_code == 201, r.text
        r2 = await client.post(
            "/api/v1/auth/login", data={"username": username, "password": password}
        )
        assert r2.status_code == 200, r2.text
        headers = {"Authorization": f"Bearer {r2.json()['access_token']}"}
        if tier != "free":
            r3 = await client.put("/api/v1/subscriptions/me", json={"tier": tier}, headers=headers)
            assert r3.status_code == 200, r3.text
        return UserHandle(r.json()["id"], username, email, password, headers)

    return factory


WatchlistFactory = Callable[[UserHandle, list[str]], Awaitable[None]]


@pytest.fixture
def fill_watchlist(client: httpx.AsyncClient) -> WatchlistFactory:
    """Add symbols to a user's watchlist through the API."""

    async def factory(user: UserHandle, symbols: list[str]) -> None:
        for symbol in symbols:
            r = await client.post(
                "/api/v1/watchlist", json={"symbol": symbol}, headers=user.headers
            )
            assert r.status_code == 201, r.text

    return factory


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Check the stable error shape and return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """Each market test runs on the in-process cache and on the real Redis."""
    if request.param == "memory":
        yield MemoryCache()
        return
    prefix = f"stockdash-test-{uuid.uuid4().hex[:12]}:"
    redis_cache = RedisCache(REDIS_URL, prefix=prefix)
    if not await redis_cache.ping():  # pragma: no cover - CI starts Redis; say so loudly
        pytest.fail(f"Redis at {REDIS_URL} is not reachable (run `make services`)")
    yield redis_cache
    await redis_cache.close()
    await _delete_keys(prefix)


async def _delete_keys(prefix: str) -> None:
    """Remove a test's keys from the shared Redis."""
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def analysis_service(
    market: MarketService, narrator: Narrator | None = None, **settings: Any
) -> AnalysisService:
    """An AnalysisService on the default finance settings, any of them overridden by name."""
    return AnalysisService.from_settings(
        market, Settings.model_construct(**settings), narrator=narrator
    )


def analysis_runs() -> float:
    """How many analyst runs the process has done (the analysts' duration histogram count)."""
    return sum(
        REGISTRY.get_sample_value("stockdash_analysis_seconds_count", {"model": m}) or 0.0
        for m in MODEL_NAMES
    )
