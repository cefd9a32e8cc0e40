"""The snapshot build: OHLCV joins, key financials, split adjustment, fundamentals and the real build.

The unit tests use hand-made inputs; the `built` tests rebuild the snapshot from ../shared/data and
check its figures against independent real data (yfinance EPS, market caps, the source series).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from stockdash.market.snapshot.build import BuildReport, build_quote, build_snapshot
from stockdash.market.snapshot.fundamentals import (
    MarketShares,
    adjust_shares,
    annual_points,
    boundary_split,
    build_fundamentals,
    fiscal_year,
    usual_year_end,
)
from stockdash.market.snapshot.keystats import (
    KeyRow,
    SplitEvent,
    find_aliases,
    price_date,
    priced_rows,
    split_adjusted_closes,
    split_events,
)
from stockdash.market.snapshot.ohlcv import (
    SEAM_DAYS,
    Frame,
    drop_spikes,
    join_segments,
    read_ohlcv_csv,
)

SOURCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "stockdash" / "market" / "data"
D0 = date(2024, 1, 1)


def frame(start: int, closes: list[float], volume: float = 1000.0) -> Frame:
    """Hand-made frame on consecutive days starting D0 + start."""
    dates = [D0 + timedelta(days=start + i) for i in range(len(closes))]
    return Frame(
        dates=dates,
        open=list(closes),
        high=[c * 1.01 for c in closes],
        low=[c * 0.99 for c in closes],
        close=list(closes),
        volume=[volume] * len(closes),
    )


# --- OHLCV joins ---------------------------------------------------------------------------


def test_join_rescales_split_like_segment_and_keeps_newest_days() -> None:
    older = frame(0, [50.0, 51.0, 52.0, 53.0], volume=2000.0)
    newer = frame(3, [106.0, 108.0, 110.0], volume=1000.0)
    joined, seams = join_segments([("new", newer), ("old", older)])
    assert joined.close == pytest.approx([100.0, 102.0, 104.0, 106.0, 108.0, 110.0])
    assert joined.high[0] == pytest.approx(101.0)
    assert joined.volume == pytest.approx([1000.0] * 6)
    assert seams[0].factor == pytest.approx(2.0) and seams[0].first_common == D0 + timedelta(3)


def test_join_scales_at_the_seam_not_at_the_last_common_day() -> None:
    # The newer series is printed prices: its ratio to the adjusted older one steps down by a
    # dividend in the middle of the overlap. The seam must use the ratio where the series meet.
    older = frame(0, [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    newer_closes = [10.1, 10.1, 10.1, 10.0, 10.0, 10.0]
    newer = frame(2, newer_closes)
    joined, seams = join_segments([("printed", newer), ("adjusted", older)])
    assert seams[0].factor == pytest.approx(1.01)
    assert not seams[0].steady
    assert joined.close[:3] == pytest.approx([10.1, 10.1, 10.1])  # no jump onto the seam day


def test_join_uses_the_median_of_the_seam_days_against_a_glitch() -> None:
    older = frame(0, [20.0] * 10)
    newer_closes = [40.0, 40.0, 55.0, 40.0, 40.0, 40.0]  # one bad day among the first five
    joined, seams = join_segments([("new", frame(2, newer_closes)), ("old", older)])
    assert seams[0].factor == pytest.approx(2.0)
    assert joined.close[:2] == pytest.approx([40.0, 40.0])


def test_join_chains_three_segments_and_drops_a_segment_without_overlap() -> None:
    oldest = frame(0, [1.0, 2.0, 3.0])
    middle = frame(2, [30.0, 40.0, 50.0])
    newest = frame(4, [100.0, 120.0])
    joined, seams = join_segments([("c", newest), ("b", middle), ("a", oldest)])
    assert joined.close == pytest.approx([20.0, 40.0, 60.0, 80.0, 100.0, 120.0])
    assert [s.older for s in seams] == ["b", "a"]
    alone, no_seams = join_segments([("n", frame(10, [5.0, 6.0])), ("o", frame(0, [1.0, 2.0]))])
    assert alone.close == [5.0, 6.0] and no_seams == []


def test_drop_spikes_removes_single_day_glitch_only() -> None:
    cleaned = drop_spikes(frame(0, [230.0, 229.0, 456.0, 222.0, 227.0, 128.0, 127.0]))
    assert cleaned.close == [230.0, 229.0, 222.0, 227.0, 128.0, 127.0]


# --- key financials ----------------------------------------------------------------------------


def key_row(commit: date, price: float | None, eps: float | None = 2.0, **kw: Any) -> KeyRow:
    """A key-financials row whose close is the previous weekday's."""
    values: dict[str, Any] = {
        "pe_ratio": None,
        "dividend_yield": None,
        "week52_low": None,
        "week52_high": None,
        "market_cap": None,
        "ebitda": None,
        "price_to_sales": None,
        "price_to_book": None,
        "ticker": "X",
    } | kw
    return KeyRow(commit, price_date(commit, []), price, eps=eps, **values)


def test_price_date_is_the_last_session_before_publication() -> None:
    calendar = [date(2026, 5, 21), date(2026, 5, 22), date(2026, 5, 26), date(2026, 8, 20)]
    assert price_date(date(2026, 5, 23), calendar) == date(2026, 5, 22)  # Saturday: Friday
    assert price_date(date(2026, 5, 26), calendar) == date(2026, 5, 22)  # after Memorial Day
    assert price_date(date(2026, 8, 22), calendar) == date(2026, 8, 21)  # past the calendar


def test_priced_rows_drop_republished_and_stale_closes() -> None:
    rows = [
        key_row(date(2026, 5, 20), 10.0),  # Tuesday: Monday's close
        key_row(date(2026, 5, 21), 11.0),
        key_row(date(2026, 5, 23), 12.0),  # Saturday: Friday's close
        key_row(date(2026, 5, 24), 12.0),  # Sunday: the same close again
        key_row(date(2026, 5, 26), 12.5),
        key_row(date(2026, 5, 27), 12.5),  # unchanged on a new day: a stale copy
        key_row(date(2026, 5, 28), None),
    ]
    kept = priced_rows(rows)
    assert [(r.price_date, r.price) for r in kept] == [
        (date(2026, 5, 19), 10.0),
        (date(2026, 5, 20), 11.0),
        (date(2026, 5, 22), 12.0),
        (date(2026, 5, 25), 12.5),
    ]


def test_aliases_are_found_by_company_name() -> None:
    latest = {
        "BK": {"Name": "BNY Mellon", "Price": ""},
        "AAPL": {"Name": "Apple Inc.", "Price": "1"},
    }
    members = [("BNY", "BNY Mellon"), ("AAPL", "Apple Inc."), ("PSKY", "Paramount Skydance")]
    assert find_aliases(members, latest) == {"BNY": ["BK"]}


def test_split_events_and_adjusted_closes_survive_a_lagging_publication() -> None:
    # KLA's 10:1 split as published: EPS moved a day before the price (the middle row).
    rows = [
        key_row(date(2026, 6, 10), 2139.37, eps=35.73),
        key_row(date(2026, 6, 11), 2135.64, eps=35.24),
        key_row(date(2026, 6, 12), 2411.64, eps=3.52),
        key_row(date(2026, 6, 13), 254.54, eps=3.52),
        key_row(date(2026, 6, 16), 256.42, eps=3.56),
    ]
    assert split_events(rows) == [SplitEvent(date(2026, 6, 10), date(2026, 6, 12), 10.0)]
    closes = split_adjusted_closes(rows, date(2026, 1, 1))
    assert [c for _, c in closes] == pytest.approx([213.937, 213.564, 254.54, 256.42])


def test_reverse_split_and_long_gap_need_the_share_count_to_jump() -> None:
    reverse = [
        key_row(date(2026, 6, 23), 48.19, eps=0.38),
        key_row(date(2026, 6, 24), 145.0, eps=1.11),
    ]
    assert [e.ratio for e in split_events(reverse)] == [pytest.approx(1 / 3)]
    cap = 1e11
    split = [
        key_row(date(2025, 2, 1), 1018.38, eps=6.89, market_cap=cap),
        key_row(date(2026, 5, 15), 90.5, eps=1.68, market_cap=cap * 0.45),
    ]
    assert [e.ratio for e in split_events(split)] == [5.0]
    merger = [
        key_row(date(2025, 2, 1), 34.1, eps=5.4, market_cap=cap),
        key_row(date(2026, 5, 15), 47.24, eps=3.59, market_cap=cap * 2.44),
    ]
    assert split_events(merger) == []


# --- fundamentals ------------------------------------------------------------------------------


def series(*pairs: tuple[str, float]) -> list[dict[str, object]]:
    return [{"end": e, "v": v} for e, v in pairs]


def test_fiscal_year_and_usual_year_end() -> None:
    assert fiscal_year(date(2025, 9, 27)) == 2025
    assert fiscal_year(date(2026, 1, 25)) == 2026
    assert fiscal_year(date(2025, 1, 4)) == 2024
    ends = [date(2021, 9, 25), date(2022, 9, 24), date(2023, 9, 30), date(2024, 3, 30)]
    fye = usual_year_end(ends)
    assert fye is not None and abs(fye - (date(2023, 9, 27) - date(2023, 1, 1)).days) <= 4


def test_annual_points_drop_a_trailing_twelve_month_figure() -> None:
    # AMZN's SEC file carries a 2026-06-30 "annual" net income that is a TTM figure.
    points = series(("2024-12-31", 59.2e9), ("2025-12-31", 77.7e9), ("2026-06-30", 135.3e9))
    fye = usual_year_end(date.fromisoformat(str(p["end"])) for p in points)
    kept = annual_points(points, fye)
    assert sorted(kept) == [2024, 2025]
    changed = series(("2015-05-31", 1.0), ("2016-12-31", 2.0), ("2017-12-31", 3.0))
    assert sorted(
        annual_points(changed, usual_year_end([date(2016, 12, 31), date(2017, 12, 31)]))
    ) == [
        2015,
        2016,
        2017,
    ]  # a changed fiscal year end is still annual


@pytest.mark.parametrize(
    ("ratio", "ni", "revenue", "split"),
    [
        (3.66, (-0.86e9, 0.72e9), (24.6e9, 31.5e9), 3.0),  # TSLA 2019 -> 2020: 3:1 plus dilution
        (4.55, (0.10e9, 0.49e9), (1.48e9, 1.93e9), 4.0),  # DXCM: 4:1
        (5.05, (0.33e9, 1.73e9), (7.2e9, 8.9e9), 5.0),  # NOW: net income jumped, still a split
        (4.00, (0.33e9, 0.86e9), (2.15e9, 2.41e9), 4.0),  # ANET
        (2.32, (-0.27e9, 0.44e9), (5.5e9, 6.9e9), 2.0),  # PANW: loss -> profit adds shares
        (1.94, (1.03e9, 1.38e9), (5.3e9, 6.3e9), 2.0),  # ODFL
        (1.49, (0.46e9, 0.61e9), (3.4e9, 4.0e9), 1.5),  # ODFL 3:2
        (2.00, (0.9e9, 1.0e9), (3.8e9, 7.9e9), 1.0),  # a merger: revenue doubled too
        (1.30, (1.0e9, 1.1e9), (5e9, 5.2e9), 1.0),  # buyback/issuance, no split
        (0.125, (-22e9, -5e9), (120e9, 95e9), 1 / 8),  # GE 1:8 reverse
    ],
)
def test_boundary_split(
    ratio: float, ni: tuple[float, float], revenue: tuple[float, float], split: float
) -> None:
    assert boundary_split(ratio, ni, revenue) == pytest.approx(split)


def test_adjust_shares_fixes_units_and_uses_anchors() -> None:
    # WRB-like: counts in thousands for some years, with 3:2 splits inside them.
    raw = {2016: 128.5e6, 2017: 0.19e6, 2019: 0.19e6, 2020: 0.28e6, 2022: 0.42e6, 2023: 410e6}
    basis = adjust_shares(
        sec_shares=raw,
        sec_eps={},
        net_income={},
        revenue={},
        anchors={},
        current_shares=380e6,
        latest_split=1.0,
    )
    assert basis.adjusted(2017) == pytest.approx(0.19e9 * 2.25)
    assert basis.adjusted(2020) == pytest.approx(0.28e9 * 1.5)
    assert basis.adjusted(2016) == pytest.approx(128.5e6 * 2.25 * 1.5)
    # An anchor (yfinance count on today's basis) overrides the year-over-year rule.
    anchored = adjust_shares(
        sec_shares={2019: 887e6, 2020: 3249e6},
        sec_eps={},
        net_income={2019: 1e9, 2020: 1.1e9},
        revenue={},
        anchors={2019: 2661e6},
        current_shares=None,
        latest_split=1.0,
    )
    assert anchored.factor == {2020: 1.0, 2019: 3.0} and 2019 in anchored.anchored


def sec_doc() -> dict[str, Any]:
    """Minimal SEC-annual document with a 2:1 split between FY2023 and FY2024."""
    return {
        "annual": {
            "revenue": series(("2023-12-31", 1e9), ("2024-12-31", 1.1e9)),
            "netIncome": series(("2023-12-31", 100e6), ("2024-12-31", 110e6)),
            "eps": series(("2023-12-31", 10.0), ("2024-12-31", 5.5)),
            "ocf": series(("2023-12-31", 150.0), ("2024-12-31", 160.0)),
            "capex": series(("2023-12-31", 50.0), ("2024-12-31", 40.0)),
            "divPS": series(("2023-12-31", 2.0), ("2024-12-31", 1.1)),
            "dividendsPaid": series(("2023-12-31", 20e6), ("2024-12-31", 22e6)),
        },
        "balances": {"ltDebt": series(("2023-12-31", 70.0), ("2024-12-31", 80.0))},
        "dilutedShares": series(("2023-12-31", 10e6), ("2024-12-31", 20e6)),
    }


def test_build_fundamentals_split_adjusts_and_states_every_source() -> None:
    first, last = build_fundamentals(sec_doc(), None, None)
    assert first["shares_outstanding"] == 20e6 and first["eps_diluted"] == 5.0
    assert "split-adjusted" in first["src"]["eps_diluted"]
    assert "split-adjusted" in first["src"]["shares_outstanding"]
    assert last["eps_diluted"] == 5.5 and "eps_diluted" not in last["src"]  # as reported
    assert first["dividends_per_share"] == 1.0
    assert first["free_cash_flow"] == 100.0 and first["src"]["free_cash_flow"].startswith("derived")
    assert first["total_debt"] == 70.0 and "long-term debt only" in first["src"]["total_debt"]
    assert first["filed"] == "2024-03-15"


def test_build_fundamentals_prefers_yfinance_total_debt_and_names_the_definition() -> None:
    yf = {
        "annual_income": {"2024-12-31": {"Reconciled Depreciation": 9.0, "Diluted EPS": 5.5}},
        "annual_balance": {"2024-12-31": {"Total Debt": 95.0}},
    }
    first, last = build_fundamentals(sec_doc(), yf, None)
    assert last["total_debt"] == 95.0 and "short- plus long-term" in last["src"]["total_debt"]
    assert "long-term debt only" in first["src"]["total_debt"]
    assert last["depreciation_amortization"] == 9.0


def test_reported_eps_wins_over_derived_and_disagreement_is_stated() -> None:
    doc = sec_doc()
    doc["annual"]["eps"] = series(("2023-12-31", 10.0), ("2024-12-31", 2.0))  # preferred dividends
    last = build_fundamentals(doc, None, None)[-1]
    assert last["eps_diluted"] == 2.0 and "differs from net_income" in last["src"]["eps_diluted"]
    yf_only = {
        "annual_income": {
            "2024-12-31": {"Net Income": 20e9, "Diluted EPS": 9.73, "Diluted Average Shares": 2.4e9}
        }
    }
    row = build_fundamentals(None, yf_only, None)[0]
    assert row["eps_diluted"] == 9.73 and "Diluted EPS (reported)" in row["src"]["eps_diluted"]


def test_split_after_the_last_filing_comes_from_the_key_financials() -> None:
    # MNST-like: the 10-K predates a 2:1 split that the published prices show.
    market = MarketShares(
        current=40e6, splits=(SplitEvent(date(2025, 8, 11), date(2025, 8, 12), 2.0),)
    )
    rows = build_fundamentals(sec_doc(), None, None, market)
    assert rows[-1]["shares_outstanding"] == 40e6 and rows[-1]["eps_diluted"] == 2.75
    assert rows[0]["shares_outstanding"] == 40e6
    no_event = build_fundamentals(sec_doc(), None, None, MarketShares(current=40e6))
    assert no_event[-1]["shares_outstanding"] == 20e6  # a jump without a split is not a split


# --- quotes ----------------------------------------------------------------------------------------


def test_build_quote_takes_the_newest_real_close_and_never_invents_one() -> None:
    published = date(2026, 8, 22)
    rows = [key_row(date(2026, 8, 21), 90.5), key_row(date(2026, 8, 22), 91.1, market_cap=1e9)]
    quote = build_quote(rows, None, None, published, "X")
    assert quote["price"] == 91.1 and quote["previous_close"] == 90.5
    assert quote["as_of"] == "2026-08-21" and quote["change"] == pytest.approx(0.6)
    renamed = build_quote(rows, None, None, published, "NEW")
    assert renamed["price_source"] == "sp500-daily-financials (published as X)"
    history = frame(0, [4.0, 5.0])
    from_history = build_quote([], history, "ohlcv/X.csv", published)
    assert from_history["price"] == 5.0 and from_history["as_of"] == (D0 + timedelta(1)).isoformat()
    nothing = build_quote([], None, None, published)
    assert nothing["price"] is None and nothing["market_cap"] is None and nothing["note"]
    ancient = build_quote([key_row(date(2018, 2, 8), 40.0)], None, None, published)
    assert ancient["price"] is None and "2018-02-07" in ancient["note"]


# --- the real build ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    """Snapshot rebuilt from ../shared/data into a temporary folder."""
    if not (SOURCE_DIR / "ticker-metadata").is_dir():
        pytest.skip(f"shared source data not found at {SOURCE_DIR}")
    out = tmp_path_factory.mktemp("snapshot")
    return out, build_snapshot(SOURCE_DIR, out)


@pytest.fixture(scope="module")
def universe(built: tuple[Path, BuildReport]) -> dict[str, Any]:
    out, _ = built
    data: dict[str, Any] = json.loads(gzip.decompress((out / "universe.json.gz").read_bytes()))
    return data


def load_history(out: Path, symbol: str) -> dict[date, float]:
    h = json.loads(gzip.decompress((out / f"history-{symbol}.json.gz").read_bytes()))
    day, closes = date.fromisoformat(h["start"]), {}
    for delta, close in zip(h["d"], h["c"], strict=True):
        day += timedelta(days=delta)
        closes[day] = close
    return closes


def test_real_build_counts(built: tuple[Path, BuildReport], universe: dict[str, Any]) -> None:
    out, report = built
    assert report.symbols == 503
    assert report.with_history >= 99 and report.with_close_history >= 350
    assert report.with_fundamentals >= 500
    assert report.aliases == {"BNY": ["BK"], "FISV": ["FI"], "MRSH": ["MMC"]}
    assert sum(p.stat().st_size for p in out.iterdir()) < 15_000_000
    priced = {s for s, u in universe["symbols"].items() if u["quote"]["price"] is not None}
    assert set(report.no_price) == set(universe["symbols"]) - priced
    assert len(report.no_price) <= 40
    # Every priced symbol has a line chart: OHLCV or at least daily closes.
    assert all(universe["symbols"][s]["has_history"] for s in priced)


def test_real_build_matches_shipped_files(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in SHIPPED.glob("*.json.gz"))
    for name in names:
        assert (out / name).read_bytes() == (SHIPPED / name).read_bytes(), name


def test_no_invented_prices(universe: dict[str, Any]) -> None:
    for sym, entry in universe["symbols"].items():
        q = entry["quote"]
        assert q["source"] != "demo", sym
        if q["price"] is None:
            assert q["note"] and all(
                q[k] is None for k in ("market_cap", "pe_ratio", "change", "previous_close")
            ), sym
        else:
            assert q["price"] > 0 and q["as_of"] <= "2026-08-21", sym


def test_real_quotes_carry_the_date_of_their_close(universe: dict[str, Any]) -> None:
    s = universe["symbols"]
    assert universe["as_of"] == "2026-08-21"
    assert s["AAPL"]["quote"]["as_of"] == "2026-08-21" and s["AAPL"]["quote"]["price"] == 309.35
    bny = s["BNY"]["quote"]  # published as BK; the close stopped changing after 2026-05-20
    assert bny["price"] == 137.16 and bny["as_of"] == "2026-05-20" and "BK" in bny["price_source"]
    mrsh = s["MRSH"]["quote"]  # MMC's OHLCV ends 2026-02-25
    assert mrsh["as_of"] == "2026-02-25" and "MMC.csv" in mrsh["price_source"]


def test_close_only_history_is_split_adjusted(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    # Splits inside the daily run of the key financials: KLAC 10:1, CRWD 4:1, MNST 2:1, DD 1:3.
    for symbol in ("KLAC", "CRWD", "MNST", "DD"):
        closes = list(load_history(out, symbol).values())
        assert len(closes) >= 60, symbol
        assert all(1 / 1.4 < b / a < 1.4 for a, b in itertools.pairwise(closes)), symbol


def read_source_segments(symbol: str) -> list[dict[date, float]]:
    """Closes of one ticker in each OHLCV folder (newest first), as the build reads them."""
    from stockdash.market.snapshot.ohlcv import OHLCV_FOLDERS

    out = []
    for folder in OHLCV_FOLDERS:
        path = SOURCE_DIR / folder / f"{symbol}.csv"
        if path.is_file():
            f = drop_spikes(read_ohlcv_csv(path))
            out.append(dict(zip(f.dates, f.close, strict=True)))
    return out


def test_every_seam_is_continuous(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    assert len(report.seams) >= 95
    for symbol, seams in report.seams.items():
        shipped = load_history(out, symbol)
        yahoo = seams[0].newer.split("/")[1].removesuffix(".csv")
        segments = read_source_segments(yahoo)
        newer = segments[0]
        for seam, older in zip(seams, segments[1:], strict=False):
            common = sorted(set(newer) & set(older))
            ratios = [newer[d] / older[d] for d in common[:SEAM_DAYS]]
            # The two series move together at the seam (same basis there)...
            assert max(ratios) / min(ratios) - 1 < 5e-4, (symbol, seam)
            # ...and the joined series moves across the seam exactly as the older series did.
            before = max(d for d in older if d < seam.first_common)
            joined_move = shipped[seam.first_common] / shipped[before]
            real_move = older[seam.first_common] / older[before]
            assert abs(joined_move / real_move - 1) < 1e-3, (symbol, yahoo, seam.first_common)
            scaled = {d: c * seam.factor for d, c in older.items() if d < seam.first_common}
            newer = {**scaled, **newer}


def real_eps_from_yfinance() -> dict[tuple[str, int], float]:
    """Diluted EPS per (symbol, fiscal year) as yfinance reports it (split-adjusted when fetched)."""
    out: dict[tuple[str, int], float] = {}
    for path in (SOURCE_DIR / "fundamentals-yfinance-2021-2026q" / "companies").glob("*.json"):
        doc = json.loads(path.read_text())
        symbol = path.stem.replace("-", ".")
        periods = list((doc.get("annual_income") or {}).items())
        periods += [(r.get("period", ""), r) for r in doc.get("income_statement") or []]
        for period, labels in periods:
            eps = labels.get("Diluted EPS")
            if isinstance(eps, int | float) and math.isfinite(eps):
                out[symbol, fiscal_year(date.fromisoformat(period[:10]))] = float(eps)
    return out


def test_adjusted_eps_matches_yfinance_wherever_it_reports_one(universe: dict[str, Any]) -> None:
    checked = 0
    for (symbol, fy), eps in real_eps_from_yfinance().items():
        rows = {r["fy"]: r for r in universe["symbols"][symbol]["fundamentals"]}
        assert fy in rows and rows[fy]["eps_diluted"] is not None, (symbol, fy)
        assert rows[fy]["eps_diluted"] == pytest.approx(eps, rel=0.06, abs=0.02), (symbol, fy)
        checked += 1
    assert checked >= 250


def test_eps_agrees_with_net_income_per_diluted_share(universe: dict[str, Any]) -> None:
    rows = checked = flagged = 0
    for symbol, entry in universe["symbols"].items():
        for r in entry["fundamentals"]:
            rows += 1
            eps, shares, ni = r["eps_diluted"], r["shares_outstanding"], r["net_income"]
            if eps is None or not shares or not ni or abs(eps) < 0.1:
                continue
            if "differs from net_income" in r["src"].get("eps_diluted", ""):
                flagged += 1
                continue
            checked += 1
            assert 0.74 <= eps * shares / ni <= 1.36, (symbol, r["fy"], eps, ni / shares)
    assert checked >= 4500 and flagged / rows < 0.03


def test_share_counts_agree_with_market_caps_and_adjusted_prices(
    built: tuple[Path, BuildReport], universe: dict[str, Any]
) -> None:
    """Independent of the split factors: diluted shares x adjusted close ~ published market cap."""
    out, _ = built
    with gzip.open(SOURCE_DIR / "sp500-daily-financials" / "daily_financials.csv.gz", "rt") as fh:
        caps = {
            r["symbol"]: float(r["market_cap"])
            for r in csv.DictReader(fh)
            if r["commit_date"] == "2024-10-10" and r["market_cap"]
        }
    checked = 0
    for symbol, entry in universe["symbols"].items():
        if (entry["history"] or {}).get("kind") != "ohlcv" or symbol not in caps:
            continue
        rows = {r["fy"]: r for r in entry["fundamentals"]}
        close = load_history(out, symbol).get(date(2024, 10, 9))
        shares = (rows.get(2024) or {}).get("shares_outstanding")
        if close and shares:
            checked += 1
            assert 0.7 < shares * close / caps[symbol] < 1.3, symbol
    assert checked >= 80


@pytest.mark.parametrize(
    "symbol", ["NOW", "ANET", "APH", "MCHP", "DXCM", "ODFL", "TSLA", "PANW", "COP", "GOOGL"]
)
def test_audited_share_histories_have_no_split_jumps(universe: dict[str, Any], symbol: str) -> None:
    rows = [r for r in universe["symbols"][symbol]["fundamentals"] if r["shares_outstanding"]]
    assert len(rows) >= 5
    for a, b in itertools.pairwise(rows):
        assert 1 / 1.3 < b["shares_outstanding"] / a["shares_outstanding"] < 1.3, (symbol, b["fy"])


def test_audited_figures(universe: dict[str, Any]) -> None:
    s = universe["symbols"]
    v = {r["fy"]: r for r in s["V"]["fundamentals"]}
    assert v[2024]["eps_diluted"] == 9.73  # reported, not net income / yfinance shares
    googl = {r["fy"]: r for r in s["GOOGL"]["fundamentals"]}
    assert all(googl[fy]["eps_diluted"] is not None for fy in range(2016, 2022))
    assert googl[2019]["eps_diluted"] == pytest.approx(49.16 / 20)
    tsla = {r["fy"]: r for r in s["TSLA"]["fundamentals"]}
    assert tsla[2019]["eps_diluted"] == pytest.approx(-0.98 / 3, abs=0.001)  # 3:1 in 2022, not 4
    assert tsla[2017]["eps_diluted"] == pytest.approx(-11.83 / 15, abs=0.001)
    assert not [r for r in s["AMZN"]["fundamentals"] if r["end"] == "2026-06-30"]


def test_every_row_is_an_annual_period(universe: dict[str, Any]) -> None:
    for symbol, entry in universe["symbols"].items():
        ends = [date.fromisoformat(r["end"]) for r in entry["fundamentals"]]
        for a, b in itertools.pairwise(ends):
            assert (b - a).days >= 300, (symbol, a, b)
