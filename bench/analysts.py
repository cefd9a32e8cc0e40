"""All snapshot symbols x the four analysts: median time per symbol-model and for the whole universe.

Run: `.venv/bin/python -m bench.analysts [--repeat 3]`. Data comes from the offline snapshot and is
loaded before timing; the market context (sector medians, equal-weight index) is built once and
timed separately, as the service does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.common import write_section
from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.context import build_market_context
from stockdash.analysis.metrics import compute_metrics
from stockdash.analysis.service import ALL_MODELS
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import StockData


async def load_universe(snapshot: SnapshotProvider) -> list[StockData]:
    """Every snapshot symbol with its history and fundamentals."""
    quotes, profiles = snapshot.universe_quotes(), snapshot.universe_profiles()
    return [
        StockData(
            profile=profiles[s],
            quote=quotes[s],
            history=await snapshot.history(s, None, None),
            fundamentals=await snapshot.fundamentals(s),
        )
        for s in sorted(quotes)
    ]


def run(repeat: int) -> str:
    snapshot = SnapshotProvider()
    stocks = asyncio.run(load_universe(snapshot))
    started = time.perf_counter()
    ctx = build_market_context(stocks, 0.042, 0.05, as_of=snapshot.as_of())
    context_seconds = time.perf_counter() - started
    per_model: dict[str, list[float]] = {m: [] for m in ALL_MODELS}
    metrics_times: list[float] = []
    universe_times: list[float] = []
    for _ in range(repeat):
        universe_started = time.perf_counter()
        for data in stocks:
            t0 = time.perf_counter()
            figures = compute_metrics(data, ctx.index_returns)
            metrics_times.append(time.perf_counter() - t0)
            for model in ALL_MODELS:
                t1 = time.perf_counter()
                run_analyst(model, data, ctx, None, figures)
                per_model[model].append(time.perf_counter() - t1)
        universe_times.append(time.perf_counter() - universe_started)
    with_history = sum(1 for s in stocks if s.history)
    ms = 1000.0
    lines = [
        f"{len(stocks)} symbols ({with_history} with daily history) x {len(ALL_MODELS)} models, "
        f"{repeat} passes; median over all symbol-model runs.",
        "",
        "| step | median | p95 | max |",
        "|---|---:|---:|---:|",
        _row("shared metrics (once per symbol)", metrics_times, ms),
    ]
    lines += [_row(f"analyst `{m}` (given metrics)", t, ms) for m, t in per_model.items()]
    lines += [
        "",
        f"- Whole universe, all four models including the shared metrics: median {statistics.median(universe_times):.2f} s per pass "
        f"({statistics.median(universe_times) / len(stocks) * ms:.2f} ms per symbol).",
        f"- Market context (sector P/E medians + equal-weight index over the universe), built once: {context_seconds:.2f} s.",
    ]
    return "\n".join(lines)


def _row(name: str, samples: list[float], scale: float) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"| {name} | {statistics.median(ordered) * scale:.3f} ms | {p95 * scale:.3f} ms | {ordered[-1] * scale:.3f} ms |"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Do not update docs/benchmarks.md")
    args = parser.parse_args()
    body = run(args.repeat)
    print(body)
    if not args.no_write:
        write_section("Analysts (bench/analysts.py)", body)
