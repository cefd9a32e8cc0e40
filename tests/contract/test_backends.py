"""What each backend adds around the repositories: MongoDB's indexes (TTL on stock_cache),
restart persistence, failing fast at startup, 503 on an outage, and selection from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from stockdash.container import build_storage
from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker
from stockdash.core.errors import install_error_handlers
from stockdash.core.mongo import MongoUnreachable, build_mongo_client, require_mongo
from stockdash.storage.base import Storage
from stockdash.storage.mongo import INDEXES, STALE_KEEP_SECONDS, MongoStorage, ensure_indexes
from stockdash.storage.sql import SqlStorage
from stockdash.users.records import NewUser
from tests import mongo_server
from tests.conftest import BACKEND, PG_SCHEMA, free_port


async def test_mongo_indexes_are_created_idempotently_with_a_ttl_on_stock_cache(
    mongo_url: str,
) -> None:
    client = build_mongo_client(mongo_url, timeout_seconds=10)
    db = client["stockdash_indexes_test"]
    try:
        await ensure_indexes(db)
        await ensure_indexes(db)  # a second start changes nothing and does not fail
        assert set(INDEXES) <= set(await db.list_collection_names())
        cache = await db["stock_cache"].index_information()
        ttl = [i for i in cache.values() if i["key"] == [("expires_at", 1)]]
        assert len(ttl) == 1 and ttl[0]["expireAfterSeconds"] == STALE_KEEP_SECONDS
        users = await db["users"].index_information()
        unique = {tuple(k for k, _ in i["key"]) for i in users.values() if i.get("unique")}
        assert {("username_key",), ("email_key",)} <= unique
        stocks = await db["user_stocks"].index_information()
        assert any(
            i["key"] == [("user_id", 1), ("symbol", 1)] and i.get("unique") for i in stocks.values()
        )
    finally:
        await client.drop_database("stockdash_indexes_test")
        await client.close()


async def _write_then_read(make: Any) -> None:
    """Add a user through one storage, close it, read it through a new one."""
    first: Storage = await make()
    async with first.unit() as unit:
        user = await unit.users.add(
            NewUser(username="Kept", email="kept@example.com", password_hash="x")
        )
        await unit.watchlist.add_within_limit(user.id, "AAPL", 5)
        await unit.commit()
    await first.close()
    second: Storage = await make()
    async with second.unit(read_only=True) as unit:
        assert await unit.users.get_by_login("kept") == user
        assert [e.symbol for e in await unit.watchlist.list_for_user(user.id)] == ["AAPL"]
    await second.close()


@pytest.mark.skipif(BACKEND == "mongo", reason="the SQL side runs on the SQLite/PostgreSQL passes")
async def test_sql_data_survives_a_new_engine(database_url: str) -> None:
    engines = []

    async def make() -> Storage:
        engine = create_engine(database_url, schema=PG_SCHEMA if BACKEND == "postgres" else None)
        engines.append(engine)
        factory = create_sessionmaker(engine)
        return SqlStorage(engine, factory, factory)

    await _write_then_read(make)
    for engine in engines:
        await engine.dispose()


@pytest.mark.skipif(
    bool(mongo_server.MONGODB_TEST_URL) or not mongo_server.available(),
    reason="restarting needs the bundled test server",
)
def test_mongo_data_survives_a_server_restart(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "mongo.sqlite"

    async def run(url: str, step: str) -> None:
        client = build_mongo_client(url, timeout_seconds=10)
        storage = MongoStorage(client, "persisted", listeners=[])
        await storage.ensure_schema()
        if step == "write":
            async with storage.unit() as unit:
                user = await unit.users.add(
                    NewUser(username="Kept", email="kept@example.com", password_hash="x")
                )
                await unit.watchlist.add_within_limit(user.id, "AAPL", 5)
                await unit.commit()
        else:
            async with storage.unit(read_only=True) as unit:
                user = await unit.users.get_by_login("kept")  # type: ignore[assignment]
                assert user is not None
                assert [e.symbol for e in await unit.watchlist.list_for_user(user.id)] == ["AAPL"]
        await storage.close()

    with mongo_server.mongo_server(free_port(), path) as url:
        asyncio.run(run(url, "write"))
    with mongo_server.mongo_server(free_port(), path) as url:
        asyncio.run(run(url, "read"))


async def test_startup_against_an_unreachable_mongodb_fails_fast_with_a_clear_message() -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/stockdash"
    client = build_mongo_client(url, timeout_seconds=0.5)
    try:
        with pytest.raises(MongoUnreachable) as caught:
            await require_mongo(client, url)
    finally:
        await client.close()
    message = str(caught.value)
    assert f"127.0.0.1:{url.split(':')[2].split('/')[0]}" in message
    assert "not reachable" in message and "DATABASE_URL" in message


def test_a_mongodb_outage_answers_503_database_unavailable() -> None:
    """Stop the server under a running app: the route answers 503, not 500."""
    import asyncio

    if not mongo_server.available() or mongo_server.MONGODB_TEST_URL:
        pytest.skip("stopping the server needs the bundled test server")

    async def scenario(url: str, server: Any) -> None:
        client = build_mongo_client(url, timeout_seconds=0.5)
        storage = MongoStorage(client, "outage", listeners=[])
        await storage.ensure_schema()
        app = FastAPI()
        install_error_handlers(app)

        @app.get("/count")
        async def count() -> dict[str, int]:
            async with storage.unit(read_only=True) as unit:
                return {"count": await unit.watchlist.count(1)}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/count")).json() == {"count": 0}
            server.__exit__(None, None, None)
            response = await http.get("/count")
        await storage.close()
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        assert response.headers["Retry-After"]

    server = mongo_server.mongo_server(free_port())
    url = server.__enter__()
    asyncio.run(scenario(url, server))


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"database_url": "mongodb://127.0.0.1:1/shop"}, ("mongodb", "shop")),
        ({"database_url": "mongodb://127.0.0.1:1"}, ("mongodb", "ai_stock_dashboard")),
        (
            {"mongodb_url": "mongodb://127.0.0.1:1", "database_name": "seed"},
            ("mongodb", "seed"),
        ),
        ({}, ("sql", None)),
        (
            {"database_url": "sqlite:///x.db", "mongodb_url": "mongodb://127.0.0.1:1"},
            ("sql", None),
        ),
    ],
)
async def test_the_container_selects_the_backend_from_the_settings(
    env: dict[str, str], expected: tuple[str, str | None], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None, **env)  # type: ignore[call-arg]
    engine = create_engine(settings.resolved_database_url)
    factory = create_sessionmaker(engine)
    storage = build_storage(settings, engine, (factory, factory), [])
    try:
        name = storage.db.name if isinstance(storage, MongoStorage) else None
        assert (storage.backend, name) == expected
        assert settings.resolved_database_url.startswith("sqlite")
    finally:
        await storage.close()
        await engine.dispose()
