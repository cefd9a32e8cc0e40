"""Multi-document atomicity of a unit of work, on SQLite or PostgreSQL and on MongoDB (a
transaction when the server runs them: the mongoeco test server is declared to), requests
answered again after a transaction conflict, and where MongoDB units read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pymongo import ReadPreference
from pymongo.errors import DuplicateKeyError, OperationFailure

from stockdash.core.errors import install_error_handlers
from stockdash.core.mongo import build_mongo_client, is_transient, supports_transactions
from stockdash.core.routes import RetryRoute
from stockdash.storage.base import Storage
from stockdash.storage.mongo import MongoStorage
from stockdash.users.records import NewUser
from stockdash.watchlist.entities import LimitReached
from tests import mongo_server
from tests.contract.conftest import RecordingListener
from tests.contract.test_repositories import (
    FREE_LIMIT,
    add_stock,
    add_user,
    check_parallel_adds_store_exactly_the_limit,
)


class Midway(Exception):
    """A failure after some of a unit's writes."""


def _new_user(name: str) -> NewUser:
    return NewUser(username=name, email=f"{name}@example.com", password_hash="x" * 60)


async def test_a_unit_that_fails_midway_leaves_nothing_behind(
    storage: Storage, listener: RecordingListener
) -> None:
    with pytest.raises(Midway):
        async with storage.unit() as unit:
            user = await unit.users.add(_new_user("Alice"))
            await unit.watchlist.add_within_limit(user.id, "AAPL", FREE_LIMIT)
            await unit.subscription_events.count_upgrades()  # a read between the writes
            raise Midway
    async with storage.unit(read_only=True, primary=True) as unit:
        assert await unit.users.get_by_login("alice") is None
        assert await unit.users.get(user.id) is None
        assert await unit.watchlist.count(user.id) == 0
        assert await unit.watchlist.tracked_symbols() == {}
    assert listener.commits == []
    # The username is free again and the watchlist slot taken inside was given back with it.
    again = await add_user(storage, "Alice")
    for i in range(FREE_LIMIT):
        await add_stock(storage, again.id, f"S{i}", FREE_LIMIT)


async def test_rollback_undoes_the_units_writes_and_the_unit_goes_on(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit() as unit:
        await unit.watchlist.add_within_limit(alice.id, "AAPL", FREE_LIMIT)
        await unit.users.set_tier(alice.id, "pro")
        await unit.rollback()
        await unit.watchlist.add_within_limit(alice.id, "MSFT", FREE_LIMIT)
        await unit.commit()
    async with storage.unit(read_only=True, primary=True) as unit:
        assert [e.symbol for e in await unit.watchlist.list_for_user(alice.id)] == ["MSFT"]
        got = await unit.users.get(alice.id)
    assert got is not None and got.subscription_tier == "free"


async def test_work_after_a_commit_is_undone_when_the_unit_ends_without_another(
    storage: Storage,
) -> None:
    async with storage.unit() as unit:
        alice = await unit.users.add(_new_user("Alice"))
        await unit.commit()
        await unit.watchlist.add_within_limit(alice.id, "AAPL", FREE_LIMIT)
        await unit.users.set_tier(alice.id, "expert")
    async with storage.unit(read_only=True, primary=True) as unit:
        got = await unit.users.get(alice.id)
        assert await unit.watchlist.count(alice.id) == 0
    assert got is not None and got.subscription_tier == "free"


@pytest.fixture
async def limited_app(storage: Storage) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """An app whose one route adds a symbol to a user's watchlist within the free limit in a
    unit of work, and the user's id."""
    alice = await add_user(storage, "Alice")
    router = APIRouter(route_class=RetryRoute)

    @router.post("/add/{symbol}", status_code=201)
    async def add(symbol: str) -> dict[str, str]:
        async with storage.unit() as unit:
            assert await unit.users.lock(alice.id) is not None
            try:
                await unit.watchlist.add_within_limit(alice.id, symbol, FREE_LIMIT)
            except LimitReached:
                return {"result": "limit"}
            await unit.users.set_tier(alice.id, "free")  # a second document in the transaction
            await unit.commit()
        return {"result": "added"}

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http, alice.id


async def test_concurrent_requests_that_conflict_are_answered_again(
    storage: Storage, limited_app: tuple[httpx.AsyncClient, int]
) -> None:
    http, user_id = limited_app
    responses = await asyncio.gather(*(http.post(f"/add/S{i}") for i in range(12)))
    assert [r.status_code for r in responses] == [201] * 12
    results = [r.json()["result"] for r in responses]
    assert results.count("added") == FREE_LIMIT
    async with storage.unit(read_only=True, primary=True) as unit:
        assert await unit.watchlist.count(user_id) == FREE_LIMIT


# -- MongoDB: detection, the standalone mode, read preferences --------------------------------


@pytest.fixture
async def auto_mongo(mongo_url: str) -> AsyncIterator[MongoStorage]:
    """A MongoDB storage in "auto" mode on a fresh database (dropped afterwards)."""
    client = build_mongo_client(mongo_url, timeout_seconds=10)
    name = f"stockdash_tx_{uuid.uuid4().hex[:12]}"
    storage = MongoStorage(client, name, listeners=[], read_preference="nearest")
    await storage.ensure_schema()
    yield storage
    await client.drop_database(name)
    await client.close()


@pytest.mark.skipif(bool(mongo_server.MONGODB_TEST_URL), reason="about the bundled server")
async def test_mongoeco_names_no_replica_set_so_auto_mode_writes_stand_alone(
    auto_mongo: MongoStorage,
) -> None:
    """What the docs say of a standalone server: each write stands alone, so a unit left
    without commit keeps what it wrote (hence MONGODB_TRANSACTIONS=on for mongoeco)."""
    assert await supports_transactions(auto_mongo.client) is False
    assert await auto_mongo.transactions() is False
    async with auto_mongo.unit() as unit:
        user = await unit.users.add(_new_user("Alone"))
    async with auto_mongo.unit(read_only=True, primary=True) as unit:
        assert await unit.users.get(user.id) == user


@pytest.mark.skipif(bool(mongo_server.MONGODB_TEST_URL), reason="about the bundled server")
async def test_parallel_adds_store_exactly_the_limit_without_transactions_too(
    auto_mongo: MongoStorage,
) -> None:
    assert await auto_mongo.transactions() is False
    await check_parallel_adds_store_exactly_the_limit(auto_mongo)


async def test_mongo_units_read_where_their_freshness_needs(auto_mongo: MongoStorage) -> None:
    async with auto_mongo.unit(read_only=True) as unit:
        assert unit.db.read_preference == ReadPreference.NEAREST  # MONGODB_READ_PREFERENCE
    async with auto_mongo.unit(read_only=True, primary=True) as unit:
        assert unit.db.read_preference == ReadPreference.PRIMARY
    async with auto_mongo.unit() as unit:
        assert unit.db.read_preference == ReadPreference.PRIMARY
        assert auto_mongo.client.write_concern.document == {"w": "majority"}


def test_conflicts_are_transient_and_other_failures_are_not() -> None:
    labelled = OperationFailure(
        "WriteConflict", 112, {"errorLabels": ["TransientTransactionError"], "code": 112}
    )
    assert is_transient(labelled)
    assert is_transient(OperationFailure("Write conflict during transaction commit"))
    assert not is_transient(DuplicateKeyError("E11000 duplicate key", 11000))
    assert not is_transient(ValueError("write conflict"))


async def test_a_conflict_left_to_the_error_handlers_answers_503() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/busy")
    async def busy() -> None:
        raise OperationFailure("WriteConflict", 112, {"errorLabels": ["TransientTransactionError"]})

    @app.get("/bug")
    async def bug() -> None:
        raise OperationFailure("bad query", 2)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        busy_response = await http.get("/busy")
        bug_response = await http.get("/bug")
    assert busy_response.status_code == 503
    assert busy_response.json()["error"]["code"] == "database_unavailable"
    assert busy_response.headers["Retry-After"]
    assert bug_response.status_code == 500
