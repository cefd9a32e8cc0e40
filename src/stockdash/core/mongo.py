"""The MongoDB client: selection from the settings, write/read concerns, fail-fast startup.

Writes use majority write concern (acknowledged by most of a replica set, so a failover does
not roll them back). Reads default to `primaryPreferred`: read-your-writes on the primary while
it is up, and still answering (possibly stale) reads during an election; a URL that sets
`readPreference` itself wins. No domain code here: collections and indexes belong to
`stockdash.storage.mongo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

# Transport failures: the server is down or unreachable (answered like PostgreSQL's: 503).
MONGO_FAILURES: tuple[type[Exception], ...] = (ConnectionFailure, ServerSelectionTimeoutError)
DEFAULT_READ_PREFERENCE = "primaryPreferred"
# MongoDB's error code for a write conflict between transactions.
WRITE_CONFLICT = 112


def bson_time(when: datetime) -> datetime:
    """A time at BSON's precision (milliseconds), so what is returned equals what is read back."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def bson_now() -> datetime:
    """The current UTC time at BSON's precision."""
    return bson_time(datetime.now(UTC))


class MongoUnreachable(RuntimeError):
    """MongoDB did not answer at startup."""


@dataclass(frozen=True, slots=True)
class MongoTarget:
    """Where the MongoDB database is."""

    url: str
    database: str


def is_mongo_url(url: str | None) -> bool:
    """Whether a database URL names MongoDB."""
    return bool(url) and str(url).startswith(("mongodb://", "mongodb+srv://"))


def mongo_target(database_url: str | None, default_database: str) -> MongoTarget | None:
    """The MongoDB target of DATABASE_URL (database from its path, else `default_database`)."""
    if database_url is None or not is_mongo_url(database_url):
        return None
    name = urlsplit(database_url).path.strip("/")
    return MongoTarget(database_url, name or default_database)


def build_mongo_client(
    url: str, *, timeout_seconds: float, event_listeners: Sequence[Any] = ()
) -> AsyncMongoClient[dict[str, Any]]:
    """A lazily connecting client: tz-aware datetimes, majority writes, bounded waits (and the
    given pymongo event listeners, e.g. the command timer of the metrics)."""
    options: dict[str, Any] = {
        "tz_aware": True,
        "w": "majority",
        "serverSelectionTimeoutMS": int(timeout_seconds * 1000),
        "connectTimeoutMS": int(timeout_seconds * 1000),
        "event_listeners": list(event_listeners),
    }
    if "readpreference=" not in url.lower():
        options["readPreference"] = DEFAULT_READ_PREFERENCE
    return AsyncMongoClient(url, **options)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


async def require_mongo(client: AsyncMongoClient[dict[str, Any]], url: str) -> None:
    """Ping the server; MongoUnreachable with a clear message if it does not answer."""
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        first = str(exc).split(",")[0][:200]
        raise MongoUnreachable(
            f"MongoDB at {redacted(url)} is not reachable ({type(exc).__name__}: {first}); "
            "start it or fix DATABASE_URL / MONGODB_URL."
        ) from exc


async def ping_mongo(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    """Whether MongoDB answers a ping (callers bound the wait)."""
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True


async def supports_transactions(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    """Whether the server runs multi-document transactions: a replica-set member (`setName`)
    or a mongos (`msg: isdbgrid`); a standalone server does not."""
    hello = await client.admin.command("hello")
    return bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"


def is_transient(exc: BaseException) -> bool:
    """Whether a transaction failed for a reason that a fresh attempt may not meet (a write
    conflict, a failover): PyMongo's `TransientTransactionError` label."""
    if not isinstance(exc, PyMongoError):
        return False
    if exc.has_error_label("TransientTransactionError"):
        return True
    # The mongoeco test server reports a commit-time write conflict without the label or
    # MongoDB's code 112 (WriteConflict); real servers label it.
    return isinstance(exc, OperationFailure) and (
        exc.code == WRITE_CONFLICT or "write conflict" in str(exc).lower()
    )


async def next_id(counters: AsyncCollection[dict[str, Any]], name: str) -> int:
    """The next integer id of a collection (an atomic `$inc` on its counter document)."""
    doc = await counters.find_one_and_update(
        {"_id": name}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    assert doc is not None  # upsert with AFTER always returns the document
    return int(doc["seq"])
