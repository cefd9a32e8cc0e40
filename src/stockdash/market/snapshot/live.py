"""Rebuild the offline snapshot from a live provider (Polygon, SEC EDGAR) when a network and key exist.

The shipped snapshot is the base and the live data is merged into it, never swapped in wholesale:

* quote: the live fields that have a value replace the shipped ones; fields the provider does not
  report (P/E, market cap, 52-week range ...) keep the shipped values;
* history: live bars replace the shipped bars from the first common day on; the shipped older bars
  are rescaled onto the live series by the median close ratio over the first common days (the same
  seam rule as the build), so 16 years are not cut to a free plan's two; missing open/high/low/
  volume stay null, never a copy of the close; without a common day the shipped history is kept;
* fundamentals: per fiscal year and field, live values replace shipped ones, credited to the
  provider; years and fields the provider lacks keep the shipped values and their sources.

Whatever the provider fails on keeps the shipped data, so a partial outage never loses anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from stockdash.market.snapshot.build import DATA_DIR, history_path, write_gz_json
from stockdash.market.snapshot.ohlcv import Frame, frame, history_payload, join_segments
from stockdash.market.snapshot.provider import read_gz
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


def quote_row(quote: Quote, shipped: dict[str, Any] | None = None) -> dict[str, Any]:
    """A live quote merged over the shipped quote row: live values win, missing ones are kept."""
    live = dataclasses.asdict(quote)
    live.pop("symbol", None)
    live["as_of"] = quote.as_of.isoformat()
    row = dict(shipped or {})
    row.update({k: v for k, v in live.items() if v is not None})
    row["source"] = quote.source
    row["price_source"] = quote.source
    if quote.price is not None:
        row["note"] = None
    return row


def bars_frame(bars: list[Bar]) -> Frame:
    """A frame of live bars (missing open/high/low/volume stay None)."""
    return frame((b.date, b.open, b.high, b.low, b.close, b.volume) for b in bars)


def shipped_frame(payload: dict[str, Any]) -> Frame:
    """The frame of a shipped history file."""
    day = date.fromisoformat(payload["start"])
    closes = payload["c"]
    none = [None] * len(closes)
    rows = []
    for delta, o, h, lo, c, v in zip(
        payload["d"],
        payload.get("o", none),
        payload.get("h", none),
        payload.get("l", none),
        closes,
        payload.get("v", none),
        strict=True,
    ):
        day += timedelta(days=delta)
        rows.append((day, o, h, lo, c, None if v is None else float(v)))
    return frame(rows)


def merged_history(live: list[Bar], shipped: dict[str, Any] | None) -> dict[str, Any] | None:
    """Live bars with the shipped older bars rescaled onto them, or None when they share no day."""
    live_frame = bars_frame(live)
    if shipped is None:
        return history_payload(live_frame)
    joined, seams = join_segments([("live", live_frame), ("shipped", shipped_frame(shipped))])
    if not seams:
        return None
    return history_payload(joined)


def fundamentals_rows(
    years: list[FundamentalsYear], provider: str, shipped: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Live fundamentals merged over the shipped rows per fiscal year and field."""
    by_year = {r["fy"]: dict(r, src=dict(r.get("src") or {})) for r in shipped or []}
    for y in years:
        values = {
            k: v
            for k, v in dataclasses.asdict(y).items()
            if k
            not in {"fiscal_year", "period_end", "filed", "filed_estimated", "source", "sources"}
        }
        row = by_year.setdefault(
            y.fiscal_year, {"fy": y.fiscal_year, "src": {}, **dict.fromkeys(values)}
        )
        row.update(
            {
                "end": y.period_end.isoformat(),
                "filed": y.filed.isoformat(),
                "filed_estimated": y.filed_estimated,
            }
        )
        for key, value in values.items():
            if value is not None:
                row[key] = value
                row["src"][key] = provider
    return [by_year[fy] for fy in sorted(by_year)]


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
    universe = read_gz(base_dir / "universe.json.gz")
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
            if symbol in rows and quote.price is not None:
                rows[symbol]["quote"] = quote_row(quote, rows[symbol].get("quote"))
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
    if not bars:
        return
    path = history_path(out_dir, symbol)
    shipped = read_gz(path) if row.get("has_history") and path.is_file() else None
    merged = merged_history(bars, shipped)
    if merged is None:
        report.failed[symbol] = "history: live bars share no day with the shipped history; kept it"
        return
    write_gz_json(path, merged)
    row["has_history"] = True
    row["history"] = {
        "kind": "ohlcv",
        "source": provider.name,
        "note": f"Live {provider.name} bars merged over the shipped history (rescaled at the seam).",
    }
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
        row["fundamentals"] = fundamentals_rows(years, provider.name, row.get("fundamentals"))
        report.replaced["fundamentals"] = report.replaced.get("fundamentals", 0) + 1
