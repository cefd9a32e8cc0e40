"""The repository contract suite's backends: the SQL database of this pass (SQLite or
PostgreSQL, `STOCKDASH_TEST_DB`) and MongoDB (the mongoeco test server, or MONGODB_TEST_URL).

`STOCKDASH_TEST_DB=mongo` (make test-mongo) runs the MongoDB side only.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field
from typing import Any

import pytest

from stockdash.container import USER_OWNERS
from stockdash.core.db import CommitListener, create_engine, create_sessionmaker, read_only_engine
from stockdash.core.mongo import build_mongo_client
from stockdash.storage.base import Storage
from stockdash.storage.mongo import MongoStorage
from stockdash.storage.sql import SqlStorage
from tests import mongo_server
from tests.conftest import BACKEND, PG_SCHEMA

BACKENDS = ["mongo"] if BACKEND == "mongo" else ["sql", "mongo"]
SQL_NAME = "postgres" if BACKEND == "postgres" else "sqlite"


@dataclass
class RecordingListener:
    """A commit listener that keeps what it was told (as the user cache is told)."""

    owners: dict[type, Any] = field(default_factory=lambda: dict(USER_OWNERS))
    commits: list[set[Hashable]] = field(default_factory=list)

    def key_of(self, obj: object) -> Hashable | None:
        """The user id a changed object belongs to."""
        owner = self.owners.get(type(obj))
        return None if owner is None else owner(obj)

    async def committed(self, keys: set[Hashable]) -> None:
        """Record one commit's keys."""
        self.commits.append(set(keys))

    @property
    def told(self) -> set[Hashable]:
        """Every key told so far."""
        return set().union(*self.commits) if self.commits else set()


@pytest.fixture
def listener() -> RecordingListener:
    """What the storage's commits told."""
    return RecordingListener()


@pytest.fixture(params=BACKENDS, ids=lambda b: SQL_NAME if b == "sql" else "mongodb")
def backend(request: pytest.FixtureRequest) -> str:
    """Which backend this run of a contract test uses."""
    return str(request.param)


@pytest.fixture
def backend_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The backend's server: a clean migrated SQL database, or the MongoDB server (resolved
    here, outside the event loop: those fixtures run their own)."""
    return str(request.getfixturevalue("database_url" if backend == "sql" else "mongo_url"))


@pytest.fixture
async def storage(
    backend: str, backend_url: str, listener: RecordingListener
) -> AsyncIterator[Storage]:
    """A clean, ready storage on the backend (a migrated SQL database, or a fresh MongoDB
    database with its indexes)."""
    listeners: list[CommitListener] = [listener]
    if backend == "sql":
        url = backend_url
        engine = create_engine(url, schema=PG_SCHEMA if BACKEND == "postgres" else None)
        sql = SqlStorage(
            engine,
            create_sessionmaker(engine, listeners=listeners),
            create_sessionmaker(read_only_engine(engine), listeners=listeners),
        )
        yield sql
        await engine.dispose()
        return
    client = build_mongo_client(backend_url, timeout_seconds=10)
    name = f"stockdash_test_{uuid.uuid4().hex[:12]}"
    mongo = MongoStorage(client, name, listeners=listeners, transactions=mongo_server.TRANSACTIONS)
    await mongo.ensure_schema()
    yield mongo
    await client.drop_database(name)
    await client.close()
