"""One way to run a real `stockdash serve` process in a test: its environment, its own storage,
and the process itself (started on a free port, ready when /readyz says so, stopped after)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from stockdash.core.migrate import upgrade
from tests import mongo_server
from tests.conftest import (
    BACKEND,
    CACHE_BACKEND,
    PG_URL,
    RATE_LIMIT_NAMES,
    REDIS_URL,
    _delete_keys,
    _drop_schema,
    free_port,
    own_mongo_database,
)

CLI = [sys.executable, "-m", "stockdash.cli"]
# Generous: under pytest-xdist on two loaded cores, a cold start can take a while.
READY_SECONDS = 120.0


def served_env(data_dir: Path, name: str, *, rate_limit: str = "100000/hour") -> dict[str, str]:
    """The environment of a quiet development server of its own: fast hashes, no refresh, no
    metrics directory of the test process, and rate limits no test run reaches."""
    return {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
        "JWT_SECRET_KEY": f"{name}-secret-" + "x" * 32,
        "BCRYPT_ROUNDS": "4",
        "REFRESH_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        **{f"RATE_LIMIT_{limit.upper()}": rate_limit for limit in RATE_LIMIT_NAMES},
    }


@contextmanager
def own_mongo_server_database(name: str) -> Iterator[dict[str, str]]:
    """A MongoDB database of a server's own (MONGODB_TEST_URL's server, or a mongoeco server
    started for it), dropped afterwards."""
    with contextlib.ExitStack() as stack:
        url = mongo_server.MONGODB_TEST_URL or stack.enter_context(
            mongo_server.mongo_server(free_port())
        )
        yield {
            "DATABASE_URL": stack.enter_context(own_mongo_database(url, name)),
            "MONGODB_TRANSACTIONS": mongo_server.TRANSACTIONS,
            "REDIS_URL": "",
        }


@contextmanager
def own_storage(data_dir: Path, name: str) -> Iterator[dict[str, str]]:
    """Storage settings of a server's own, removed afterwards: a SQLite file, on the PostgreSQL
    pass a freshly migrated schema and, with the Redis cache, its own key prefix, and on the
    MongoDB pass (`make test-api-mongo`) a MongoDB database."""
    if BACKEND == "mongo":
        with own_mongo_server_database(name) as env:
            yield env
        return
    tag = uuid.uuid4().hex[:10]
    schema = f"stockdash_{name}_{tag}" if BACKEND == "postgres" else ""
    prefix = f"stockdash-{name}-{tag}" if CACHE_BACKEND == "redis" else ""
    try:
        if schema:
            upgrade(PG_URL, schema=schema)
        yield {
            "DATABASE_URL": PG_URL if schema else f"sqlite+aiosqlite:///{data_dir / f'{name}.db'}",
            "DATABASE_SCHEMA": schema,
            "REDIS_URL": REDIS_URL if prefix else "",
            "REDIS_KEY_PREFIX": f"{prefix or 'stockdash'}:",
            "RATE_LIMIT_KEY_PREFIX": f"{prefix or 'stockdash'}-rl",
        }
    finally:
        if schema:
            asyncio.run(_drop_schema(PG_URL, schema))
        if prefix:
            asyncio.run(_delete_keys(prefix))


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """`stockdash serve` on a free port with `env`, its output in `log`; yields the base URL once
    /readyz answers 200, and stops the server when the block ends."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def wait_ready(base: str, log: Path) -> None:
    """Poll /readyz until it answers 200; fail with the end of the server's log otherwise."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not become ready:\n{log.read_text(errors='replace')[-4000:]}")
