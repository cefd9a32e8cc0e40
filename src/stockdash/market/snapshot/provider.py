"""Market data provider backed by the offline snapshot shipped in stockdash/market/data."""

from __future__ import annotations

import bisect
import gzip
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from stockdash.core.metrics import PROVIDER_REQUESTS
from stockdash.market.types import (
    Bar,
    DataSource,
    FundamentalsYear,
    Profile,
    Quote,
    SearchHit,
    UnknownSymbolError,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True, slots=True)
class KeyStat:
    """One day of the published key financials (closing price of the prior session)."""

    date: date
    price: float | None
    pe_ratio: float | None
    eps: float | None


@dataclass(frozen=True, slots=True)
class _Universe:
    """Parsed universe file."""

    as_of: date
    sources: list[dict[str, str]]
    profiles: dict[str, Profile]
    quotes: dict[str, Quote]
    fundamentals: dict[str, list[FundamentalsYear]]
    provenance: dict[str, dict[int, dict[str, str]]]
    history_info: dict[str, dict[str, str]]
    has_history: frozenset[str]
    symbols: frozenset[str]
    hits: dict[str, SearchHit]
    sorted_symbols: list[str]
    by_name: list[tuple[str, SearchHit]]


LIVE_SOURCES = frozenset({"polygon", "edgar", "yahoo"})
SEC_SOURCE = "fundamentals-sec-annual"
VALUE_FIELDS = (
    "revenue",
    "gross_profit",
    "operating_income",
    "net_income",
    "eps_diluted",
    "operating_cash_flow",
    "capital_expenditure",
    "free_cash_flow",
    "depreciation_amortization",
    "total_debt",
    "cash",
    "shareholders_equity",
    "total_assets",
    "shares_outstanding",
    "dividends_per_share",
)


def normalize_symbol(symbol: str) -> str:
    """Canonical S&P-style symbol: upper case, class separator '.' (BRK-B -> BRK.B)."""
    return symbol.strip().upper().replace("-", ".").replace("/", ".")


def read_gz(path: Path) -> Any:
    """Parse one gzipped JSON file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def _day(text: str) -> date:
    """ISO date string to date."""
    return date.fromisoformat(text)


def _quote(symbol: str, q: dict[str, Any]) -> Quote:
    """Quote from its JSON row."""
    # A live rebuild credits quotes to its provider; anything else is the shipped snapshot.
    source: DataSource = q["source"] if q["source"] in LIVE_SOURCES else "snapshot"
    return Quote(
        symbol=symbol,
        price=q["price"],
        previous_close=q["previous_close"],
        change=q["change"],
        change_percent=q["change_percent"],
        volume=q["volume"],
        market_cap=q["market_cap"],
        pe_ratio=q["pe_ratio"],
        eps=q["eps"],
        dividend_yield=q["dividend_yield"],
        week52_high=q["week52_high"],
        week52_low=q["week52_low"],
        ebitda=q["ebitda"],
        price_to_sales=q["price_to_sales"],
        price_to_book=q["price_to_book"],
        as_of=_day(q["as_of"]),
        source=source,
        note=q.get("note"),
    )


def _sources(row: dict[str, Any]) -> dict[str, str]:
    """Source of every non-null value: the row's `src` map, else the SEC annual data as reported."""
    src: dict[str, str] = row.get("src") or {}
    return {k: src.get(k, SEC_SOURCE) for k in VALUE_FIELDS if row.get(k) is not None}


def _fundamentals_year(row: dict[str, Any]) -> FundamentalsYear:
    """FundamentalsYear from its JSON row."""
    return FundamentalsYear(
        fiscal_year=row["fy"],
        period_end=_day(row["end"]),
        filed=_day(row["filed"]),
        filed_estimated=bool(row.get("filed_estimated", True)),
        revenue=row["revenue"],
        gross_profit=row["gross_profit"],
        operating_income=row["operating_income"],
        net_income=row["net_income"],
        eps_diluted=row["eps_diluted"],
        operating_cash_flow=row["operating_cash_flow"],
        capital_expenditure=row["capital_expenditure"],
        free_cash_flow=row["free_cash_flow"],
        depreciation_amortization=row["depreciation_amortization"],
        total_debt=row["total_debt"],
        cash=row["cash"],
        shareholders_equity=row["shareholders_equity"],
        total_assets=row.get("total_assets"),
        shares_outstanding=row["shares_outstanding"],
        dividends_per_share=row["dividends_per_share"],
        sources=_sources(row),
    )


class SnapshotProvider:
    """MarketDataProvider over the shipped snapshot; loads lazily and caches per instance."""

    name = "snapshot"

    def __init__(self, data_dir: Path | None = None) -> None:
        self._dir = data_dir or DEFAULT_DATA_DIR
        self._universe: _Universe | None = None
        self._history: dict[str, tuple[list[date], list[Bar]]] = {}
        self._key_stats: dict[str, list[KeyStat]] | None = None

    # --- loading ---------------------------------------------------------------------

    def _load(self) -> _Universe:
        """Parse universe.json.gz once."""
        if self._universe is not None:
            return self._universe
        raw = read_gz(self._dir / "universe.json.gz")
        profiles: dict[str, Profile] = {}
        quotes: dict[str, Quote] = {}
        fundamentals: dict[str, list[FundamentalsYear]] = {}
        provenance: dict[str, dict[int, dict[str, str]]] = {}
        hits: list[tuple[str, SearchHit]] = []
        for sym, entry in raw["symbols"].items():
            p = entry["profile"]
            profiles[sym] = Profile(
                symbol=sym,
                name=p["name"],
                sector=p["sector"],
                industry=p["industry"],
                exchange=p["exchange"],
                market_cap=p["market_cap"],
                cik=p["cik"],
            )
            quotes[sym] = _quote(sym, entry["quote"])
            fundamentals[sym] = [_fundamentals_year(r) for r in entry["fundamentals"]]
            provenance[sym] = {r["fy"]: dict(r["src"]) for r in entry["fundamentals"]}
            hit = SearchHit(symbol=sym, name=p["name"], exchange=p["exchange"], sector=p["sector"])
            hits.append((sym, hit))

        def by_cap(item: tuple[str, SearchHit]) -> float:
            return -(quotes[item[0]].market_cap or 0.0)

        self._universe = _Universe(
            as_of=_day(raw["as_of"]),
            sources=list(raw["sources"]),
            profiles=profiles,
            quotes=quotes,
            fundamentals=fundamentals,
            provenance=provenance,
            history_info={
                s: dict(e["history"]) for s, e in raw["symbols"].items() if e.get("history")
            },
            has_history=frozenset(s for s, e in raw["symbols"].items() if e["has_history"]),
            symbols=frozenset(profiles),
            hits=dict(hits),
            sorted_symbols=sorted(profiles),
            by_name=[(h.name.lower(), h) for _, h in sorted(hits, key=by_cap)],
        )
        return self._universe

    def _resolve(self, symbol: str) -> str:
        """Canonical symbol, or UnknownSymbolError."""
        sym = normalize_symbol(symbol)
        if sym not in self._load().symbols:
            raise UnknownSymbolError(self.name, f"unknown symbol {symbol!r}", status=404)
        return sym

    def _bars(self, sym: str) -> tuple[list[date], list[Bar]]:
        """All bars of one symbol, loaded on first use."""
        if sym in self._history:
            return self._history[sym]
        bars: list[Bar] = []
        if sym in self._load().has_history:
            h = read_gz(self._dir / f"history-{sym}.json.gz")
            day = _day(h["start"])
            closes = h["c"]
            none = [None] * len(closes)
            columns = (h.get("o", none), h.get("h", none), h.get("l", none), h.get("v", none))
            for delta, o, hi, lo, c, v in zip(
                h["d"], *columns[:3], closes, columns[3], strict=True
            ):
                day += timedelta(days=delta)
                volume = None if v is None else float(v)
                bars.append(Bar(date=day, open=o, high=hi, low=lo, close=c, volume=volume))
        self._history[sym] = ([b.date for b in bars], bars)
        return self._history[sym]

    # --- MarketDataProvider ----------------------------------------------------------

    def _resolve_counted(self, endpoint: str, *symbols: str) -> list[str]:
        """Resolve symbols, counting the request in stockdash_provider_requests_total."""
        try:
            resolved = [self._resolve(s) for s in symbols]
        except UnknownSymbolError:
            PROVIDER_REQUESTS.labels(self.name, endpoint, "not_found").inc()
            raise
        PROVIDER_REQUESTS.labels(self.name, endpoint, "ok").inc()
        return resolved

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Snapshot quotes keyed by canonical symbol; any unknown symbol raises."""
        quotes = self._load().quotes
        return {sym: quotes[sym] for sym in self._resolve_counted("quote", *symbols)}

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Daily bars between start and end inclusive, oldest first (empty without data)."""
        return self.history_now(symbol, start, end)

    def history_now(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """`history`, synchronously: the snapshot only reads local files (usable off the loop)."""
        [sym] = self._resolve_counted("history", symbol)
        dates, bars = self._bars(sym)
        lo = bisect.bisect_left(dates, start) if start else 0
        hi = bisect.bisect_right(dates, end) if end else len(bars)
        return bars[lo:hi]

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual fundamentals, oldest first."""
        [sym] = self._resolve_counted("fundamentals", symbol)
        return list(self._load().fundamentals[sym])

    async def profile(self, symbol: str) -> Profile:
        """Company profile."""
        [sym] = self._resolve_counted("profile", symbol)
        return self._load().profiles[sym]

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Exact ticker, then ticker prefix, then name matches (largest market cap first)."""
        q = query.strip()
        PROVIDER_REQUESTS.labels(self.name, "search", "ok").inc()
        if not q or limit <= 0:
            return []
        u = self._load()
        sym_q, name_q = normalize_symbol(q), q.lower()
        out: dict[str, SearchHit] = {}
        if sym_q in u.hits:
            out[sym_q] = u.hits[sym_q]
        for s in u.sorted_symbols[bisect.bisect_left(u.sorted_symbols, sym_q) :]:
            if len(out) >= limit or not s.startswith(sym_q):
                break
            out.setdefault(s, u.hits[s])
        for word_start in (True, False):
            for name, h in u.by_name:
                if len(out) >= limit:
                    break
                pos = name.find(name_q)
                if pos >= 0 and (pos == 0 or not name[pos - 1].isalnum()) == word_start:
                    out.setdefault(h.symbol, h)
        return list(out.values())[:limit]

    # --- extras for the app ----------------------------------------------------------

    def known_symbols(self) -> frozenset[str]:
        """All canonical symbols in the snapshot."""
        return self._load().symbols

    def universe_quotes(self) -> dict[str, Quote]:
        """Quotes of every symbol (a copy)."""
        return dict(self._load().quotes)

    def universe_profiles(self) -> dict[str, Profile]:
        """Profiles of every symbol (a copy)."""
        return dict(self._load().profiles)

    def as_of(self) -> date:
        """Date of the newest quote data in the snapshot."""
        return self._load().as_of

    def sources(self) -> list[dict[str, str]]:
        """Credits: one dict per source folder (id, title, url, licence, used_for)."""
        return [dict(s) for s in self._load().sources]

    def history_info(self, symbol: str) -> dict[str, str] | None:
        """How a symbol's shipped history was made: kind (ohlcv/close), source file, adjustment note."""
        return self._load().history_info.get(self._resolve(symbol))

    def fundamentals_sources(self, symbol: str) -> dict[int, dict[str, str]]:
        """Per fiscal year, the source of each field not taken from SEC annual data."""
        return {fy: dict(m) for fy, m in self._load().provenance[self._resolve(symbol)].items()}

    def daily_key_stats(self, symbol: str) -> list[KeyStat]:
        """Published daily price / P/E / EPS, oldest first (days without any value skipped)."""
        sym = self._resolve(symbol)
        if self._key_stats is None:
            raw = read_gz(self._dir / "daily_key_stats.json.gz")
            dates = [_day(d) for d in raw["dates"]]
            self._key_stats = {
                s: [
                    KeyStat(date=d, price=p, pe_ratio=pe, eps=e)
                    for d, p, pe, e in zip(dates, *cols, strict=True)
                    if p is not None or pe is not None or e is not None
                ]
                for s, cols in raw["symbols"].items()
            }
        return list(self._key_stats.get(sym, []))
