"""Run every benchmark and rewrite docs/benchmarks.md (`make bench`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from bench import analysts, refresh
from bench.common import write_section

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Analysts, refresh cycle, then the frontend budget when the frontend exists."""
    write_section("Analysts (bench/analysts.py)", analysts.run(3))
    write_section(
        "Refresh cycle (bench/refresh.py)",
        asyncio.run(refresh.main([1_000, 10_000, 100_000], None)),
    )
    if (ROOT / "frontend" / "package.json").exists():
        subprocess.run(["npm", "run", "bench"], cwd=ROOT / "frontend", check=True)
        write_section("Frontend budget (frontend/bench/budget.mjs)", frontend_section())


def frontend_section() -> str:
    """The frontend bench's last run as a markdown table."""
    run = json.loads((ROOT / "frontend" / "bench" / "last-run.json").read_text())
    js, dash = run["initial_route_js"], run["dashboard_20_stocks"]
    painted = dash.get("cards_painted_runs", [])
    return "\n".join(
        [
            "Production build served by a real `stockdash serve` on a temp SQLite database; Debian Chromium "
            "driven by Playwright; an expert user with 20 stocks, cold page load each run.",
            "",
            "| metric | value | budget |",
            "|---|---:|---:|",
            f"| initial-route JS, gzipped | {js['gzip_bytes'] / 1000:.1f} kB ({len(js['files'])} files) | ≤ 350 kB |",
            f"| dashboard with 20 stocks: every card scored (interactive) | median {dash['median_ms']} ms (runs {', '.join(map(str, dash['runs']))}) | ≤ 1,500 ms |",
            f"| dashboard with 20 stocks: cards painted from /watchlist | median {sorted(painted)[len(painted) // 2] if painted else 'n/a'} ms | n/a |",
        ]
    )


if __name__ == "__main__":
    main()
