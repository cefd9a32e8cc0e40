"""Attacks on a real `stockdash serve` process: forged proxy headers from loopback, oversized
headers, and abusive bodies while /healthz must keep answering."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    BACKEND,
    CACHE_BACKEND,
    PG_URL,
    RATE_LIMIT_NAMES,
    REDIS_URL,
    _delete_keys,
    _drop_schema,
    free_port,
)

PASSWORD = "quartz-lantern-meadow-91"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real server that trusts no proxy headers, even with uvicorn's
    FORWARDED_ALLOW_IPS set to trust everyone (the app alone owns the client address)."""
    data_dir = tmp_path_factory.mktemp("served")
    tag = uuid.uuid4().hex[:10]
    schema = f"stockdash_served_{tag}" if BACKEND == "postgres" else ""
    prefix = f"stockdash-served-{tag}" if CACHE_BACKEND == "redis" else ""
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATABASE_URL": PG_URL if schema else f"sqlite+aiosqlite:///{data_dir / 'served.db'}",
        "DATABASE_SCHEMA": schema,
        "REDIS_URL": REDIS_URL if prefix else "",
        "REDIS_KEY_PREFIX": f"{prefix or 'stockdash'}:",
        "RATE_LIMIT_KEY_PREFIX": f"{prefix or 'stockdash'}-rl",
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
        "JWT_SECRET_KEY": "served-secret-" + "x" * 32,
        "BCRYPT_ROUNDS": "4",
        "REFRESH_INTERVAL_SECONDS": "0",
        "WARM_ANALYSIS_CONTEXT": "false",
        "LOG_LEVEL": "WARNING",
        **{f"RATE_LIMIT_{name.upper()}": "100000/hour" for name in RATE_LIMIT_NAMES},
        "RATE_LIMIT_REGISTER_IP": "3/minute",
        "TRUST_PROXY_HEADERS": "false",
        "FORWARDED_ALLOW_IPS": "*",
    }
    base = f"http://127.0.0.1:{free_port()}"
    log = data_dir / "server.log"
    if schema:
        from stockdash.core.migrate import upgrade

        upgrade(PG_URL, schema=schema)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stockdash.cli", "serve", "--port", base.rsplit(":", 1)[1]],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(base, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if schema:
            asyncio.run(_drop_schema(PG_URL, schema))
        if prefix:
            asyncio.run(_delete_keys(prefix))


def _wait_ready(base: str, log: Path) -> None:
    deadline = time.monotonic() + 120  # generous: two loaded cores
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not become ready:\n{log.read_text(errors='replace')[-4000:]}")


def test_forged_forwarded_for_from_loopback_does_not_reset_the_sign_up_limit(
    served: str,
) -> None:
    answers = []
    for i in range(4):
        body = {"username": f"xff{i}", "email": f"xff{i}@example.com", "password": PASSWORD}
        forged = {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"203.0.113.{i + 1}"}
        answers.append(httpx.post(f"{served}/api/v1/auth/register", json=body, headers=forged))
    assert [r.status_code for r in answers] == [201, 201, 201, 429], [r.text for r in answers]


def test_forged_forwarded_proto_does_not_switch_hsts_on(served: str) -> None:
    r = httpx.get(f"{served}/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    assert "Strict-Transport-Security" not in r.headers


def test_an_oversized_header_is_refused(served: str) -> None:
    r = httpx.get(f"{served}/healthz", headers={"X-Padding": "a" * 1_000_000})
    assert r.status_code in (400, 431), r.status_code
    assert httpx.get(f"{served}/healthz").status_code == 200


async def test_healthz_answers_while_abusive_bodies_are_rejected(served: str) -> None:
    """An upper bound with generous slack (the unbounded handler stalled for seconds)."""
    body = json.dumps({f"k{i:05d}": i for i in range(60_000)})
    async with httpx.AsyncClient(base_url=served, timeout=60) as client:
        abuse = [
            asyncio.create_task(
                client.post(
                    "/api/v1/auth/refresh",
                    content=body,
                    headers={"content-type": "application/json"},
                )
            )
            for _ in range(4)
        ]
        worst = 0.0
        while not all(t.done() for t in abuse):
            asked = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            worst = max(worst, time.perf_counter() - asked)
        answers = await asyncio.gather(*abuse)
    assert all(r.status_code == 422 and len(r.content) < 8_192 for r in answers)
    assert worst < 1.5, worst
