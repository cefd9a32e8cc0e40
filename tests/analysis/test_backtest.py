"""The model backtest: metric functions, the no-look-ahead guarantee, a tiny run and the API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from stockdash.analysis import backtest as bt
from stockdash.analysis.context import build_market_context
from stockdash.analysis.performance import (
    DEFAULT_RESULTS_PATH,
    ModelPerformanceReport,
    load_report,
    results_path,
    router,
)
from stockdash.core.errors import NotFound, install_error_handlers
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import Bar, FundamentalsYear

SYMBOLS = ("AAPL", "JPM", "KO", "MSFT", "WMT", "XOM")
T = date(2024, 6, 3)


@pytest.fixture(scope="module")
def panel() -> dict[str, bt.Series]:
    return asyncio.run(bt.load_panel(SnapshotProvider(), SYMBOLS))


# --- metric functions ---------------------------------------------------------------------------


def test_ranks_average_ties() -> None:
    assert bt.ranks([10.0, 30.0, 20.0, 30.0]) == [1.0, 3.5, 2.0, 3.5]


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        ([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], 0.8),  # 1 - 6 * 4 / (5 * 24)
        ([1, 2, 3, 4, 5], [50, 40, 30, 20, 10], -1.0),
        ([1, 2, 3, 4, 5], [1, 4, 9, 16, 25], 1.0),  # monotonic, not linear
        ([1, 2, 2, 3], [1, 2, 3, 4], 3 / math.sqrt(10)),  # Pearson on average ranks
    ],
)
def test_spearman_known_values(xs: list[float], ys: list[float], expected: float) -> None:
    assert bt.spearman(xs, ys) == pytest.approx(expected)


def test_spearman_undefined_for_constant_scores() -> None:
    assert bt.spearman([50, 50, 50], [0.1, -0.2, 0.3]) is None
    assert bt.spearman([1.0], [2.0]) is None


def test_t_stat() -> None:
    # mean 0.02, sample stdev 0.01, n 4 -> 0.02 / (0.01 / 2) = 4
    values = [0.01, 0.02, 0.03, 0.02]
    assert bt.t_stat(values) == pytest.approx(0.02 / (math.sqrt(0.0002 / 3) / 2))
    assert bt.t_stat([0.1, 0.1]) is None


def test_max_drawdown_of_known_curve() -> None:
    assert bt.max_drawdown([1.0, 1.2, 0.9, 1.3, 0.65, 1.0]) == pytest.approx(-0.5)
    assert bt.max_drawdown([1.0, 1.1, 1.2]) == 0.0


def test_sharpe_and_sortino_on_known_series() -> None:
    monthly = [0.01, 0.03, -0.01, 0.01]
    # mean 0.01, sample stdev sqrt(0.0008 / 3); downside deviation sqrt(0.0001 / 4) = 0.005
    assert bt.sharpe(monthly) == pytest.approx(0.01 / math.sqrt(0.0008 / 3) * math.sqrt(12))
    assert bt.sharpe(monthly) == pytest.approx(1.5 * math.sqrt(2))
    assert bt.sortino(monthly) == pytest.approx(0.01 / 0.005 * math.sqrt(12))
    assert bt.sortino([0.01, 0.02]) is None  # no down month
    assert bt.sharpe([0.01, 0.01]) is None


def test_annualised_return_and_equity_curve() -> None:
    assert bt.annualised_return([0.01] * 24) == pytest.approx(1.01**12 - 1)
    assert bt.equity_curve([0.1, -0.5]) == pytest.approx([1.0, 1.1, 0.55])


def test_top_weights_equal_and_tie_sharing() -> None:
    scores = {s: float(i) for i, s in enumerate("abcdefghij")}
    assert bt.top_weights(scores) == {"j": 0.5, "i": 0.5}
    tied = {"a": 90.0, "b": 80.0, "c": 80.0, "d": 80.0, **{s: 10.0 for s in "efghij"}}
    weights = bt.top_weights(tied)
    assert weights["a"] == pytest.approx(0.5)
    assert weights["b"] == weights["c"] == weights["d"] == pytest.approx(1 / 6)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert bt.top_weights({"x": 1.0, "y": 2.0}) == {"y": 1.0}


def test_turnover_and_its_cost() -> None:
    old = {"A": 0.5, "B": 0.5}
    new = {"B": 0.5, "C": 0.5}
    assert bt.one_way_turnover(old, new) == pytest.approx(0.5)
    assert bt.one_way_turnover({}, new) == pytest.approx(1.0)
    assert bt.one_way_turnover(new, new) == 0.0
    # 10 bps on 50 % turnover costs 0.05 % of the portfolio before the 2 % month
    assert bt.net_return(0.02, 0.5, 10.0) == pytest.approx(0.9995 * 1.02 - 1)
    assert bt.net_return(0.02, 0.0, 10.0) == pytest.approx(0.02)


def test_drift_renormalises() -> None:
    drifted = bt.drift({"A": 0.5, "B": 0.5}, {"A": 1.0, "B": 0.0})
    assert drifted == pytest.approx({"A": 2 / 3, "B": 1 / 3})


def test_rebalance_dates_are_first_trading_days(panel: dict[str, bt.Series]) -> None:
    dates = bt.rebalance_dates(panel, date(2024, 1, 1), date(2024, 12, 31))
    assert len(dates) == 12
    assert dates[0] == date(2024, 1, 2)  # 1 January is a holiday
    assert all(d.day <= 4 for d in dates)


# --- no look-ahead ------------------------------------------------------------------------------


def test_point_in_time_data_only_holds_the_past(panel: dict[str, bt.Series]) -> None:
    stocks = bt.universe_at(panel, T)
    assert set(stocks) == set(SYMBOLS)
    for symbol, data in stocks.items():
        assert data.history and all(b.date <= T for b in data.history)
        assert data.fundamentals and all(f.filed <= T for f in data.fundamentals)
        assert data.quote.as_of == T
        assert data.quote.price == data.history[-1].close
        assert data.profile.market_cap == data.quote.market_cap
        assert any(f.filed > T for f in panel[symbol].fundamentals)  # the future existed
        latest = data.fundamentals[-1]
        if latest.eps_diluted and latest.eps_diluted > 0:
            assert data.quote.pe_ratio == pytest.approx(data.quote.price / latest.eps_diluted)


def _absurd_future(series: bt.Series) -> bt.Series:
    """The series with every bar and filing after T replaced or extended by absurd numbers."""
    last = series.bars[-1]
    future_bars = [
        Bar(date=last.date + timedelta(days=i), open=1e6, high=1e7, low=1.0, close=1e6, volume=1.0)
        for i in range(1, 30)
    ]
    bars = [b if b.date <= T else dataclasses.replace(b, close=b.close * 50) for b in series.bars]
    absurd: dict[str, Any] = {
        "revenue": 1e15,
        "net_income": -1e14,
        "eps_diluted": -999.0,
        "shareholders_equity": -1e12,
        "shares_outstanding": 1.0,
        "dividends_per_share": 1e4,
        "total_debt": 1e16,
    }
    funds = [f if f.filed <= T else dataclasses.replace(f, **absurd) for f in series.fundamentals]
    # A year whose period ended before T but which is filed only after T.
    filed_late = FundamentalsYear(
        fiscal_year=2099,
        period_end=T - timedelta(days=3),
        filed=T + timedelta(days=72),
        filed_estimated=True,
        **absurd,
    )
    return bt.make_series(series.profile, bars + future_bars, [*funds, filed_late])


def test_future_data_does_not_change_scores(panel: dict[str, bt.Series]) -> None:
    before = bt.scores_at(panel, T)
    mutated = {s: _absurd_future(series) for s, series in panel.items()}
    assert bt.scores_at(mutated, T) == before
    assert all(len(scores) == len(SYMBOLS) for scores in before.values())


def test_the_mutation_would_be_noticed_before_t(panel: dict[str, bt.Series]) -> None:
    """Control: the same absurd numbers filed before T do move the scores."""
    before = bt.scores_at(panel, T)
    early = {
        s: bt.make_series(
            series.profile,
            series.bars,
            [
                dataclasses.replace(f, eps_diluted=-999.0, net_income=-1e14)
                for f in series.fundamentals
            ],
        )
        for s, series in panel.items()
    }
    assert bt.scores_at(early, T) != before


def test_market_context_matches_build_market_context(panel: dict[str, bt.Series]) -> None:
    stocks = list(bt.universe_at(panel, T).values())
    fast = bt.market_context_at(stocks, bt.all_index_returns(panel), T)
    reference = build_market_context(stocks, as_of=T)
    assert fast.sector_pe_median == reference.sector_pe_median
    assert fast.index_returns.keys() == reference.index_returns.keys()
    for day, value in reference.index_returns.items():
        assert fast.index_returns[day] == pytest.approx(value, rel=1e-12)


# --- end to end ---------------------------------------------------------------------------------


async def test_tiny_backtest_gives_finite_figures_for_every_model(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    result = await bt.run_backtest(
        SnapshotProvider(),
        start=date(2024, 1, 1),
        end=date(2024, 9, 30),
        symbols=SYMBOLS,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result.rebalances == 8
    assert calls[-1] == (8, 8)
    assert [m.universe_size for m in result.months] == [6] * 8
    assert {s.model for s in result.models} == set(bt.ALL)
    for s in result.models:
        numbers = [
            s.rank_ic, s.hit_rate, s.top_quintile_return, s.universe_return, s.excess_return,
            s.sharpe, s.sortino, s.max_drawdown,
        ]  # fmt: skip
        assert all(n is not None and math.isfinite(n) for n in numbers), s
        assert s.months == 8 and len(s.equity_curve) == 9
        assert s.equity_curve[0] == (date(2024, 1, 2), 1.0)
        assert -1.0 <= s.max_drawdown <= 0.0 and 0.0 <= s.hit_rate <= 1.0  # type: ignore[operator]

    out, doc = tmp_path / "perf.json", tmp_path / "perf.md"
    report = bt.write_outputs(result, out, doc)
    assert load_report(out) == report
    stored = json.loads(out.read_text())
    assert stored["source"] == bt.SOURCE and stored["note"] == bt.NOTE
    first = doc.read_text().splitlines()[0]
    for phrase in ("Yahoo Finance", "SEC EDGAR", "75 days", "Survivorship bias"):
        assert phrase in first


async def test_run_backtest_rejects_an_empty_period() -> None:
    with pytest.raises(ValueError, match="two rebalance dates"):
        await bt.run_backtest(
            SnapshotProvider(), start=date(2024, 1, 1), end=date(2024, 1, 20), symbols=["KO"]
        )


def test_shipped_results_file_is_valid() -> None:
    report = load_report()
    assert report.source == bt.SOURCE
    assert {m.model for m in report.models} == set(bt.ALL)
    assert report.rebalances > 100


# --- API ----------------------------------------------------------------------------------------


def _client(path: Path) -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router, prefix="/api/v1")
    app.dependency_overrides[results_path] = lambda: path
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_route_serves_the_results_file(tmp_path: Path) -> None:
    path = tmp_path / "perf.json"
    path.write_text(DEFAULT_RESULTS_PATH.read_text())
    async with _client(path) as client:
        r = await client.get("/api/v1/models/performance")
    assert r.status_code == 200, r.text
    assert ModelPerformanceReport.model_validate(r.json()) == load_report(path)
    assert r.json() == json.loads(path.read_text())


async def test_route_404s_with_the_error_shape_when_missing(tmp_path: Path) -> None:
    async with _client(tmp_path / "absent.json") as client:
        r = await client.get("/api/v1/models/performance")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "model_performance_not_found"
    assert "stockdash backtest" in error["message"]


def test_load_report_raises_not_found_for_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{}")
    with pytest.raises(NotFound):
        load_report(path)
