"""Live updates: fan-out latency and server memory per open SSE stream, 1 vs 1,000 streams.

One real `stockdash serve` process (SQLite, Redis for the event bus, as several instances run it)
and N users each watching AAPL, each with one open `GET /api/v1/events` stream from this process.
An update is appended to the Redis Stream here (as a worker's refresh does); the latency of a
stream is the time from that XADD to the event arriving on it, read in this process (one clock).
The baseline is the same measurement with one open stream, in the same run. Memory per stream is
the server's resident memory with N streams open minus with one, divided by N - 1.
Run: `.venv/bin/python -m bench.events [--streams 1000] [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from sqlalchemy import insert
from tests.conftest import free_port

from bench.common import write_section
from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker, utcnow
from stockdash.core.migrate import upgrade
from stockdash.events.tokens import StreamClaims, issue_stream_token
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock

SECTION = "Live updates: SSE fan-out (bench/events.py)"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-events-secret-key-that-is-long-enough-0123456789"
WAIT = 120.0


async def seed(url: str, users: int) -> None:
    """Users 1..N, each watching AAPL."""
    engine = create_engine(url)
    now = utcnow()
    async with create_sessionmaker(engine)() as session:
        await session.execute(
            insert(User),
            [
                {
                    "username": f"e{i}",
                    "email": f"e{i}@bench.test",
                    "password_hash": "x",
                    "subscription_tier": "free",
                    "role": "user",
                    "is_active": True,
                    "email_verified": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(users)
            ],
        )
        await session.execute(
            insert(UserStock),
            [{"user_id": i + 1, "symbol": "AAPL", "added_at": now} for i in range(users)],
        )
        await session.commit()
    await engine.dispose()


def rss_mib(pid: int) -> float:
    """A process's resident memory now, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Stream:
    """One open SSE stream; `arrived` maps an event's `n` to when it was read here."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.arrived: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def run(self, client: httpx.AsyncClient, token: str) -> None:
        async with client.stream("GET", "/api/v1/events", params={"token": token}) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if line.startswith("event: ready"):
                    self.ready.set()
                elif line.startswith("data: ") and '"bench"' in line:
                    self.arrived[json.loads(line[6:])["bench"]] = time.perf_counter()


async def open_streams(
    client: httpx.AsyncClient, settings: Settings, first: int, count: int
) -> list[Stream]:
    """Open `count` streams for users first..first+count-1 and wait until each is live."""
    streams = []
    for uid in range(first, first + count):
        stream = Stream()
        token = issue_stream_token(settings, StreamClaims(uid, 0, None))
        stream.task = asyncio.create_task(stream.run(client, token))
        streams.append(stream)
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in streams)), WAIT)
    return streams


async def fan_out(
    redis: aioredis.Redis, key: str, streams: list[Stream], rounds: int, start: int
) -> list[float]:
    """Publish `rounds` updates one after another; every stream's latency for each, ms."""
    latencies: list[float] = []
    for n in range(start, start + rounds):
        data = json.dumps({"symbol": "AAPL", "tiers": {}, "changed": ["quote"], "bench": n})
        sent = time.perf_counter()
        await redis.xadd(key, {"topic": "symbol:AAPL", "type": "symbol.update", "data": data})
        deadline = time.monotonic() + WAIT
        while any(n not in s.arrived for s in streams):
            if time.monotonic() > deadline:
                raise RuntimeError(f"event {n} did not reach every stream within {WAIT:g}s")
            await asyncio.sleep(0.005)
        latencies += [(s.arrived[n] - sent) * 1000 for s in streams]
    return latencies


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "max": ordered[-1],
    }


def measure(streams_wanted: int, rounds: int) -> dict[str, Any]:
    """Serve, open 1 then N streams, publish, measure; the figures."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted_fds = max(soft, min(hard, 4 * streams_wanted + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted_fds, hard))
    root = Path(tempfile.mkdtemp(prefix="stockdash-bench-events-"))
    url = f"sqlite+aiosqlite:///{root / 'bench.db'}"
    upgrade(url)
    asyncio.run(seed(url, streams_wanted))
    prefix = f"stockdash-bench-events-{uuid.uuid4().hex[:8]}:"
    port = free_port()
    settings_names = {n.upper() for n in Settings.model_fields}
    env = {
        **{k: v for k, v in os.environ.items() if k.upper() not in settings_names},
        "ENVIRONMENT": "test",
        "DATABASE_URL": url,
        "DATA_DIR": str(root / "data"),
        "FRONTEND_DIST": str(root / "no-frontend"),
        "JWT_SECRET_KEY": SECRET,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMIT_KEY_PREFIX": prefix + "rl",
        "REFRESH_INTERVAL_SECONDS": "0",
        "WARM_ANALYSIS_CONTEXT": "false",
        "EVENTS_HEARTBEAT_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
    }
    argv = [sys.executable, "-m", "stockdash.cli", "serve", "--host", "127.0.0.1"]
    with (root / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [*argv, "--port", str(port)], env=env, cwd=root, stdout=log, stderr=log
        )
    try:
        result = asyncio.run(_measure(server.pid, port, prefix, streams_wanted, rounds))
    finally:
        server.terminate()
        server.wait(timeout=30)
        asyncio.run(_drop_keys(prefix))
    return result


async def _drop_keys(prefix: str) -> None:
    redis = aioredis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def _wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(600):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up")


async def _measure(pid: int, port: int, prefix: str, wanted: int, rounds: int) -> dict[str, Any]:
    redis = aioredis.from_url(REDIS_URL)
    key = f"{prefix}events"
    settings = Settings.model_construct(jwt_secret_key=SECRET, events_token_seconds=600)
    limits = httpx.Limits(max_connections=wanted + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(30.0, read=None)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        await _wait_healthy(client)
        one = await open_streams(client, settings, 1, 1)
        await fan_out(redis, key, one, 2, 0)  # warm-up
        rss_one = rss_mib(pid)
        single = await fan_out(redis, key, one, rounds, 100)
        opened = time.perf_counter()
        rest = await open_streams(client, settings, 2, wanted - 1)
        open_seconds = time.perf_counter() - opened
        everyone = one + rest
        await fan_out(redis, key, everyone, 1, 200)  # warm-up
        rss_all = rss_mib(pid)
        many = await fan_out(redis, key, everyone, rounds, 300)
        for s in everyone:
            if s.task is not None:
                s.task.cancel()
        await asyncio.gather(*(s.task for s in everyone if s.task), return_exceptions=True)
    await redis.aclose()
    return {
        "streams": wanted,
        "rounds": rounds,
        "single": summary(single),
        "many": summary(many),
        "rss_one": rss_one,
        "rss_all": rss_all,
        "per_stream_kib": (rss_all - rss_one) * 1024 / (wanted - 1),
        "open_seconds": open_seconds,
    }


def render(r: dict[str, Any]) -> str:
    """The results as the docs section's body."""
    one, many = r["single"], r["many"]
    return f"""
One `stockdash serve` process (SQLite, Redis event bus), every user watching AAPL with one open
`GET /api/v1/events` stream from the benchmark process; an update appended to the Redis Stream as a
worker's refresh does; latency from that XADD to the event read on each stream (same clock), over
{r["rounds"]} updates one after another. Baseline: the same with one open stream, same run.

| open streams | p50 ms | p95 ms | max ms | p50 vs 1 stream |
|---:|---:|---:|---:|---:|
| 1 | {one["p50"]:.1f} | {one["p95"]:.1f} | {one["max"]:.1f} | 1.0x |
| {r["streams"]:,} | {many["p50"]:.1f} | {many["p95"]:.1f} | {many["max"]:.1f} | {many["p50"] / one["p50"]:.1f}x |

Server memory: {r["rss_one"]:.1f} MiB with one stream, {r["rss_all"]:.1f} MiB with {r["streams"]:,}:
**{r["per_stream_kib"]:.1f} KiB per open stream**. Opening the {r["streams"] - 1:,} streams (token check,
user and watchlist read, subscription) took {r["open_seconds"]:.1f} s in all. The benchmark's own
clients share the same 2 cores, so the latencies include their parsing of every event.
"""


def main(argv: list[str] | None = None) -> None:
    """Run and rewrite the docs section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.streams, args.rounds)
    body = render(result)
    print(body)
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
