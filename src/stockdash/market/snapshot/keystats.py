"""The daily key financials (Yahoo-derived, one file a day): price dates, renamed tickers, closes, splits.

Each row is published on `commit_date` with the prior session's close, so a row's price belongs to
the last trading day before its commit date. Weekends and holidays republish the same close; a
later row that repeats a price unchanged on a new trading day is a stale copy, not a new close.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from stockdash.market.snapshot.ohlcv import OHLCV_FOLDERS, num

KEY_DIR = "sp500-daily-financials"
LATEST_FILE = "constituents-financials-2026-08-22.csv"
DAILY_FILE = "daily_financials.csv.gz"
CALENDAR_TICKERS = ("AAPL", "MSFT", "KO")
DAILY_RUN_GAP = 7  # a longer gap between publications ends the contiguous daily run
SPLITS = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)
PE_SPIKE = 1.6


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One published row of key financials."""

    commit: date
    price_date: date
    price: float | None
    pe_ratio: float | None
    dividend_yield: float | None
    eps: float | None
    week52_low: float | None
    week52_high: float | None
    market_cap: float | None
    ebitda: float | None
    price_to_sales: float | None
    price_to_book: float | None
    ticker: str

    @property
    def shares(self) -> float | None:
        """Shares outstanding implied by market cap / price on that day's basis."""
        if self.price and self.market_cap and self.price > 0 and self.market_cap > 0:
            return self.market_cap / self.price
        return None


@dataclass(frozen=True, slots=True)
class SplitEvent:
    """A split seen in the published prices: n new shares per old one (n < 1 for a reverse split)."""

    before: date
    after: date
    ratio: float


def trading_calendar(source_dir: Path) -> list[date]:
    """Trading days known from the OHLCV folders (all US listings share one calendar)."""
    days: set[date] = set()
    for folder in OHLCV_FOLDERS:
        for ticker in CALENDAR_TICKERS:
            path = source_dir / folder / f"{ticker}.csv"
            if path.is_file():
                with path.open(newline="") as fh:
                    days.update(date.fromisoformat(r["Date"][:10]) for r in csv.DictReader(fh))
    return sorted(days)


def price_date(commit: date, calendar: Sequence[date]) -> date:
    """The session whose close a row committed on `commit` carries."""
    day = commit - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    if not calendar or day > calendar[-1]:
        return day  # past the known calendar: assume weekdays trade
    i = bisect.bisect_left(calendar, commit) - 1
    return calendar[i] if i >= 0 else day


def read_rows(path: Path, calendar: Sequence[date]) -> dict[str, list[KeyRow]]:
    """All rows of the daily file per ticker, oldest first."""
    out: dict[str, list[KeyRow]] = defaultdict(list)
    with gzip.open(path, "rt", newline="") as fh:
        for r in csv.DictReader(fh):
            commit = date.fromisoformat(r["commit_date"])
            price = num(r["price"])
            out[r["symbol"]].append(
                KeyRow(
                    commit=commit,
                    price_date=price_date(commit, calendar),
                    price=price if price and price > 0 else None,
                    pe_ratio=num(r["price_earnings"]),
                    dividend_yield=num(r["dividend_yield"]),
                    eps=num(r["earnings_per_share"]),
                    week52_low=num(r["week52_low"]),
                    week52_high=num(r["week52_high"]),
                    market_cap=num(r["market_cap"]),
                    ebitda=num(r["ebitda"]),
                    price_to_sales=num(r["price_sales"]),
                    price_to_book=num(r["price_book"]),
                    ticker=r["symbol"],
                )
            )
    for rows in out.values():
        rows.sort(key=lambda k: k.commit)
    return out


def _name_key(name: str) -> str:
    """Company name reduced for matching ("BNY Mellon" == "bny mellon")."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def find_aliases(
    members: Iterable[tuple[str, str]], latest: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """Old tickers of renamed members: same company name in the latest file under another ticker.

    `members` are (symbol, name); `latest` maps the latest file's tickers to their rows.
    """
    members = list(members)
    own = {s for s, _ in members}
    by_name: dict[str, list[str]] = defaultdict(list)
    for ticker, row in latest.items():
        if ticker not in own:
            by_name[_name_key(row.get("Name", ""))].append(ticker)
    return {
        s: sorted(by_name[_name_key(name)])
        for s, name in members
        if by_name.get(_name_key(name)) and not num((latest.get(s) or {}).get("Price"))
    }


def merged_rows(rows: dict[str, list[KeyRow]], symbol: str, aliases: Sequence[str]) -> list[KeyRow]:
    """A member's rows under its own ticker and its old ones (own ticker wins on the same day)."""
    by_commit: dict[date, KeyRow] = {}
    for ticker in (*aliases, symbol):
        for row in rows.get(ticker, []):
            if row.price is not None or row.commit not in by_commit:
                by_commit[row.commit] = row
    return [by_commit[d] for d in sorted(by_commit)]


def priced_rows(rows: Sequence[KeyRow]) -> list[KeyRow]:
    """One row per real close: republished closes and stale copies dropped."""
    out: list[KeyRow] = []
    for row in rows:
        if row.price is None:
            continue
        if out and (row.price_date <= out[-1].price_date or row.price == out[-1].price):
            continue
        out.append(row)
    return out


def daily_run_start(commits: Iterable[date]) -> date:
    """First commit of the newest contiguous run of daily publications."""
    days = sorted(set(commits))
    start = days[-1]
    for a, b in zip(reversed(days[:-1]), reversed(days[1:]), strict=True):
        if (b - a).days > DAILY_RUN_GAP:
            break
        start = a
    return start


def _snap(ratio: float, tolerance: float) -> float | None:
    """The split ratio (or reverse) within `tolerance` (log) of a price ratio, else None."""
    if ratio <= 0:
        return None
    best = min((n for s in SPLITS for n in (s, 1 / s)), key=lambda n: abs(math.log(ratio / n)))
    return best if abs(math.log(ratio / best)) <= tolerance else None


def _pe_glitches(rows: Sequence[KeyRow]) -> set[int]:
    """Rows whose price/EPS jumps against both neighbours (price or EPS published on the old basis)."""

    def pe(row: KeyRow) -> float | None:
        return row.price / row.eps if row.price and row.eps and row.eps > 0 else None

    bad: set[int] = set()
    for i in range(1, len(rows) - 1):
        a, b, c = pe(rows[i - 1]), pe(rows[i]), pe(rows[i + 1])
        if a and b and c and (min(b / a, b / c) >= PE_SPIKE or max(b / a, b / c) <= 1 / PE_SPIKE):
            bad.add(i)
    return bad


def split_events(rows: Sequence[KeyRow], *, short_gap: int = 5) -> list[SplitEvent]:
    """Splits seen between consecutive closes: price and EPS (or share count) move by one ratio.

    Across a long publication gap the share count (market cap / price) must jump by the ratio too,
    and 3:2 is not accepted there (a merger moves the count as much).
    """
    priced = priced_rows(rows)
    glitches = _pe_glitches(priced)
    clean = [r for i, r in enumerate(priced) if i not in glitches]
    events: list[SplitEvent] = []
    for a, b in itertools.pairwise(clean):
        assert a.price is not None and b.price is not None
        short = (b.price_date - a.price_date).days <= short_gap
        has_eps = bool(a.eps and b.eps and a.eps * b.eps > 0)
        n: float | None
        if short:
            # TTM EPS barely moves in a day, so it names the ratio; the price must follow.
            eps_ratio = a.eps / b.eps if has_eps and a.eps and b.eps else None
            count_ratio = b.shares / a.shares if a.shares and b.shares else None
            n = _snap(eps_ratio or count_ratio or 0.0, 0.1)
            ok = n is not None and abs(math.log(a.price / b.price / n)) <= 0.25
        else:
            # Across a long gap the market moved: the share count names the ratio.
            sa, sb = a.shares, b.shares
            n = _snap(sb / sa, 0.08) if sa and sb else None
            ok = n is not None and not 1 / 2 < n < 2 and has_eps
            ok = ok and abs(math.log(a.price / b.price / (n or 1))) <= math.log(2.5)
            ok = ok and abs(math.log((a.eps or 1) / (b.eps or 1) / (n or 1))) <= math.log(1.6)
        if not ok or n is None:
            continue
        events.append(SplitEvent(a.price_date, b.price_date, n))
    return events


def split_adjusted_closes(rows: Sequence[KeyRow], since: date) -> list[tuple[date, float]]:
    """Closes published since `since`, glitches dropped, earlier closes divided by later splits."""
    run = [r for r in priced_rows(rows) if r.commit >= since]
    glitches = _pe_glitches(run)
    run = [r for i, r in enumerate(run) if i not in glitches]
    events = split_events(run)
    closes: list[tuple[date, float]] = []
    for row in run:
        assert row.price is not None
        factor = math.prod(e.ratio for e in events if e.after > row.price_date)
        closes.append((row.price_date, row.price / factor))
    return closes
