"""Rebuild the offline snapshot from a live provider (Polygon, SEC EDGAR) when a network and key exist.

The shipped snapshot is the base: whatever the live provider returns replaces the matching part of a
symbol (quote, history, fundamentals) and is credited to that provider; whatever it lacks or fails on
keeps the shipped data, so a partial outage never loses anything.
"""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from stockdash.market.snapshot.build import DATA_DIR, history_path, write_gz_json
from stockdash.market.types import Bar, FundamentalsYear, MarketDataProvider, ProviderError, Quote

Endpoint = str
Progress = Callable[[str, int, int], None]
QUOTE_BATCH = 100
HISTORY_YEARS = 16

# What each live provider can supply (EDGAR is a fundamentals source only).
PROVIDER_ENDPOINTS: dict[str, tuple[Endpoint, ...]] = {
    "polygon": ("quote", "history", "fundamentals"),
    "edgar": ("fundamentals",),
}


@dataclass
class LiveReport:
    """What a live rebuild replaced and what it kept."""

    provider: str
    symbols: int = 0
    replaced: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def quote_row(quote: Quote) -> dict[str, Any]:
    """A live quote in the snapshot's JSON row format."""
    row = dataclasses.asdict(quote)
    row["as_of"] = quote.as_of.isoformat()
    row["price_source"] = quote.source
    return row


def history_row(bars: list[Bar]) -> dict[str, Any]:
    """Live bars in the snapshot's compact history format (start date + day deltas)."""
    dates = [b.date for b in bars]
    return {
        "start": dates[0].isoformat(),
        "d": [0] + [(b - a).days for a, b in itertools.pairwise(dates)],
        "o": [round(b.open if b.open is not None else b.close, 4) for b in bars],
        "h": [round(b.high if b.high is not None else b.close, 4) for b in bars],
        "l": [round(b.low if b.low is not None else b.close, 4) for b in bars],
        "c": [round(b.close, 4) for b in bars],
        "v": [round(b.volume or 0) for b in bars],
    }


def fundamentals_rows(years: list[FundamentalsYear], provider: str) -> list[dict[str, Any]]:
    """Live fundamentals in the snapshot's JSON row format, every value credited to the provider."""
    rows = []
    for y in years:
        values = {
            k: v
            for k, v in dataclasses.asdict(y).items()
            if k not in {"fiscal_year", "period_end", "filed", "filed_estimated", "source"}
        }
        rows.append(
            {
                "fy": y.fiscal_year,
                "end": y.period_end.isoformat(),
                "filed": y.filed.isoformat(),
                "filed_estimated": y.filed_estimated,
                **values,
                "src": {k: provider for k, v in values.items() if v is not None},
            }
        )
    return rows


def _read_gz(path: Path) -> Any:
    with gzip.open(path, "rt") as fh:
        return json.load(fh)


async def rebuild_from_provider(
    provider: MarketDataProvider,
    *,
    base_dir: Path = DATA_DIR,
    out_dir: Path = DATA_DIR,
    symbols: list[str] | None = None,
    endpoints: tuple[Endpoint, ...] | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> LiveReport:
    """Refresh the snapshot in out_dir from a live provider, keeping base_dir's data where it fails."""
    step: Progress = progress or (lambda _s, _d, _t: None)
    wanted = endpoints or PROVIDER_ENDPOINTS.get(
        provider.name, ("quote", "history", "fundamentals")
    )
    universe = _read_gz(base_dir / "universe.json.gz")
    rows: dict[str, dict[str, Any]] = universe["symbols"]
    targets = [s for s in (symbols or sorted(rows)) if s in rows]
    report = LiveReport(provider=provider.name, symbols=len(targets))
    _copy_unchanged_histories(base_dir, out_dir, rows)
    if "quote" in wanted:
        await _replace_quotes(provider, targets, rows, report, step)
    day = today or datetime.now(UTC).date()
    for n, symbol in enumerate(targets, 1):
        step("history and fundamentals", n, len(targets))
        if "history" in wanted:
            await _replace_history(provider, symbol, rows[symbol], out_dir, day, report)
        if "fundamentals" in wanted:
            await _replace_fundamentals(provider, symbol, rows[symbol], report)
    universe["as_of"] = (
        max(universe["as_of"], day.isoformat()) if report.replaced else universe["as_of"]
    )
    universe["sources"] = [s for s in universe["sources"] if s.get("id") != provider.name] + [
        {
            "id": provider.name,
            "title": f"live {provider.name} data fetched {day.isoformat()}",
            "licence": "the provider's terms of use",
            "url": "",
            "used_for": ", ".join(wanted),
        }
    ]
    write_gz_json(out_dir / "universe.json.gz", universe)
    return report


def _copy_unchanged_histories(
    base_dir: Path, out_dir: Path, rows: dict[str, dict[str, Any]]
) -> None:
    if base_dir.resolve() == out_dir.resolve():
        return
    for symbol, row in rows.items():
        if row.get("has_history"):
            history_path(out_dir, symbol).write_bytes(history_path(base_dir, symbol).read_bytes())
    key_stats = base_dir / "daily_key_stats.json.gz"
    if key_stats.is_file():
        (out_dir / key_stats.name).write_bytes(key_stats.read_bytes())


async def _replace_quotes(
    provider: MarketDataProvider,
    targets: list[str],
    rows: dict[str, dict[str, Any]],
    report: LiveReport,
    step: Progress,
) -> None:
    for start in range(0, len(targets), QUOTE_BATCH):
        batch = targets[start : start + QUOTE_BATCH]
        step("quotes", start, len(targets))
        try:
            quotes = await provider.quote(batch)
        except ProviderError as exc:
            report.failed.update({s: f"quote: {exc}" for s in batch})
            continue
        for symbol, quote in quotes.items():
            if symbol in rows:
                rows[symbol]["quote"] = quote_row(quote)
                report.replaced["quote"] = report.replaced.get("quote", 0) + 1


async def _replace_history(
    provider: MarketDataProvider,
    symbol: str,
    row: dict[str, Any],
    out_dir: Path,
    day: date,
    report: LiveReport,
) -> None:
    try:
        bars = await provider.history(symbol, day - timedelta(days=365 * HISTORY_YEARS), day)
    except ProviderError as exc:
        report.failed[symbol] = f"history: {exc}"
        return
    if bars:
        write_gz_json(history_path(out_dir, symbol), history_row(bars))
        row["has_history"] = True
        report.replaced["history"] = report.replaced.get("history", 0) + 1


async def _replace_fundamentals(
    provider: MarketDataProvider, symbol: str, row: dict[str, Any], report: LiveReport
) -> None:
    try:
        years = await provider.fundamentals(symbol)
    except ProviderError as exc:
        report.failed[symbol] = f"fundamentals: {exc}"
        return
    if years:
        row["fundamentals"] = fundamentals_rows(years, provider.name)
        report.replaced["fundamentals"] = report.replaced.get("fundamentals", 0) + 1
