"""Tests of the snapshot build: OHLCV join, split rules, fundamentals merge and the real build."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from stockdash.market.snapshot.build import (
    Frame,
    build_fundamentals,
    build_quote,
    build_snapshot,
    drop_spikes,
    fiscal_year,
    fix_share_units,
    join_segments,
    split_adjust_shares,
    split_factor,
)

SOURCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
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


def test_join_rescales_split_like_segment_and_keeps_newest_days() -> None:
    older = frame(0, [50.0, 51.0, 52.0, 53.0], volume=2000.0)
    newer = frame(3, [106.0, 108.0, 110.0], volume=1000.0)
    joined = join_segments([newer, older])
    assert joined.close == pytest.approx([100.0, 102.0, 104.0, 106.0, 108.0, 110.0])
    assert joined.open == pytest.approx(joined.close)
    assert joined.high[0] == pytest.approx(101.0)
    assert joined.volume == pytest.approx([1000.0] * 6)
    assert all(a < b for a, b in zip(joined.dates, joined.dates[1:], strict=False))
    assert len(set(joined.dates)) == len(joined.dates) == 6


def test_join_uses_latest_common_date_and_leaves_volume_on_dividend_rebase() -> None:
    older = frame(0, [10.0, 10.0, 20.0, 20.0], volume=500.0)
    newer = frame(1, [9.0, 19.8, 19.8, 21.0])
    joined = join_segments([newer, older])
    assert joined.close == pytest.approx([9.9, 9.0, 19.8, 19.8, 21.0])
    assert joined.volume[0] == pytest.approx(500.0)


def test_join_chains_three_segments_and_sorts_unsorted_input() -> None:
    oldest = frame(0, [1.0, 2.0, 3.0])
    middle = frame(2, [30.0, 40.0, 50.0])
    unsorted = Frame(
        dates=[D0 + timedelta(days=5), D0 + timedelta(days=4)],
        open=[120.0, 100.0],
        high=[120.0, 100.0],
        low=[120.0, 100.0],
        close=[120.0, 100.0],
        volume=[1.0, 1.0],
    )
    joined = join_segments([unsorted, middle, oldest])
    assert joined.close == pytest.approx([20.0, 40.0, 60.0, 80.0, 100.0, 120.0])
    assert joined.dates == [D0 + timedelta(days=i) for i in range(6)]


def test_join_drops_segment_without_overlap() -> None:
    joined = join_segments([frame(10, [5.0, 6.0]), frame(0, [1.0, 2.0])])
    assert joined.close == [5.0, 6.0]


def test_drop_spikes_removes_single_day_glitch_only() -> None:
    cleaned = drop_spikes(frame(0, [230.0, 229.0, 456.0, 222.0, 227.0, 128.0, 127.0]))
    assert cleaned.close == [230.0, 229.0, 222.0, 227.0, 128.0, 127.0]


def test_split_factor() -> None:
    assert split_factor(3.81) == 4
    assert split_factor(2.0) == 2
    assert split_factor(1 / 8.1) == -8
    assert split_factor(1.5) == 0
    assert split_factor(2.5) == 0
    assert split_factor(1.02) == 0


def test_split_adjust_shares_forward_reverse_and_merger() -> None:
    adj, splits = split_adjust_shares(
        {2017: 5.25e9, 2018: 20.0e9, 2019: 18.6e9}, {2017: 48e9, 2018: 59e9, 2019: 55e9}
    )
    assert splits == [2018]
    assert adj[2017] == pytest.approx(21.0e9)
    assert adj[2019] == 18.6e9
    adj, splits = split_adjust_shares({2020: 8.8e9, 2021: 1.1e9}, {})
    assert splits == [2021]
    assert adj[2020] == pytest.approx(1.1e9)
    adj, splits = split_adjust_shares({2020: 1e9, 2021: 2e9}, {2020: 1e9, 2021: 2.1e9})
    assert splits == []
    assert adj[2020] == 1e9


def test_fix_share_units() -> None:
    fixed = fix_share_units({2020: 750.1e6, 2021: 751.8, 2022: 274616.0, 2023: 1.5e12})
    assert fixed == {2020: 750.1e6, 2021: pytest.approx(751.8e6), 2022: 274.616e6, 2023: 1.5e9}


def test_reported_eps_is_split_adjusted_or_omitted_when_inconsistent() -> None:
    doc = sec_doc()
    annual = doc["annual"]
    assert isinstance(annual, dict)
    annual["eps"] = [{"end": "2023-12-31", "v": 9.9}, {"end": "2024-12-31", "v": 1.0}]
    first, last = build_fundamentals(doc, None, None)
    assert first["eps_diluted"] == 4.95
    assert "split-adjusted" in first["src"]["eps_diluted"]
    assert last["eps_diluted"] is None
    assert last["src"]["eps_diluted"].startswith("omitted")


def test_fiscal_year_rule() -> None:
    assert fiscal_year(date(2025, 9, 27)) == 2025
    assert fiscal_year(date(2026, 1, 25)) == 2026
    assert fiscal_year(date(2025, 1, 4)) == 2024


def sec_doc() -> dict[str, object]:
    """Minimal SEC-annual style document with a 2:1 split in 2024."""

    def series(*pairs: tuple[str, float]) -> list[dict[str, object]]:
        return [{"end": e, "v": v} for e, v in pairs]

    return {
        "annual": {
            "netIncome": series(("2023-12-31", 100e6), ("2024-12-31", 110e6)),
            "ocf": series(("2023-12-31", 150.0), ("2024-12-31", 160.0)),
            "capex": series(("2023-12-31", 50.0), ("2024-12-31", 40.0)),
            "divPS": series(("2023-12-31", 2.0), ("2024-12-31", 1.1)),
            "dividendsPaid": series(("2023-12-31", 20e6), ("2024-12-31", 22e6)),
        },
        "balances": {"ltDebt": series(("2023-12-31", 70.0), ("2024-12-31", 80.0))},
        "dilutedShares": series(("2023-12-31", 10e6), ("2024-12-31", 20e6)),
    }


def test_build_fundamentals_sec_only() -> None:
    rows = build_fundamentals(sec_doc(), None, None)
    assert [r["fy"] for r in rows] == [2023, 2024]
    first, last = rows
    assert first["filed"] == "2024-03-15" and first["end"] == "2023-12-31"
    assert first["shares_outstanding"] == 20e6
    assert first["eps_diluted"] == 5.0 and last["eps_diluted"] == 5.5
    assert first["dividends_per_share"] == 1.0
    assert first["free_cash_flow"] == 100.0
    assert first["total_debt"] == 70.0
    assert "long-term" in first["src"]["total_debt"]
    assert first["depreciation_amortization"] is None


def test_build_fundamentals_prefers_yfinance_total_debt_and_fills_gaps() -> None:
    yf = {
        "annual_income": {"2024-12-31": {"Reconciled Depreciation": 9.0, "Total Revenue": 500.0}},
        "annual_balance": {"2024-12-31": {"Total Debt": 95.0}},
    }
    last = build_fundamentals(sec_doc(), yf, None)[-1]
    assert last["total_debt"] == 95.0
    assert last["depreciation_amortization"] == 9.0
    assert last["revenue"] == 500.0
    assert last["src"]["revenue"] == "fundamentals-yfinance-2021-2026q"


def test_build_fundamentals_snapshot_only_uses_reported_eps() -> None:
    snap = {
        "annual": {
            "periods": ["2025-12-31", "2024-12-31"],
            "net_income": [10.0, 8.0],
            "eps": [2.0, 1.6],
            "cfo": [20.0, 18.0],
            "capex": [-5.0, -4.0],
            "debt": [7.0, None],
        }
    }
    rows = build_fundamentals(None, None, snap)
    assert [r["fy"] for r in rows] == [2024, 2025]
    assert rows[1]["eps_diluted"] == 2.0
    assert rows[1]["capital_expenditure"] == 5.0 and rows[1]["free_cash_flow"] == 15.0
    assert rows[0]["total_debt"] is None


def test_build_quote_fallbacks() -> None:
    as_of = date(2026, 8, 22)
    real = build_quote({"Price": "10", "Market Cap": "1e9"}, [8.0, 9.0, 10.0], as_of, None)
    assert real["source"] == "snapshot" and real["previous_close"] == 9.0
    assert real["change"] == 1.0 and real["change_percent"] == pytest.approx(11.1111)
    from_history = build_quote({"Price": ""}, [], as_of, frame(0, [4.0, 5.0]))
    assert from_history["price"] == 5.0 and from_history["change"] == 1.0
    assert from_history["as_of"] == (D0 + timedelta(days=1)).isoformat()
    demo = build_quote(None, [], as_of, None)
    assert demo["source"] == "demo" and demo["change"] is None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """Snapshot rebuilt from ../shared/data into a temporary folder."""
    if not (SOURCE_DIR / "ticker-metadata").is_dir():
        pytest.skip(f"shared source data not found at {SOURCE_DIR}")
    out = tmp_path_factory.mktemp("snapshot")
    return out, build_snapshot(SOURCE_DIR, out)


def test_real_build_counts(built: tuple[Path, object]) -> None:
    out, report = built
    assert report.symbols == 503
    assert report.with_history >= 95
    assert report.with_fundamentals >= 500
    assert report.demo_fields <= 45
    assert sum(p.stat().st_size for p in out.iterdir()) < 15_000_000


def test_real_build_matches_shipped_files(built: tuple[Path, object]) -> None:
    out, _ = built
    shipped = Path(__file__).resolve().parents[2] / "src" / "stockdash" / "market" / "data"
    for name in ("universe.json.gz", "daily_key_stats.json.gz", "history-AAPL.json.gz"):
        assert (out / name).read_bytes() == (shipped / name).read_bytes(), name


@pytest.mark.parametrize(
    "symbol", ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "JPM", "KO", "WMT", "XOM", "JNJ"]
)
def test_real_history_has_no_seam_jump(built: tuple[Path, object], symbol: str) -> None:
    out, _ = built
    h = json.loads(gzip.decompress((out / f"history-{symbol}.json.gz").read_bytes()))
    assert h["d"][0] == 0 and all(d > 0 for d in h["d"][1:])
    closes = h["c"]
    for a, b in itertools.pairwise(closes):
        assert 1 / 1.4 < b / a < 1.4
