"""Run every benchmark and rewrite docs/benchmarks.md (`make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

from bench import analysts, events, http, refresh, scale
from bench.common import write_section

ROOT = Path(__file__).resolve().parents[1]
LAST_RUN = ROOT / "frontend" / "bench" / "last-run.json"


def main(argv: list[str] | None = None) -> None:
    """Analysts, refresh cycle, scale-out, HTTP endpoints, then the frontend budget; exits 1 if
    an HTTP target or a frontend budget is missed (after every section is written)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--frontend-only", action="store_true", help="only the frontend budget section"
    )
    args = parser.parse_args(argv)
    missed: list[str] = []
    if not args.frontend_only:
        write_section("Analysts (bench/analysts.py)", analysts.run(3))
        write_section(
            "Refresh cycle (bench/refresh.py)",
            asyncio.run(refresh.main([1_000, 10_000, 100_000], None)),
        )
        write_section(scale.SECTION, scale.run())
        write_section(events.SECTION, events.render(events.measure(1000, 5)))
        body, ok = http.run()
        write_section(http.SECTION, body)
        if not ok:
            missed.append("HTTP endpoint targets missed or not measured (bench/http.py)")
    if (ROOT / "frontend" / "package.json").exists():
        # The section is written whatever the outcome, so a miss is recorded, then reported.
        before = LAST_RUN.stat().st_mtime_ns if LAST_RUN.exists() else None
        run = subprocess.run(["npm", "run", "bench"], cwd=ROOT / "frontend", check=False)
        fresh = LAST_RUN.exists() and LAST_RUN.stat().st_mtime_ns != before
        body = (
            frontend_section(load_frontend_run())
            if fresh
            else f"Not measured: `npm run bench` exited {run.returncode} before writing results."
        )
        write_section(FRONTEND_SECTION, body)
        if run.returncode != 0:
            missed.append(
                f"frontend budget missed or not measured (npm run bench exit {run.returncode})"
            )
    if missed:
        raise SystemExit("; ".join(missed))


FRONTEND_SECTION = "Frontend budget (frontend/bench/budget.mjs)"


def load_frontend_run() -> dict[str, Any]:
    """The frontend bench's last run (frontend/bench/last-run.json)."""
    data: dict[str, Any] = json.loads(LAST_RUN.read_text())
    return data


def _ms(value: object) -> str:
    return f"{value:,} ms" if isinstance(value, int | float) else "n/a"


def frontend_section(run: dict[str, Any]) -> str:
    """One frontend bench run as a markdown table, saying exactly what was measured."""
    js = run["initial_route_js"]
    dash = run["dashboard_20_stocks"]
    budget = _ms(dash["budget_ms"])
    verdict = {True: "pass", False: "**FAIL**"}
    lines = [
        "Production build served by a real `stockdash serve` (the embedded default: SQLite, offline "
        "snapshot) on a temp database; Debian Chromium driven by Playwright at 1280x900; an Expert "
        "user with 20 stocks. 1 kB = 1000 bytes. Times are read in the page (`performance.now()`, "
        "from navigation start) at the first animation frame where the condition holds: *cards "
        "painted* = the first card is on screen (from `/watchlist`); *interactive* = all 20 stocks "
        "have their consensus score from `/dashboard` and every card the virtualised list has "
        "mounted shows its quote and scores. *Cold* = the first load after the server started and "
        "the stocks were added (nothing computed for them yet); *warm* = further loads, each in a "
        "fresh browser context (empty browser cache), server caches warm. The time budget applies "
        "to both the cold load and the warm median.",
        "",
        "| metric | value | budget | result |",
        "|---|---:|---:|---|",
        f"| initial-route JS, gzipped | {js['gzip_bytes'] / 1000:.1f} kB ({len(js['files'])} files) "
        f"| ≤ {js['budget_kb']} kB | {verdict[bool(js['pass'])]} |",
    ]
    if "error" in dash:
        lines.append(
            f"| dashboard with 20 stocks interactive | not measured: {dash['error']} "
            f"| ≤ {budget} | **FAIL** |"
        )
        return "\n".join(lines)
    cold, warm = dash["cold"], dash["warm"]
    runs = ", ".join(str(x) for x in warm["interactive_runs_ms"])
    lines += [
        f"| dashboard with 20 stocks interactive, cold first load | {_ms(cold['interactive_ms'])} "
        f"| ≤ {budget} | {verdict[bool(cold['pass'])]} |",
        f"| dashboard with 20 stocks interactive, warm (median of {warm['runs']}: {runs}) "
        f"| {_ms(warm['interactive_median_ms'])} | ≤ {budget} "
        f"| {verdict[bool(warm['pass'])]} |",
        f"| cards painted, cold / warm median | {_ms(cold['painted_ms'])} / "
        f"{_ms(warm['painted_median_ms'])} | n/a | |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
