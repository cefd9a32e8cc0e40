"""Scale-out on one machine: dashboard requests/second through nginx with 1, 2 and 3 API
instances, and the refresh of the whole ~500-symbol universe with 1 and 2 workers.

A real deployment as subprocesses (tests/scale/cluster.py): PostgreSQL, Redis, RabbitMQ (Redis
streams if RabbitMQ is absent), nginx in front of `stockdash serve` instances, `stockdash worker`
processes; no scheduler, so nothing runs in the background between measurements. Every ratio is
against the 1-instance / 1-worker figure of the same run.

- Dashboard: an Expert user with 20 stocks; `GET /api/v1/dashboard?view=summary` (what the
  dashboard page loads) with `wrk` (1 thread, 16 connections) through nginx, after a warm-up run
  that fills every instance's caches. nginx is re-pointed at 1, 2, then 3 instances.
- Refresh: 2,000 users with random watchlists plus enough Expert users to track every symbol of
  the snapshot; a `refresh_cycle` job is enqueued and timed from its creation to the moment its
  last `refresh_batch` succeeded. One untimed cycle first (each worker builds its analysis
  context, fundamentals reach the database), then timed cycles, each with the entries CACHE_TTL
  governs (quotes, histories) dropped from Redis first, as in production where CACHE_TTL matches
  the refresh interval so each cycle fetches them again.

Run: `.venv/bin/python -m bench.scale [--duration 10] [--runs 3] [--no-write]`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from tests.scale.cluster import (
    Cluster,
    ClusterSpec,
    make_user,
    service_problems,
    wait_for,
)

from bench.common import write_section
from bench.refresh import LIMITS, TIER_MIX
from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker, utcnow
from stockdash.jobs.broker import build_broker
from stockdash.jobs.queue import JobQueue
from stockdash.jobs.store import JobKind, JobStore
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock

SECTION = "Scale-out: API instances and workers (bench/scale.py)"
DASHBOARD = "/api/v1/dashboard?view=summary"
# Concurrent connections of the measured runs: 4 x 20 cards stay within the API's Redis
# connection pool; OVERLOAD connections are run once more to show what happens beyond it.
CONNECTIONS = 4
OVERLOAD = 16
CARD_FAILED = "dashboard card for"
BATCH_SIZE = 25
SEED_USERS = 2_000


def universe() -> list[str]:
    """Every symbol of the snapshot, largest first."""
    quotes = SnapshotProvider().universe_quotes()
    return sorted(quotes, key=lambda s: -(quotes[s].market_cap or 0))


# -- where the CPU went ----------------------------------------------------------------------


def pids_named(pattern: str) -> list[int]:
    """Processes whose command line matches (the machine's PostgreSQL, Redis, RabbitMQ)."""
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(pid) for pid in out.stdout.split()]


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still running."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


class CpuMeter:
    """Cores used per component over a block: {name: cores}, in `self.cores`. Processes are
    listed again at the end, so new ones (a PostgreSQL backend per new connection) count too."""

    def __init__(self, cluster: Cluster, role: str) -> None:
        procs = cluster.apis if role == "api" else cluster.workers
        nginx = cluster.nginx

        def nginx_pids() -> list[int]:
            if nginx is None or not nginx.alive():
                return []
            out = subprocess.run(
                ["pgrep", "-P", str(nginx.pid)], capture_output=True, text=True, check=False
            )
            return [nginx.pid, *map(int, out.stdout.split())]

        self.groups: dict[str, Callable[[], list[int]]] = {
            "stockdash": lambda: [p.pid for p in procs if p.alive()],
            "PostgreSQL": lambda: pids_named("postgres"),
            "Redis": lambda: pids_named("redis-server"),
            "nginx": nginx_pids,
        }
        if cluster.spec.broker == "amqp":
            self.groups["RabbitMQ"] = lambda: pids_named("beam.smp")
        self.cores: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._before = {name: cpu_by_pid(pids()) for name, pids in self.groups.items()}
        self._children = children_cpu_seconds()
        self._started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self._started
        for name, pids in self.groups.items():
            before = self._before[name]
            after = cpu_by_pid(sorted(set(pids()) | set(before)))
            used = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
            self.cores[name] = used / elapsed
        self.cores["load generator"] = (children_cpu_seconds() - self._children) / elapsed

    def summary(self) -> str:
        """e.g. `stockdash 0.90, PostgreSQL 0.10` (cores), biggest first."""
        used = sorted(self.cores.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{name} {cores:.2f}" for name, cores in used if cores >= 0.005)


# -- dashboard throughput ------------------------------------------------------------------


def failed_cards(cluster: Cluster) -> int:
    """Dashboard cards the API instances logged as failed so far (answered as unavailable)."""
    return sum(proc.log.read_text(errors="replace").count(CARD_FAILED) for proc in cluster.apis)


def wrk(url: str, token: str, seconds: int, connections: int = CONNECTIONS) -> dict[str, Any]:
    """One wrk run; requests/second, latency percentiles and errors."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {
        p: _ms(m.group(1)) if (m := re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)) else None
        for p in ("50", "99")
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": latency["50"],
        "p99": latency["99"],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
    }


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group())  # type: ignore[union-attr]
    unit = text[len(re.match(r"[\d.]+", text).group()) :]  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def dashboard_throughput(
    cluster: Cluster, symbols: list[str], seconds: int
) -> list[dict[str, Any]]:
    """Requests/second through nginx in front of 1, 2, ... of the cluster's API instances."""
    user = make_user(cluster.nginx_url, tier="expert", symbols=symbols[:20])
    url = f"{cluster.nginx_url}{DASHBOARD}"
    results = []
    for count in range(1, len(cluster.apis) + 1):
        cluster.use_upstreams(count)
        wrk(url, user.token, 3)  # warm-up: every instance computes and caches the 20 cards
        failed = failed_cards(cluster)
        with CpuMeter(cluster, "api") as meter:
            measured = wrk(url, user.token, seconds)
        result = {
            "instances": count,
            "connections": CONNECTIONS,
            **measured,
            "failed_cards": failed_cards(cluster) - failed,
            "cpu": meter.cores,
            "cpu_summary": meter.summary(),
        }
        print(
            f"{count} API instance(s): {result['rps']:.1f} req/s, p50 {result['p50']:.0f} ms, "
            f"p99 {result['p99']:.0f} ms, non-2xx {result['non_2xx']}, "
            f"failed cards {result['failed_cards']}; cores: {meter.summary()}"
        )
        results.append(result)
    # Beyond the pool: the same single instance under more concurrent dashboards.
    cluster.use_upstreams(1)
    failed = failed_cards(cluster)
    measured = wrk(url, user.token, seconds, OVERLOAD)
    overload = {
        "instances": 1,
        "connections": OVERLOAD,
        **measured,
        "failed_cards": failed_cards(cluster) - failed,
    }
    print(f"overload: {overload}")
    cluster.use_upstreams(len(cluster.apis))
    return [*results, overload]


# -- refresh wall time ---------------------------------------------------------------------


def cluster_settings(cluster: Cluster) -> Settings:
    """The settings the cluster's processes run with."""
    values = {
        name: cluster.env[name.upper()]
        for name in Settings.model_fields
        if name.upper() in cluster.env
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def seed(settings: Settings, symbols: list[str], rng: random.Random) -> int:
    """Bench users with random watchlists, plus Expert users covering every symbol; rows added."""
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    sessionmaker = create_sessionmaker(engine)
    now = utcnow()
    tier_of = {f"b{i}": rng.choice(TIER_MIX) for i in range(SEED_USERS)}
    step = LIMITS["expert"]
    covering = [symbols[i : i + step] for i in range(0, len(symbols), step)]
    tier_of |= {f"cover{i}": "expert" for i in range(len(covering))}
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(symbols))]
    async with sessionmaker() as session:
        await session.execute(
            insert(User),
            [
                {
                    "username": name,
                    "email": f"{name}@bench.test",
                    "password_hash": "x",
                    "subscription_tier": tier,
                    "role": "user",
                    "is_active": True,
                    "email_verified": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for name, tier in tier_of.items()
            ],
        )
        found = await session.execute(
            select(User.username, User.id).where(User.username.in_(tier_of))
        )
        ids = {name: user_id for name, user_id in found}
        rows = [
            {"user_id": ids[name], "symbol": symbol, "added_at": now}
            for name, tier in tier_of.items()
            if name.startswith("b")
            for symbol in set(rng.choices(symbols, weights=weights, k=rng.randint(1, LIMITS[tier])))
        ]
        rows += [
            {"user_id": ids[f"cover{i}"], "symbol": symbol, "added_at": now}
            for i, chunk in enumerate(covering)
            for symbol in chunk
        ]
        await session.execute(insert(UserStock), rows)
        await session.commit()
    await engine.dispose()
    return len(rows)


async def enqueue_cycle(settings: Settings) -> str:
    """Record a refresh_cycle job and put it on the broker, as the scheduler's tick does."""
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    broker = build_broker(settings)
    await broker.startup()
    try:
        job, _ = await JobQueue(JobStore(create_sessionmaker(engine)), broker).submit(
            JobKind.REFRESH_CYCLE, {}, dedup_key=f"bench-cycle:{uuid.uuid4()}"
        )
    finally:
        await broker.shutdown()
        await engine.dispose()
    return job.id


def timed_cycle(cluster: Cluster, settings: Settings) -> dict[str, Any]:
    """Enqueue one cycle; from the job's creation to its last batch's success."""
    assert cluster.loop is not None
    meter = CpuMeter(cluster, "worker").__enter__()
    cycle_id = cluster.loop.run(enqueue_cycle(settings))

    def finished() -> dict[str, Any] | None:
        cycle = cluster.jobs("refresh_cycle", id=cycle_id)[0]
        if cycle["status"] == "dead":
            raise RuntimeError(f"the refresh cycle died: {cycle['error']}")
        if cycle["status"] != "succeeded":
            return None
        batches = cluster.jobs("refresh_batch", parent_id=cycle_id)
        if any(b["status"] == "dead" for b in batches):
            raise RuntimeError("a refresh batch died")
        if len(batches) < cycle["result"]["batches"] or any(
            b["status"] != "succeeded" for b in batches
        ):
            return None
        return {"cycle": cycle, "batches": batches}

    done = wait_for(finished, "the refresh cycle", timeout=600, interval=0.05)
    meter.__exit__()
    cycle, batches = done["cycle"], done["batches"]
    last = max(b["finished_at"] for b in batches)
    return {
        "wall": (last - cycle["created_at"]).total_seconds(),
        "symbols": cycle["result"]["symbols"],
        "batches": len(batches),
        "refreshed": sum(len(b["result"]["refreshed"]) for b in batches),
        "failed": sum(len(b["result"]["failed"]) for b in batches),
        "workers_used": len({b["worker"] for b in batches}),
        "cpu_summary": meter.summary(),
    }


def expire_market_cache(cluster: Cluster) -> None:
    """Drop the cached quotes and histories (what CACHE_TTL expires between two cycles)."""
    client = cluster.redis()
    for kind in ("stock", "history"):
        keys = list(client.scan_iter(match=f"{cluster.key_prefix}:{kind}:*", count=1000))
        if keys:
            client.delete(*keys)


def refresh_scaling(cluster: Cluster, runs: int) -> list[dict[str, Any]]:
    """Timed cycles with 1 worker, then with 2."""
    settings = cluster_settings(cluster)
    results = []
    for workers in (1, 2):
        while len(cluster.workers) < workers:
            cluster.add_worker()
        last = timed_cycle(cluster, settings)  # untimed warm-up
        walls = []
        for _ in range(runs):
            expire_market_cache(cluster)
            last = timed_cycle(cluster, settings)
            walls.append(last["wall"])
        result = {**last, "workers": workers, "walls": walls, "wall": statistics.median(walls)}
        print(
            f"{workers} worker(s): {result['symbols']} symbols in {result['batches']} batches, "
            f"median {result['wall']:.2f}s over {walls}; cores (last run): {last['cpu_summary']}"
        )
        results.append(result)
    return results


# -- the report --------------------------------------------------------------------------------


def run(seconds: int = 10, runs: int = 3) -> str:
    """Measure and return the markdown section."""
    broker = "amqp" if not service_problems("amqp") else "redis"
    problems = service_problems(broker)
    if problems or shutil.which("wrk") is None:
        missing = problems + ([] if shutil.which("wrk") else ["wrk (apt-get install wrk)"])
        return f"Not measured: needs {'; '.join(missing)}."
    spec = ClusterSpec(
        broker=broker,
        apis=3,
        workers=1,
        schedulers=0,
        env={
            "REFRESH_BATCH_SIZE": str(BATCH_SIZE),
            "CACHE_TTL": "1800",  # the default: warm caches (the refresh drops them itself)
            "DB_POOL_SIZE": "10",
        },
    )
    symbols = universe()
    started = time.monotonic()
    with Cluster(spec) as cluster:
        dashboard = dashboard_throughput(cluster, symbols, seconds)
        assert cluster.loop is not None
        rows = cluster.loop.run(
            seed(cluster_settings(cluster), symbols, random.Random(7)), timeout=300
        )
        refresh = refresh_scaling(cluster, runs)
    took = time.monotonic() - started
    print(f"bench/scale.py took {took:.0f}s")
    return report(broker, dashboard, refresh, rows, seconds, runs)


def report(
    broker: str,
    dashboard: list[dict[str, Any]],
    refresh: list[dict[str, Any]],
    rows: int,
    seconds: int,
    runs: int,
) -> str:
    """The markdown section."""
    *measured, overload = dashboard
    base_rps, base_wall = measured[0]["rps"], refresh[0]["wall"]
    broker_name = "RabbitMQ" if broker == "amqp" else "Redis streams"
    cores = os.cpu_count() or 0
    busiest = max(measured, key=lambda r: sum(r["cpu"].values()))
    lines = [
        f"One machine with {cores} cores, one run: PostgreSQL, Redis, {broker_name}, nginx "
        "(1 worker process), the `stockdash` processes and the load generator all share "
        "those cores. Ratios are against the first row of each table, measured in the same run. "
        "*Cores used* is CPU time per wall second while measuring, per component "
        "(`stockdash` = the API instances, or the workers).",
        "",
        f"**Dashboard through nginx**: an Expert user with 20 stocks, `GET {DASHBOARD}`, "
        f"`wrk -t1 -c{CONNECTIONS} -d{seconds}s` after a 3 s warm-up (caches warm in every "
        "instance; CACHE_TTL 1800 s, Redis-backed). *Failed cards*: cards the instances logged "
        "as failed and answered as unavailable (inside 200 responses).",
        "",
        "| API instances | requests/s | vs 1 instance | p50 | p99 | non-2xx / socket errors "
        "| failed cards | cores used |",
        "|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    lines += [
        f"| {r['instances']} | {r['rps']:.1f} | {r['rps'] / base_rps:.2f}x | {r['p50']:.0f} ms "
        f"| {r['p99']:.0f} ms | {r['non_2xx']} / {r['socket_errors'] or 'none'} "
        f"| {r['failed_cards']:,} | {r['cpu_summary']} |"
        for r in measured
    ]
    total_cards = overload["requests"] * 20
    lines += [
        "",
        f"With {overload['connections']} connections on 1 instance: {overload['rps']:.1f} "
        f"requests/s, p50 {overload['p50']:.0f} ms, {overload['failed_cards']:,} of "
        f"{total_cards:,} cards failed"
        + (
            " (each card's cache reads share the instance's Redis connection pool)."
            if overload["failed_cards"]
            else "."
        ),
    ]
    lines += [
        "",
        f"**Refresh of the whole universe**: {SEED_USERS:,} users with random watchlists plus "
        f"Expert users covering every symbol ({rows:,} watchlist rows), REFRESH_BATCH_SIZE="
        f"{BATCH_SIZE}, WORKER_CONCURRENCY=4 per worker; wall time from the `refresh_cycle` "
        "job's creation to its last batch's success, median of "
        f"{runs} cycles after an untimed warm-up cycle, each fetching every quote and history "
        "again.",
        "",
        "| workers | symbols | batches | refreshed / failed | wall time (runs) | vs 1 worker "
        "| cores used (last run) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['workers']} | {r['symbols']} | {r['batches']} | {r['refreshed']} / {r['failed']} "
        f"| {r['wall']:.2f} s ({', '.join(f'{w:.2f}' for w in r['walls'])}) "
        f"| {base_wall / r['wall']:.2f}x faster | {r['cpu_summary']} |"
        for r in refresh
    ]
    lines += [
        "",
        "Reading it: each `stockdash serve` and each worker is one Python process (one event "
        "loop), so it uses at most about one core. On this machine a second process can add at "
        f"most one more core, and the {cores} cores also run wrk, nginx, PostgreSQL, Redis and "
        f"the broker; at most {cores}x is possible in principle and a third API instance can "
        "only help if the first two leave cores idle. The busiest dashboard run used "
        f"{sum(busiest['cpu'].values()):.2f} of {cores} cores in total: where that is well "
        "under the machine's cores, the limit is inside the request path, not the cores, and "
        "more instances cannot help. These figures show how the deployment behaves when scaled "
        "out on one small machine, not what more machines would give; anything else running on "
        "the machine moves them by tens of percent between runs, so compare rows of one run.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="timed refresh cycles per setup")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    body = run(args.duration, args.runs)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
