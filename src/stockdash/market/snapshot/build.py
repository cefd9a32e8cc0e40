"""Build the offline market-data snapshot (stockdash/market/data) from the shared source folders.

Rules applied (kept here so the shipped numbers can be audited):

* Canonical symbol is the S&P style of ticker-metadata (``BRK.B``); Yahoo-style file names
  (``BRK-B``) are mapped through its ``yahoo_symbol`` column. Only the 503 index members ship.
* OHLCV join: segments are joined newest first (recent 2025-26, then 2023-26, then 2010-25).
  Dates already covered by the newer series are taken from it; each older segment is rescaled
  by ``newer close / older close`` on their latest common date (O/H/L/C times the ratio; volume
  divided by it only when the ratio is split-like, since dividend re-basing does not change
  volume). An older segment with no common date is dropped (no honest scale). A single-day
  spike (close >= 1.6x or <= 1/1.6x both neighbours) is dropped as a source glitch.
* Fiscal year = year of the period end, except ends on Jan 1-7 (52/53-week years) count for
  the prior year. The sources carry no filing date: ``filed = period_end + 75 days`` and
  ``filed_estimated = True`` for every year.
* Split adjustment of SEC diluted shares: counts below 1e6 or above 1e11 are unit slips
  (reported in thousands/millions) and are rescaled by powers of 1000. A year-over-year ratio
  k (or 1/k) >= 1.9 within 12 % of an integer n <= 60 is an n:1 split unless net income also
  grew >= 0.6 k (a merger); earlier years are multiplied by n (divided for reverse splits) so
  the latest year's basis applies. 3:2 splits are not detected. ``eps_diluted`` is the SEC
  reported EPS divided by the same cumulative split factor when it agrees within 2x with
  ``net_income / adjusted diluted shares`` (else omitted); without reported EPS the derived
  value is used; only for symbols where neither works for any year (XOM, BRK.B) the yfinance
  EPS (split-adjusted at fetch time) is used. Dividends per share are kept only when they
  agree with dividends paid / adjusted shares (dividing by an integer split factor where
  needed), or, without dividends paid, when no split was detected.
* Field priority per fiscal year: SEC annual > yfinance 2021-2026q > yfinance snapshot 2026-09;
  total debt comes from yfinance "Total Debt" (then the snapshot ``debt``), else SEC long-term
  debt only. Every value not from SEC names its source in the year's ``src`` map.
* Quotes: price and key stats from constituents-financials 2026-08-22; change from the last
  two days of the daily key-financials series. Without a price there, the last joined history
  close is used; without either, a demo price is stored with ``source: "demo"``.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

OHLCV_FOLDERS = ("ohlcv-daily-recent-2025-2026", "ohlcv-daily-2023-2026", "ohlcv-daily-2010-2025")
FUND_FOLDERS = (
    "fundamentals-sec-annual",
    "fundamentals-yfinance-2021-2026q",
    "fundamentals-yfinance-snapshot-2026-09",
)
FILED_LAG_DAYS = 75
DEMO_PRICE = 100.0
SPIKE = 1.6
MAX_SPLIT = 60
MIN_SHARES = 1e6  # every index member has more shares than this
MAX_SHARES = 1e11
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
        "used_for": "quotes and key stats as of 2026-08-22; daily price, P/E, EPS series",
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


@dataclass(frozen=True, slots=True)
class Frame:
    """Columnar daily OHLCV series."""

    dates: list[date]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]


@dataclass(slots=True)
class BuildReport:
    """Counts of what a snapshot build produced."""

    symbols: int = 0
    with_history: int = 0
    with_fundamentals: int = 0
    demo_fields: int = 0
    as_of: date | None = None
    demo_symbols: list[str] = field(default_factory=list)


def _num(text: object) -> float | None:
    """Parse a finite float or return None."""
    if text is None or text == "":
        return None
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _r4(value: float | None) -> float | None:
    """Round to 4 decimals, keeping None."""
    return None if value is None else round(value, 4)


def split_factor(ratio: float) -> int:
    """Signed integer split factor n (n:1 split, -n reverse) a ratio looks like, or 0."""
    if ratio <= 0:
        return 0
    k = ratio if ratio >= 1 else 1 / ratio
    n = round(k)
    if k < 1.9 or n > MAX_SPLIT or abs(k - n) / n > 0.12:
        return 0
    return n if ratio >= 1 else -n


# --- OHLCV -------------------------------------------------------------------------------


def read_ohlcv_csv(path: Path) -> Frame:
    """Read one OHLCV CSV (any column order), skipping rows with empty fields."""
    rows: list[tuple[date, float, float, float, float, float]] = []
    with path.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            vals = [_num(rec.get(k)) for k in ("Open", "High", "Low", "Close", "Volume")]
            if any(v is None for v in vals) or not rec.get("Date"):
                continue
            o, h, lo, c, v = (float(x or 0.0) for x in vals)
            if c <= 0:
                continue
            rows.append((date.fromisoformat(rec["Date"][:10]), o, h, lo, c, v))
    return _frame(rows)


def _frame(rows: Iterable[tuple[date, float, float, float, float, float]]) -> Frame:
    """Frame from rows, sorted by date with duplicate dates removed (first wins)."""
    seen: dict[date, tuple[date, float, float, float, float, float]] = {}
    for row in rows:
        seen.setdefault(row[0], row)
    ordered = [seen[d] for d in sorted(seen)]
    return Frame(
        dates=[r[0] for r in ordered],
        open=[r[1] for r in ordered],
        high=[r[2] for r in ordered],
        low=[r[3] for r in ordered],
        close=[r[4] for r in ordered],
        volume=[r[5] for r in ordered],
    )


def _rows(frame: Frame) -> list[tuple[date, float, float, float, float, float]]:
    """Row tuples of a frame."""
    return list(
        zip(frame.dates, frame.open, frame.high, frame.low, frame.close, frame.volume, strict=True)
    )


def drop_spikes(frame: Frame) -> Frame:
    """Drop single-day close spikes that reverse the next day (source glitches)."""
    c = frame.close
    bad = {
        i
        for i in range(1, len(c) - 1)
        if (c[i] / c[i - 1] >= SPIKE and c[i] / c[i + 1] >= SPIKE)
        or (c[i] / c[i - 1] <= 1 / SPIKE and c[i] / c[i + 1] <= 1 / SPIKE)
    }
    return _frame(r for i, r in enumerate(_rows(frame)) if i not in bad)


def join_segments(segments: Sequence[Frame]) -> Frame:
    """Join OHLCV segments given newest first into one series on the newest segment's basis."""
    if not segments:
        return _frame([])
    joined = _frame(_rows(segments[0]))
    for seg in segments[1:]:
        older = _frame(_rows(seg))
        newer_close = dict(zip(joined.dates, joined.close, strict=True))
        common = [i for i, d in enumerate(older.dates) if d in newer_close]
        if not common:
            continue
        i = common[-1]
        ratio = newer_close[older.dates[i]] / older.close[i]
        vol_ratio = ratio if split_factor(ratio) else 1.0
        extra = [
            (d, o * ratio, h * ratio, lo * ratio, c * ratio, v / vol_ratio)
            for d, o, h, lo, c, v in _rows(older)
            if d not in newer_close
        ]
        joined = _frame(_rows(joined) + extra)
    return joined


def history_payload(frame: Frame) -> Row:
    """Compact JSON form of a frame: start date, day deltas and rounded columns."""
    deltas = [0] + [(b - a).days for a, b in itertools.pairwise(frame.dates)]
    return {
        "start": frame.dates[0].isoformat(),
        "d": deltas,
        "o": [round(x, 4) for x in frame.open],
        "h": [round(x, 4) for x in frame.high],
        "l": [round(x, 4) for x in frame.low],
        "c": [round(x, 4) for x in frame.close],
        "v": [round(x) for x in frame.volume],
    }


def load_history(source_dir: Path, yahoo: str) -> Frame | None:
    """Joined, de-glitched history for one Yahoo-style ticker, or None without data."""
    segments = [
        drop_spikes(read_ohlcv_csv(p))
        for p in (source_dir / folder / f"{yahoo}.csv" for folder in OHLCV_FOLDERS)
        if p.is_file()
    ]
    segments = [s for s in segments if s.dates]
    if not segments:
        return None
    return join_segments(segments)


# --- fundamentals ------------------------------------------------------------------------


def fiscal_year(end: date) -> int:
    """Fiscal year label of a period end (Jan 1-7 ends belong to the prior year)."""
    return end.year - 1 if end.month == 1 and end.day <= 7 else end.year


def _by_year(points: Iterable[Row] | None) -> dict[int, tuple[date, float]]:
    """SEC [{end, v}] series keyed by fiscal year (latest end wins)."""
    out: dict[int, tuple[date, float]] = {}
    for p in points or []:
        v = _num(p.get("v"))
        if v is None or not p.get("end"):
            continue
        end = date.fromisoformat(str(p["end"])[:10])
        fy = fiscal_year(end)
        if fy not in out or out[fy][0] <= end:
            out[fy] = (end, v)
    return out


SEC_FIELDS = {
    "revenue": ("annual", "revenue"),
    "gross_profit": ("annual", "grossProfit"),
    "operating_income": ("annual", "opIncome"),
    "net_income": ("annual", "netIncome"),
    "operating_cash_flow": ("annual", "ocf"),
    "capital_expenditure": ("annual", "capex"),
    "shareholders_equity": ("balances", "equity"),
    "cash": ("balances", "cash"),
    "_lt_debt": ("balances", "ltDebt"),
    "_div_ps": ("annual", "divPS"),
    "_div_paid": ("annual", "dividendsPaid"),
    "_sec_eps": ("annual", "eps"),
}
FLOW_FIELDS = ("revenue", "net_income", "operating_cash_flow")

YF_LABELS = {
    "revenue": ("Total Revenue",),
    "gross_profit": ("Gross Profit",),
    "operating_income": ("Operating Income",),
    "net_income": ("Net Income",),
    "_eps": ("Diluted EPS",),
    "_shares": ("Diluted Average Shares",),
    "depreciation_amortization": ("Depreciation And Amortization", "Reconciled Depreciation"),
    "total_debt": ("Total Debt",),
    "cash": ("Cash And Cash Equivalents",),
    "shareholders_equity": ("Stockholders Equity",),
    "operating_cash_flow": ("Operating Cash Flow",),
    "capital_expenditure": ("Capital Expenditure",),
}
SNAP_KEYS = {
    "revenue": "revenue",
    "gross_profit": "gross_profit",
    "net_income": "net_income",
    "_eps": "eps",
    "shareholders_equity": "equity",
    "total_debt": "debt",
    "operating_cash_flow": "cfo",
    "capital_expenditure": "capex",
}


def _yf_years(doc: Row) -> dict[int, tuple[date, Row]]:
    """yfinance 2021-2026q file (either schema) as fiscal year -> (period end, label map)."""
    merged: dict[str, Row] = {}
    for key in ("annual_income", "annual_balance"):
        for period, labels in (doc.get(key) or {}).items():
            merged.setdefault(period[:10], {}).update(labels)
    for key in ("income_statement", "balance_sheet", "cash_flow"):
        for rec in doc.get(key) or []:
            merged.setdefault(str(rec.get("period", ""))[:10], {}).update(rec)
    out: dict[int, tuple[date, Row]] = {}
    for period, labels in merged.items():
        try:
            end = date.fromisoformat(period)
        except ValueError:
            continue
        out[fiscal_year(end)] = (end, labels)
    return out


def _yf_values(labels: Row) -> Row:
    """Our field names from one yfinance period's labels."""
    out: Row = {}
    for name, keys in YF_LABELS.items():
        for key in keys:
            v = _num(labels.get(key))
            if v is not None:
                out[name] = abs(v) if name == "capital_expenditure" else v
                break
    return out


def _snap_years(doc: Row) -> dict[int, tuple[date, Row]]:
    """yfinance snapshot 2026-09 annual arrays as fiscal year -> (period end, values)."""
    annual = doc.get("annual") or {}
    out: dict[int, tuple[date, Row]] = {}
    for i, period in enumerate(annual.get("periods") or []):
        end = date.fromisoformat(str(period)[:10])
        values: Row = {}
        for name, key in SNAP_KEYS.items():
            arr = annual.get(key) or []
            v = _num(arr[i]) if i < len(arr) else None
            if v is not None:
                values[name] = abs(v) if name == "capital_expenditure" else v
        out[fiscal_year(end)] = (end, values)
    return out


def fix_share_units(shares: dict[int, float]) -> dict[int, float]:
    """Undo unit slips: share counts reported in thousands/millions (or 1000x too large)."""
    fixed: dict[int, float] = {}
    for fy, v in shares.items():
        while v < MIN_SHARES:
            v *= 1000
        while v > MAX_SHARES:
            v /= 1000
        fixed[fy] = v
    return fixed


def split_adjust_shares(
    shares: dict[int, float], net_income: dict[int, float]
) -> tuple[dict[int, float], list[int]]:
    """Diluted shares on the latest year's basis, and the fiscal years where a split was found."""
    shares = fix_share_units(shares)
    years = sorted(shares)
    factors = dict.fromkeys(years, 1.0)
    splits: list[int] = []
    for prev, cur in itertools.pairwise(years):
        n = split_factor(shares[cur] / shares[prev])
        if not n:
            continue
        k = shares[cur] / shares[prev]
        ni0, ni1 = net_income.get(prev), net_income.get(cur)
        if ni0 and ni1 and ni0 > 0 and ni1 > 0 and n > 0 and ni1 / ni0 >= 0.6 * k:
            continue
        splits.append(cur)
        mult = float(n) if n > 0 else 1 / -n
        for y in years:
            if y < cur:
                factors[y] *= mult
    return {y: shares[y] * factors[y] for y in years}, splits


def build_fundamentals(sec: Row | None, yf: Row | None, snap: Row | None) -> list[Row]:
    """Merged annual fundamentals for one symbol, oldest first, as JSON rows."""
    years: dict[int, Row] = {}
    ends: dict[int, date] = {}
    if sec:
        for name, (group, key) in SEC_FIELDS.items():
            for fy, (end, v) in _by_year((sec.get(group) or {}).get(key)).items():
                years.setdefault(fy, {"src": {}})[name] = v
                if name in FLOW_FIELDS:
                    ends[fy] = max(end, ends.get(fy, end))
                else:
                    ends.setdefault(fy, end)
    fill_sources: list[tuple[str, dict[int, tuple[date, Row]]]] = []
    if yf:
        yf_years = {fy: (end, _yf_values(labels)) for fy, (end, labels) in _yf_years(yf).items()}
        fill_sources.append(("fundamentals-yfinance-2021-2026q", yf_years))
    if snap:
        fill_sources.append(("fundamentals-yfinance-snapshot-2026-09", _snap_years(snap)))
    for origin, by_year in fill_sources:
        for fy, (end, values) in by_year.items():
            row = years.setdefault(fy, {"src": {}})
            ends.setdefault(fy, end)
            for name, v in values.items():
                if name == "total_debt" and "total_debt" not in row:
                    row["total_debt"] = v
                    row["src"]["total_debt"] = origin
                elif name not in row:
                    row[name] = v
                    row["src"][name] = origin
    years = {fy: r for fy, r in years.items() if any(k in r for k in FLOW_FIELDS)}

    sec_shares = {
        fy: v for fy, (_, v) in _by_year(sec.get("dilutedShares") if sec else None).items()
    }
    ni = {fy: r["net_income"] for fy, r in years.items() if "net_income" in r}
    positive = fix_share_units({fy: v for fy, v in sec_shares.items() if v > 0})
    adj, splits = split_adjust_shares(positive, ni)
    factors = {fy: adj[fy] / positive[fy] for fy in adj}
    out: list[Row] = []
    any_derived_eps = any(fy in years and "net_income" in years[fy] for fy in adj)
    for fy in sorted(years):
        row = years[fy]
        src: dict[str, str] = row["src"]
        shares = adj.get(fy)
        if shares is None and "_shares" in row:
            shares = row["_shares"]
            src["shares_outstanding"] = src["_shares"]
        eps: float | None = None
        derived = row["net_income"] / shares if shares and "net_income" in row else None
        reported = row["_sec_eps"] / factors[fy] if "_sec_eps" in row and fy in factors else None
        if derived is not None and reported is not None:
            if 0.5 <= reported / derived <= 2.0 if derived else reported == 0:
                eps = reported
                src["eps_diluted"] = "fundamentals-sec-annual eps, split-adjusted"
            else:
                src["eps_diluted"] = "omitted: reported eps and net_income / shares disagree"
        elif derived is not None:
            eps = derived
            src["eps_diluted"] = "derived: net_income / diluted shares"
        elif not any_derived_eps and "_eps" in row:
            eps = row["_eps"]
            src["eps_diluted"] = src["_eps"]
        total_debt = row.get("total_debt")
        if total_debt is None and "_lt_debt" in row:
            total_debt = row["_lt_debt"]
            src["total_debt"] = "fundamentals-sec-annual ltDebt (long-term debt only)"
        ocf, capex = row.get("operating_cash_flow"), row.get("capital_expenditure")
        end = ends[fy]
        out.append(
            {
                "fy": fy,
                "end": end.isoformat(),
                "filed": (end + timedelta(days=FILED_LAG_DAYS)).isoformat(),
                "revenue": row.get("revenue"),
                "gross_profit": row.get("gross_profit"),
                "operating_income": row.get("operating_income"),
                "net_income": row.get("net_income"),
                "eps_diluted": _r4(eps),
                "operating_cash_flow": ocf,
                "capital_expenditure": capex,
                "free_cash_flow": ocf - capex if ocf is not None and capex is not None else None,
                "depreciation_amortization": row.get("depreciation_amortization"),
                "total_debt": total_debt,
                "cash": row.get("cash"),
                "shareholders_equity": row.get("shareholders_equity"),
                "shares_outstanding": _r4(shares),
                "dividends_per_share": _r4(_dividend_ps(row, shares, bool(splits))),
                "src": {k: v for k, v in src.items() if not k.startswith("_")},
            }
        )
    return out


def _dividend_ps(row: Row, shares: float | None, had_split: bool) -> float | None:
    """SEC dividends per share on the latest basis when it can be checked, else None."""
    dps = row.get("_div_ps")
    if dps is None or dps <= 0:
        return dps
    paid = row.get("_div_paid")
    if not paid or not shares:
        return None if had_split else float(dps)
    ratio = dps * shares / paid
    if 0.6 <= ratio <= 1.6:
        return float(dps)
    n = split_factor(ratio)
    return float(dps) / n if n > 0 else None


# --- quotes and daily key stats ----------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file (gzip when the name ends in .gz)."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", newline="") as fh:
            return list(csv.DictReader(fh))
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def build_key_stats(rows: list[dict[str, str]], symbols: set[str]) -> Row:
    """Daily price / P/E / EPS per symbol as aligned columns (null where missing)."""
    dates = sorted({r["commit_date"] for r in rows})
    index = {d: i for i, d in enumerate(dates)}
    cols: dict[str, list[list[float | None]]] = {}
    for r in rows:
        sym = r["symbol"]
        if sym not in symbols:
            continue
        series = cols.setdefault(sym, [[None] * len(dates) for _ in range(3)])
        i = index[r["commit_date"]]
        for j, key in enumerate(("price", "price_earnings", "earnings_per_share")):
            series[j][i] = _r4(_num(r[key]))
    return {"dates": dates, "fields": ["price", "pe_ratio", "eps"], "symbols": cols}


def _change(prices: Sequence[float | None]) -> tuple[float, float] | None:
    """(previous, last) from the last two entries when both exist."""
    if len(prices) < 2 or prices[-1] is None or prices[-2] is None:
        return None
    return float(prices[-2]), float(prices[-1])


def build_quote(
    fin: dict[str, str] | None,
    key_prices: Sequence[float | None],
    as_of: date,
    history: Frame | None,
) -> Row:
    """Quote JSON row: real figures first, last history close next, demo price last."""
    price = _num(fin.get("Price")) if fin else None
    pair = _change(key_prices) if price is not None else None
    source, price_source, quote_date = "snapshot", "sp500-daily-financials", as_of
    if price is None and history is not None and history.dates:
        price, quote_date = history.close[-1], history.dates[-1]
        price_source = "history close"
        if len(history.close) >= 2:
            pair = (history.close[-2], history.close[-1])
    if price is None:
        price, source, price_source = DEMO_PRICE, "demo", "demo"
    prev = pair[0] if pair and pair[0] > 0 else None
    change = price - prev if prev is not None else None

    def stat(key: str) -> float | None:
        return _num(fin.get(key)) if fin else None

    return {
        "price": _r4(price),
        "previous_close": _r4(prev),
        "change": _r4(change),
        "change_percent": _r4(change / prev * 100) if change is not None and prev else None,
        "volume": None,
        "market_cap": stat("Market Cap"),
        "pe_ratio": _r4(stat("Price/Earnings")),
        "eps": stat("Earnings/Share"),
        "dividend_yield": stat("Dividend Yield"),
        "week52_high": stat("52 Week High"),
        "week52_low": stat("52 Week Low"),
        "ebitda": stat("EBITDA"),
        "price_to_sales": _r4(stat("Price/Sales")),
        "price_to_book": _r4(stat("Price/Book")),
        "as_of": quote_date.isoformat(),
        "source": source,
        "price_source": price_source,
    }


# --- build -------------------------------------------------------------------------------


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


def build_snapshot(
    source_dir: Path, out_dir: Path, progress: Progress | None = None
) -> BuildReport:
    """Build universe, daily key stats and per-symbol histories from the shared source folders."""
    step: Progress = progress or (lambda _stage, _done, _total: None)
    meta = _read_csv(source_dir / "ticker-metadata" / "sp500_ticker_metadata.csv")
    fin_dir = source_dir / "sp500-daily-financials"
    fin = {r["Symbol"]: r for r in _read_csv(fin_dir / "constituents-financials-2026-08-22.csv")}
    daily = _read_csv(fin_dir / "daily_financials.csv.gz")
    as_of = date(2026, 8, 22)
    symbols = {r["symbol"] for r in meta}
    key_stats = build_key_stats(daily, symbols)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("history-*.json.gz"):
        stale.unlink()

    report = BuildReport(symbols=len(meta), as_of=as_of)
    universe: dict[str, Row] = {}
    for n, m in enumerate(meta, 1):
        sym, yahoo = m["symbol"], m["yahoo_symbol"]
        step("symbols", n, len(meta))
        history = load_history(source_dir, yahoo)
        if history is not None:
            write_gz_json(history_path(out_dir, sym), history_payload(history))
            report.with_history += 1
        prices = key_stats["symbols"].get(sym, [[]])[0]
        quote = build_quote(fin.get(sym), prices, as_of, history)
        if quote["source"] == "demo":
            report.demo_fields += 1
            report.demo_symbols.append(sym)
        fundamentals = build_fundamentals(
            *(
                _load_json(source_dir / folder / "companies" / f"{yahoo}.json")
                for folder in FUND_FOLDERS
            )
        )
        report.with_fundamentals += bool(fundamentals)
        cap = _num(fin[sym].get("Market Cap")) if sym in fin else None
        universe[sym] = {
            "profile": {
                "name": m["name"],
                "sector": m["sector"] or None,
                "industry": m["industry"] or None,
                "exchange": m["exchange"] or None,
                "market_cap": cap,
                "cik": m["cik"] or None,
                "yahoo_symbol": yahoo,
            },
            "quote": quote,
            "fundamentals": fundamentals,
            "has_history": history is not None,
        }
    step("writing", 0, 1)
    write_gz_json(
        out_dir / "universe.json.gz",
        {"as_of": as_of.isoformat(), "sources": SOURCES, "symbols": universe},
    )
    write_gz_json(out_dir / "daily_key_stats.json.gz", key_stats)
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
        f"{report.with_history} with history, {report.with_fundamentals} with fundamentals, "
        f"{report.demo_fields} demo fields; {size / 1e6:.1f} MB in {out_dir}"
    )
    return report
