"""Build the offline market-data snapshot (stockdash/market/data) from the shared source folders.

Rules applied (kept here and in docs/data-sources.md so the shipped numbers can be audited):

* Canonical symbol is the S&P style of ticker-metadata (``BRK.B``); Yahoo-style file names
  (``BRK-B``) are mapped through its ``yahoo_symbol`` column. Only the 503 index members ship.
  Renamed members are found by company name in the latest key-financials file (BNY was BK, MRSH was
  MMC, FISV was FI) and their data under the old ticker is used.
* OHLCV join (``ohlcv.py``): segments are joined newest first; an older segment is rescaled by the
  median newer/older close ratio over the first five common days (the seam) and only its days
  before the seam are used. A single-day spike (close >= 1.6x or <= 1/1.6x both neighbours) is a
  source glitch and dropped. After the last OHLCV day, published key-financials closes are appended
  as close-only bars when they agree with the last OHLCV close.
* Close-only history: a symbol without OHLCV gets the closes of the contiguous daily run of the key
  financials (2026-05 onward), split-adjusted within the run (``keystats.py``).
* Quotes: the newest real close, from the key financials (a row's close belongs to the last trading
  day before its publication date; stale repeats do not renew it) or the last OHLCV close, whichever
  is newer; ``as_of`` is that close's date. No price is ever invented: without one, price and every
  price-derived field is null and the quote carries a note.
* Fundamentals (``fundamentals.py``): annual periods only; SEC > yfinance 2021-2026q > yfinance
  snapshot 2026-09 per field; shares and EPS split-adjusted onto today's basis; every value not taken
  as reported from the SEC set names its source in the row's ``src`` map.
* Filing dates are estimated: ``filed = period_end + 75 days``, ``filed_estimated = True``.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from stockdash.market.snapshot.fundamentals import MarketShares, build_fundamentals
from stockdash.market.snapshot.keystats import (
    DAILY_FILE,
    KEY_DIR,
    LATEST_FILE,
    KeyRow,
    daily_run_start,
    find_aliases,
    merged_rows,
    priced_rows,
    read_rows,
    split_adjusted_closes,
    split_events,
    trading_calendar,
)
from stockdash.market.snapshot.ohlcv import (
    Frame,
    Seam,
    append_closes,
    close_frame,
    drop_spikes,
    history_payload,
    load_history,
    r4,
)

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

FUND_FOLDERS = (
    "fundamentals-sec-annual",
    "fundamentals-yfinance-2021-2026q",
    "fundamentals-yfinance-snapshot-2026-09",
)
PUBLISHED = date(2026, 8, 22)
EXTEND_TOLERANCE = 0.002
MAX_QUOTE_AGE_DAYS = 365
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

SOURCES: list[dict[str, str]] = [
    {
        "id": "ticker-metadata",
        "title": "S&P 500 ticker metadata (constituents joined with SEC company_tickers_exchange)",
        "url": "https://www.sec.gov/files/company_tickers_exchange.json",
        "licence": "SEC public data; constituents ODC-PDDL-1.0",
        "used_for": "profiles: name, sector, industry, exchange, CIK",
    },
    {
        "id": "sp500-daily-financials",
        "title": "datasets/s-and-p-500-companies-financials (Yahoo Finance key financials)",
        "url": "https://github.com/datasets/s-and-p-500-companies-financials",
        "licence": "ODC-PDDL-1.0",
        "used_for": "quotes and key stats (closes to 2026-08-21); daily closes, P/E, EPS; close-only history for symbols without OHLCV; renamed tickers (BK, MMC, FI)",
    },
    {
        "id": "ohlcv-daily-2010-2025",
        "title": "leon7786/20260316Backtesting data/ (Yahoo Finance via yfinance, adjusted)",
        "url": "https://github.com/leon7786/20260316Backtesting",
        "licence": "none stated; Yahoo terms apply",
        "used_for": "daily history 2010-2025 (25 large caps)",
    },
    {
        "id": "ohlcv-daily-2023-2026",
        "title": "itaiclaw-maker/sma150-simulator data/ (Yahoo Finance via yfinance, adjusted)",
        "url": "https://github.com/itaiclaw-maker/sma150-simulator",
        "licence": "none stated; Yahoo terms apply",
        "used_for": "daily history 2023-01 .. 2026-02",
    },
    {
        "id": "ohlcv-daily-recent-2025-2026",
        "title": "wudn9922/my-stock-screener data/ (Yahoo Finance via yfinance)",
        "url": "https://github.com/wudn9922/my-stock-screener",
        "licence": "none stated; Yahoo terms apply",
        "used_for": "daily history 2025-10 .. 2026-08-20",
    },
    {
        "id": "fundamentals-sec-annual",
        "title": "joshuakeum9-cell/plainsight data/fundamentals (SEC EDGAR XBRL companyfacts)",
        "url": "https://github.com/joshuakeum9-cell/plainsight",
        "licence": "none stated; SEC public filings data",
        "used_for": "annual fundamentals FY2015 .. FY2026",
    },
    {
        "id": "fundamentals-yfinance-2021-2026q",
        "title": "yfeng0206/StockTradeAgent data/fundamentals (Yahoo Finance via yfinance)",
        "url": "https://github.com/yfeng0206/StockTradeAgent",
        "licence": "MIT; Yahoo terms apply",
        "used_for": "total debt, D&A and gaps in annual fundamentals FY2021 .. FY2025",
    },
    {
        "id": "fundamentals-yfinance-snapshot-2026-09",
        "title": "marcomazzon27-prog/analyst-snapshot data/fundamentals (XOM, BRK-B, AAPL)",
        "url": "https://github.com/marcomazzon27-prog/analyst-snapshot",
        "licence": "none stated; Yahoo terms apply",
        "used_for": "XOM and BRK.B fundamentals gaps FY2022 .. FY2025",
    },
]


@dataclass(slots=True)
class BuildReport:
    """Counts of what a snapshot build produced."""

    symbols: int = 0
    with_history: int = 0
    with_close_history: int = 0
    with_fundamentals: int = 0
    as_of: date | None = None
    no_price: list[str] = field(default_factory=list)
    older_price: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    seams: dict[str, list[Seam]] = field(default_factory=dict)


def _read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _load_json(path: Path) -> Row | None:
    """Parse a JSON file, or None when it does not exist."""
    if not path.is_file():
        return None
    data: Row = json.loads(path.read_text())
    return data


def write_gz_json(path: Path, payload: object) -> None:
    """Write compact, deterministic gzipped JSON (NaN/inf rejected)."""
    raw = json.dumps(payload, separators=(",", ":"), allow_nan=False, sort_keys=True).encode()
    with path.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(raw)


def history_path(out_dir: Path, symbol: str) -> Path:
    """Shipped history file of one canonical symbol (flat, so package-data globs catch it)."""
    return out_dir / f"history-{symbol}.json.gz"


# --- quotes ----------------------------------------------------------------------------------


def _price_fields(price: float | None, prev: float | None) -> Row:
    """Price, previous close and the day's change (absolute and in percent), rounded."""
    change = price - prev if price is not None and prev else None
    return {
        "price": r4(price),
        "previous_close": r4(prev),
        "change": r4(change),
        "change_percent": r4(change / prev * 100) if change is not None and prev else None,
    }


def _quote_from_key_row(row: KeyRow, previous: KeyRow | None, label: str) -> Row:
    """Quote JSON row from the published key financials of one close."""
    return {
        **_price_fields(row.price, previous.price if previous is not None else None),
        "volume": None,
        "market_cap": row.market_cap,
        "pe_ratio": r4(row.pe_ratio),
        "eps": row.eps,
        "dividend_yield": row.dividend_yield,
        "week52_high": row.week52_high,
        "week52_low": row.week52_low,
        "ebitda": row.ebitda,
        "price_to_sales": r4(row.price_to_sales),
        "price_to_book": r4(row.price_to_book),
        "as_of": row.price_date.isoformat(),
        "source": "snapshot",
        "price_source": label,
        "note": None,
    }


def _empty_quote(as_of: date, note: str) -> Row:
    """Quote JSON row without any price (nothing is invented)."""
    keys = [
        "price",
        "previous_close",
        "change",
        "change_percent",
        "volume",
        "market_cap",
        "pe_ratio",
        "eps",
        "dividend_yield",
        "week52_high",
        "week52_low",
        "ebitda",
        "price_to_sales",
        "price_to_book",
    ]
    return {
        **dict.fromkeys(keys),
        "as_of": as_of.isoformat(),
        "source": "snapshot",
        "price_source": None,
        "note": note,
    }


def build_quote(
    key_rows: Sequence[KeyRow],
    history: Frame | None,
    history_label: str | None,
    published: date,
    own_ticker: str = "",
) -> Row:
    """The newest real close: key financials or the last OHLCV day, whichever is newer."""
    priced = priced_rows(key_rows)
    last = priced[-1] if priced else None
    if last is not None and (published - last.price_date).days > MAX_QUOTE_AGE_DAYS:
        stale = last.price_date
        priced, last = [], None
    else:
        stale = None
    if (
        history is not None
        and history.dates
        and (last is None or history.dates[-1] > last.price_date)
    ):
        c = history.close
        quote = _empty_quote(history.dates[-1], "")
        quote |= {
            **_price_fields(c[-1], c[-2] if len(c) >= 2 else None),
            "volume": history.volume[-1],
            "price_source": f"{history_label}: last close",
            "note": "No key statistics are published for this symbol; price is the last daily close.",
        }
        return quote
    if last is None:
        if stale is not None:
            return _empty_quote(
                published,
                f"No current price in the offline data: the last published close is from "
                f"{stale.isoformat()}, too old to quote, and there is no daily price history.",
            )
        return _empty_quote(
            published,
            "No price in the offline data: the symbol is absent from the key financials and has "
            "no daily price history.",
        )
    return _quote_from_key_row(
        last, priced[-2] if len(priced) >= 2 else None, _key_label(last.ticker, own_ticker)
    )


def _key_label(ticker: str, own_ticker: str) -> str:
    """Source label of a key-financials figure (naming the old ticker of a renamed member)."""
    label = "sp500-daily-financials"
    return label if ticker == own_ticker else f"{label} (published as {ticker})"


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """One symbol's shipped history and how it was made."""

    frame: Frame
    kind: str  # "ohlcv" or "close"
    label: str
    note: str
    seams: list[Seam]


def _ohlcv_note(seams: Sequence[Seam]) -> str:
    """How a joined OHLCV series is adjusted."""
    printed = [
        s for s in seams if s.newer.startswith("ohlcv-daily-recent-2025-2026/") and not s.steady
    ]
    if printed:
        day = printed[0].first_common.isoformat()
        return (
            f"Split- and dividend-adjusted to {day}; printed prices from {day} "
            "(later dividends not adjusted)."
        )
    return "Split- and dividend-adjusted (Yahoo Finance)."


def build_history(
    source_dir: Path, names: Sequence[str], key_rows: Sequence[KeyRow], daily_start: date
) -> History | None:
    """Joined OHLCV (extended by later published closes), else close-only bars, else None."""
    closes = split_adjusted_closes(key_rows, daily_start)
    loaded = load_history(source_dir, names)
    if loaded is not None:
        f, seams, label = loaded
        on_last = dict(closes).get(f.dates[-1])
        if on_last is not None and abs(on_last / f.close[-1] - 1) <= EXTEND_TOLERANCE:
            f = append_closes(f, closes)
        return History(f, "ohlcv", label, _ohlcv_note(seams), seams)
    if len(closes) < 2:
        return None
    return History(
        drop_spikes(close_frame(closes)),
        "close",
        "sp500-daily-financials",
        "Daily closes only (no open/high/low/volume), split-adjusted, not dividend-adjusted.",
        [],
    )


# --- key stats -------------------------------------------------------------------------------


def build_key_stats(series: dict[str, list[KeyRow]]) -> Row:
    """Published close / P/E / EPS per symbol by close date, as aligned columns (null = none)."""
    per_symbol = {sym: priced_rows(rows) for sym, rows in series.items()}
    dates = sorted({r.price_date for rows in per_symbol.values() for r in rows})
    index = {d: i for i, d in enumerate(dates)}
    cols: dict[str, list[list[float | None]]] = {}
    for sym, rows in sorted(per_symbol.items()):
        if not rows:
            continue
        table: list[list[float | None]] = [[None] * len(dates) for _ in range(3)]
        for r in rows:
            i = index[r.price_date]
            table[0][i], table[1][i], table[2][i] = r4(r.price), r4(r.pe_ratio), r4(r.eps)
        cols[sym] = table
    return {
        "dates": [d.isoformat() for d in dates],
        "fields": ["price", "pe_ratio", "eps"],
        "symbols": cols,
    }


def _market_shares(rows: Sequence[KeyRow]) -> MarketShares:
    """Today's share count (market cap / price) and the splits the published prices show."""
    priced = priced_rows(rows)
    current = next((r.shares for r in reversed(priced) if r.shares), None)
    return MarketShares(current=current, splits=tuple(split_events(rows)))


# --- build -----------------------------------------------------------------------------------


def build_snapshot(
    source_dir: Path, out_dir: Path, progress: Progress | None = None
) -> BuildReport:
    """Build universe, daily key stats and per-symbol histories from the shared source folders."""
    step: Progress = progress or (lambda _stage, _done, _total: None)
    meta = _read_csv(source_dir / "ticker-metadata" / "sp500_ticker_metadata.csv")
    key_dir = source_dir / KEY_DIR
    latest = {r["Symbol"]: r for r in _read_csv(key_dir / LATEST_FILE)}
    calendar = trading_calendar(source_dir)
    rows = read_rows(key_dir / DAILY_FILE, calendar)
    daily_start = daily_run_start(r.commit for series in rows.values() for r in series)
    aliases = find_aliases(((m["symbol"], m["name"]) for m in meta), latest)
    series = {
        m["symbol"]: merged_rows(rows, m["symbol"], aliases.get(m["symbol"], [])) for m in meta
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("history-*.json.gz"):
        stale.unlink()

    report = BuildReport(symbols=len(meta), aliases=aliases)
    universe: dict[str, Row] = {}
    for n, m in enumerate(meta, 1):
        sym, yahoo = m["symbol"], m["yahoo_symbol"]
        step("symbols", n, len(meta))
        names = [yahoo, *aliases.get(sym, [])]
        history = build_history(source_dir, names, series[sym], daily_start)
        if history is not None:
            write_gz_json(history_path(out_dir, sym), history_payload(history.frame))
            report.with_history += history.kind == "ohlcv"
            report.with_close_history += history.kind == "close"
            if history.seams:
                report.seams[sym] = history.seams
        ohlcv = history if history is not None and history.kind == "ohlcv" else None
        quote = build_quote(
            series[sym],
            ohlcv.frame if ohlcv else None,
            ohlcv.label if ohlcv else None,
            PUBLISHED,
            sym,
        )
        if quote["price"] is None:
            report.no_price.append(sym)
        sec, yf, snap = (
            _load_json(source_dir / folder / "companies" / f"{yahoo}.json")
            for folder in FUND_FOLDERS
        )
        fundamentals = build_fundamentals(sec, yf, snap, _market_shares(series[sym]))
        report.with_fundamentals += bool(fundamentals)
        universe[sym] = {
            "profile": {
                "name": m["name"],
                "sector": m["sector"] or None,
                "industry": m["industry"] or None,
                "exchange": m["exchange"] or None,
                "market_cap": quote["market_cap"],
                "cik": m["cik"] or None,
                "yahoo_symbol": yahoo,
            },
            "quote": quote,
            "fundamentals": fundamentals,
            "has_history": history is not None,
            "history": None
            if history is None
            else {"kind": history.kind, "source": history.label, "note": history.note},
        }
    prices = [
        date.fromisoformat(u["quote"]["as_of"]) for u in universe.values() if u["quote"]["price"]
    ]
    as_of = max(prices)
    report.as_of = as_of
    report.older_price = {
        s: u["quote"]["as_of"]
        for s, u in universe.items()
        if u["quote"]["price"] is not None and u["quote"]["as_of"] < as_of.isoformat()
    }
    step("writing", 0, 1)
    write_gz_json(
        out_dir / "universe.json.gz",
        {
            "as_of": as_of.isoformat(),
            "published": PUBLISHED.isoformat(),
            "aliases": aliases,
            "sources": SOURCES,
            "symbols": universe,
        },
    )
    write_gz_json(out_dir / "daily_key_stats.json.gz", build_key_stats(series))
    step("writing", 1, 1)
    return report


def main(source_dir: Path, out_dir: Path = DATA_DIR) -> BuildReport:
    """CLI entry: build with a rich progress bar and print the report."""
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    console = Console()
    with RichProgress(console=console) as bar:
        task = bar.add_task("snapshot", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        report = build_snapshot(source_dir, out_dir, update)
    size = sum(p.stat().st_size for p in out_dir.glob("*.json.gz"))
    console.print(
        f"snapshot as of {report.as_of}: {report.symbols} symbols, "
        f"{report.with_history} with OHLCV history, {report.with_close_history} with close-only "
        f"history, {report.with_fundamentals} with fundamentals, {len(report.no_price)} without "
        f"a price, {len(report.older_price)} priced before {report.as_of}; "
        f"{size / 1e6:.1f} MB in {out_dir}"
    )
    if report.no_price:
        console.print("no price: " + " ".join(report.no_price))
    return report
