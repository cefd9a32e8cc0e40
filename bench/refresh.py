"""One refresh cycle for 1,000 / 10,000 / 100,000 users: provider calls, wall time, peak memory.

Users track random overlapping watchlists (within their tier's limit) over the snapshot's symbols.
The provider is the offline snapshot wrapped in a call counter, so the figures measure our pipeline,
not a network. Each size is seeded in one subprocess and measured in a fresh one, so its peak
memory is its own (a process's peak RSS only grows, and seeding 100,000 users is not the cycle).
Run: `.venv/bin/python -m bench.refresh [--users 1000 10000 100000] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.common import write_section
from stockdash.analysis.service import AnalysisService
from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker, utcnow
from stockdash.core.migrate import upgrade
from stockdash.jobs.refresh import run_refresh_cycle
from stockdash.market.cache import MemoryCache
from stockdash.market.counting import CountingProvider
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.storage.sql import sessions_storage
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock

LIMITS = {"free": 5, "pro": 10, "expert": 20}
TIER_MIX = ["free"] * 7 + ["pro"] * 2 + ["expert"]  # a plausible free-heavy mix


async def seed(url: str, users: int, symbols: list[str], rng: random.Random) -> int:
    """Insert users and their watchlists in bulk; the number of watchlist rows."""
    engine = create_engine(url)
    sm = create_sessionmaker(engine)
    now = utcnow()
    rows = 0
    # Popularity is skewed like real watchlists: weights favour the biggest companies.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(symbols))]
    async with sm() as session:
        for start in range(0, users, 5000):
            batch = range(start, min(users, start + 5000))
            tiers = {i: rng.choice(TIER_MIX) for i in batch}
            await session.execute(
                insert(User),
                [
                    {
                        "username": f"b{i}",
                        "email": f"b{i}@bench.test",
                        "password_hash": "x",
                        "subscription_tier": tiers[i],
                        "role": "user",
                        "is_active": True,
                        "email_verified": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in batch
                ],
            )
            stocks = [
                {"user_id": i + 1, "symbol": s, "added_at": now}
                for i in batch
                for s in set(
                    rng.choices(symbols, weights=weights, k=rng.randint(1, LIMITS[tiers[i]]))
                )
            ]
            await session.execute(insert(UserStock), stocks)
            rows += len(stocks)
        await session.commit()
    await engine.dispose()
    return rows


def rss_mib() -> float:
    """This process's peak resident set size so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(users: int, url: str) -> dict[str, Any]:
    """One cold refresh cycle in this (fresh) process over an already seeded database."""
    snapshot = SnapshotProvider()
    engine = create_engine(url)
    sm = create_sessionmaker(engine)
    provider = CountingProvider(snapshot)
    market = MarketService(provider, snapshot, cache=MemoryCache(), sessionmaker=sm)
    analysis = AnalysisService.from_settings(market, Settings.model_construct())
    await analysis.context()  # built once per process from the snapshot; not part of a cycle
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM user_stocks"))).scalar_one()
    before = rss_mib()
    started = time.perf_counter()
    report = await run_refresh_cycle(sessions_storage(sm), market, analysis)
    wall = time.perf_counter() - started
    await engine.dispose()
    return {
        "users": users,
        "rows": rows,
        "symbols": report.symbols,
        "quote_calls": len(provider.batches),
        "other_calls": sum(n for (e, _), n in provider.calls.items() if e != "quote"),
        "analyses": report.analyses,
        "wall": wall,
        "rss_before_mib": before,
        "peak_mib": rss_mib(),
    }


def _child(mode: str, users: int, url: str) -> dict[str, Any]:
    """Run one step (seed or measure) in a fresh interpreter and return its JSON result."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.refresh",
            "--child",
            mode,
            "--users",
            str(users),
            "--database-url",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def child(mode: str, users: int, url: str) -> dict[str, Any]:
    """The body of a child process."""
    if mode == "seed":
        snapshot = SnapshotProvider()
        quotes = snapshot.universe_quotes()
        symbols = sorted(quotes, key=lambda s: -(quotes[s].market_cap or 0))
        return {"rows": await seed(url, users, symbols, random.Random(users))}
    return await measure(users, url)


async def main(users_list: list[int], database_url: str | None) -> str:
    results = []
    for users in users_list:
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            if database_url:
                await _reset(database_url)
            await asyncio.to_thread(upgrade, url)
            await asyncio.to_thread(_child, "seed", users, url)
            result = await asyncio.to_thread(_child, "measure", users, url)
        results.append(result)
        print(
            f"{users:>7} users: {result['symbols']} symbols, {result['quote_calls']} quote call(s), "
            f"{result['other_calls']} other calls, {result['wall']:.2f}s, "
            f"RSS {result['rss_before_mib']:.1f} MiB before, peak {result['peak_mib']:.1f} MiB"
        )
    backend = "PostgreSQL" if database_url else "SQLite"
    lines = [
        f"One cold cycle (empty cache) on {backend}, offline snapshot behind a call counter, "
        "analyses for each symbol's highest tracking tier. Each size is seeded in its own process "
        "and measured in a fresh one: *RSS before* is that process after loading the snapshot and "
        "building the analysis context, *peak* its maximum resident set size by the end of the cycle.",
        "",
        "| users | watchlist rows | distinct symbols | quote calls (batched) | history+fundamentals+profile calls | analyses | wall time | RSS before | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['users']:,} | {r['rows']:,} | {r['symbols']} | {r['quote_calls']} | {r['other_calls']} | "
        f"{r['analyses']} | {r['wall']:.2f} s | {r['rss_before_mib']:.1f} MiB | {r['peak_mib']:.1f} MiB |"
        for r in results
    ]
    lines += [
        "",
        "Provider calls depend only on the distinct symbols (at most 3 per symbol plus one quote batch per 100 symbols), never on the number of users.",
    ]
    return "\n".join(lines)


async def _reset(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (its public schema is wiped!)"
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update docs/benchmarks.md")
    parser.add_argument("--child", choices=["seed", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.users[0], args.database_url))))
        sys.exit(0)
    body = asyncio.run(main(args.users, args.database_url))
    if not args.no_write:
        write_section("Refresh cycle (bench/refresh.py)", body)
