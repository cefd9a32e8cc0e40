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
    assert bt.period_return([0.1, -0.5]) == pytest.approx(1.1 * 0.5 - 1)
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
    for name in ("sector_beta_median", "industry_beta_median"):
        fast_medians, reference_medians = getattr(fast, name), getattr(reference, name)
        assert fast_medians.keys() == reference_medians.keys(), name
        for key, value in reference_medians.items():
            assert fast_medians[key] == pytest.approx(value, rel=1e-9), (name, key)
    assert fast.index_returns.keys() == reference.index_returns.keys()
    for day, value in reference.index_returns.items():
        assert fast.index_returns[day] == pytest.approx(value, rel=1e-12)


# --- end to end ---------------------------------------------------------------------------------


async def test_tiny_backtest_gives_finite_figures_for_every_model(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    result = await bt.run_backtest(
        SnapshotProvider(),
        start=date(2024, 1, 1),
        end=date(2025, 1, 31),
        symbols=SYMBOLS,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result.rebalances == bt.MIN_MONTHS == 12
    assert calls[-1] == (12, 12)
    assert [m.universe_size for m in result.months] == [6] * 12
    assert {s.model for s in result.models} == set(bt.ALL)
    for s in result.models:
        numbers = [
            s.rank_ic, s.hit_rate, s.top_quintile_return, s.universe_return, s.excess_return,
            s.sharpe, s.sortino, s.max_drawdown,
        ]  # fmt: skip
        assert all(n is not None and math.isfinite(n) for n in numbers), s
        assert s.annualised and s.months == 12 and len(s.equity_curve) == 13
        assert (s.equity_curve[0].date, s.equity_curve[0].value) == (date(2024, 1, 2), 1.0)
        assert -1.0 <= s.max_drawdown <= 0.0 and 0.0 <= s.hit_rate <= 1.0  # type: ignore[operator]

    out, doc = tmp_path / "perf.json", tmp_path / "perf.md"
    report = bt.write_outputs(result, out, doc)
    assert load_report(out) == report
    stored = json.loads(out.read_text())
    assert stored["source"] == bt.SOURCE and stored["note"] == bt.note(result)
    first = doc.read_text().splitlines()[0]
    for phrase in ("Yahoo Finance", "SEC EDGAR", "75 days", "Survivorship bias",
                   "demonstrate the point-in-time method, not the models' skill",
                   "the 6 S&P 500 members"):  # fmt: skip
        assert phrase in first
    assert {m["model"]: m["average_turnover"] for m in stored["models"]} == {
        s.model: s.average_turnover for s in result.models
    }
    assert (
        stored["periods"] == []
    )  # the six symbols all have history: one universe size, no sub-periods


async def test_sharpe_and_analysts_use_the_constant_risk_free_setting() -> None:
    rates = bt.Assumptions(risk_free_rate=0.05, equity_risk_premium=0.06)
    result = await bt.run_backtest(
        SnapshotProvider(), start=date(2024, 1, 1), end=date(2025, 1, 31), symbols=SYMBOLS,
        assumptions=rates,
    )  # fmt: skip
    for s in result.models:
        net = [m.models[s.model].net for m in result.months]
        assert s.sharpe == pytest.approx(bt.sharpe(net, 0.05))
        assert s.sharpe != pytest.approx(bt.sharpe(net, 0.0))
    report = bt.to_report(result)
    assert report.risk_free_rate == 0.05 and report.assumptions["equity_risk_premium"] == 0.06
    assert any("Constant risk-free rate: 5 %" in c for c in report.caveats)


def test_assumptions_reach_the_analysts(panel: dict[str, bt.Series]) -> None:
    default = bt.scores_at(panel, T, ("dcf_math",))
    costly = bt.scores_at(panel, T, ("dcf_math",), assumptions=bt.Assumptions(credit_spread=0.10))
    assert costly != default
    with pytest.raises(ValueError):
        bt.Assumptions(tax_rate=1.5)


EARLY_AND_LATE = ("AAPL", "KO", "ABT", "ACN", "ADBE", "AMD")  # AAPL, KO have pre-2023 history
LATE_START = date(2023, 1, 3)  # the first bar of ABT, ACN, ADBE and AMD in the snapshot


async def test_text_is_derived_from_the_data_used(tmp_path: Path) -> None:
    """Universe counts, sub-periods, leaders and provenance counts come from the run's data."""
    snapshot = SnapshotProvider()
    result = await bt.run_backtest(
        snapshot, start=date(2023, 1, 1), end=date(2025, 3, 3), symbols=EARLY_AND_LATE
    )
    data = result.data
    assert data is not None
    # The four late symbols have bars from 2023-01-03 but enter only once they have a year of them.
    sizes = [m.universe_size for m in result.months]
    assert sizes == [2] * 13 + [6] * 13
    first, second = data.segments
    assert (first.start, first.end, first.symbols, first.max_size) == (
        date(2023, 1, 3), date(2024, 2, 1), 2, 2
    )  # fmt: skip
    assert second.start == date(2024, 2, 1) >= LATE_START + timedelta(days=bt.MIN_HISTORY_DAYS)
    assert second.symbols_so_far == data.symbols == 6
    assert data.merged == () and data.short_history == 0
    panel = await bt.load_panel(snapshot, EARLY_AND_LATE)
    expected = {
        s: bt.close_on_or_before(panel[s], date(2024, 2, 1))  # type: ignore[operator]
        / bt.close_on_or_before(panel[s], date(2023, 1, 3))
        - 1
        for s in ("AAPL", "KO")
    }
    assert dict(data.leaders) == pytest.approx(expected)
    years = [f for s in panel.values() for f in s.fundamentals if f.filed <= result.period_end]
    assert data.fiscal_years == len(years)
    assert data.estimated_filings == sum(f.filed_estimated for f in years)
    long_term = sum(
        "long-term debt only" in (f.sources or snapshot.fundamentals_sources(sym).get(
            f.fiscal_year, {})).get("total_debt", "")
        for sym, series in panel.items() for f in series.fundamentals
        if f.filed <= result.period_end and f.total_debt is not None
    )  # fmt: skip
    assert data.debt_long_term_only == long_term and data.debt_total > 0
    total_debt_years = [
        f.fiscal_year for f in years
        if f.total_debt is not None and "long-term debt only" not in f.sources.get("total_debt", "")
    ]  # fmt: skip
    assert data.debt_total_from == min(total_debt_years)
    assert all("yfinance" in source for source in data.yfinance_sources)
    report = bt.to_report(result)
    assert "the 6 S&P 500 members of today with a year of price history" in report.note
    assert "(only 2 before 2024-02-01)" in report.note
    text = " ".join(report.caveats)
    assert f"{data.estimated_filings} of the {data.fiscal_years} fiscal years" in text
    assert f"{data.yfinance_fields} year-fields" in text
    assert f"fiscal years {data.debt_total_from} on" in text
    assert f"{long_term} symbol-years carry SEC long-term debt only" in text
    assert "Before 2024-02-01 the universe holds only 2 symbols" in text
    assert "AAPL" in text and "KO" in text
    assert "Too short" not in text and "History requirement" not in text
    assert "restated" in text.lower()
    for stale in ("~99", "25 before 2023", "NVDA", "TSLA"):
        assert stale not in report.note + text
    assert [(p.label, p.start, p.end) for p in report.periods] == [
        ("2 stocks", date(2023, 1, 3), date(2024, 2, 1)),
        ("6 stocks", date(2024, 2, 1), date(2025, 3, 3)),
    ]
    assert all(m.annualised and m.months == 13 for p in report.periods for m in p.models)
    assert all(m.sharpe is not None for p in report.periods for m in p.models)
    markdown = bt.render_markdown(result, report)
    assert "## By universe size" in markdown and "## Caveats" in markdown
    assert "### 2023-01-03 to 2024-02-01 (2 stocks, 13 months)" in markdown


def test_history_requirement_on_real_bars(panel: dict[str, bt.Series]) -> None:
    """A stock enters once its bars span a year and number 200, whatever the rest of the panel."""
    aapl = panel["AAPL"]
    first = date(2023, 1, 3)
    young = bt.make_series(aapl.profile, [b for b in aapl.bars if b.date >= first], [])
    assert young.dates[0] == first
    year_later = first + timedelta(days=bt.MIN_HISTORY_DAYS)
    assert not bt.has_history(young, year_later - timedelta(days=1))
    assert bt.has_history(young, year_later)
    assert bt.has_history(aapl, year_later)
    short_but_many = bt.make_series(aapl.profile, young.bars[: bt.MIN_HISTORY_BARS - 1], [])
    assert not bt.has_history(short_but_many, year_later)  # a year's span, 199 bars
    mixed = {**panel, "YOUNG": young}
    assert "YOUNG" not in bt.universe_at(mixed, year_later - timedelta(days=1))
    assert bt.universe_at(mixed, year_later)["YOUNG"].history[-1].date <= year_later


CLOSE_ONLY = "A"  # Agilent: the snapshot has only its published daily closes, from 2026-05


async def test_close_only_symbols_without_a_year_of_history_stay_out() -> None:
    snapshot = SnapshotProvider()
    result = await bt.run_backtest(
        snapshot, start=date(2026, 3, 1), end=date(2026, 8, 21), symbols=("AAPL", "KO", CLOSE_ONLY)
    )
    panel = await bt.load_panel(snapshot, (CLOSE_ONLY,))
    series = panel[CLOSE_ONLY]
    assert all(b.open is None for b in series.bars)  # really close-only
    assert bt.has_recent_close(series, result.months[-1].start)
    assert all(m.symbols == {"AAPL", "KO"} for m in result.months)
    data = result.data
    assert data is not None
    assert (data.short_history, data.short_history_from) == (1, series.dates[0])
    report = bt.to_report(result)
    assert (
        "the 2 S&P 500 members of today with a year of price history in the snapshot, "
        "leaving out 1 more with a shorter history." in report.note
    )
    assert any(
        c.startswith("History requirement: of the symbols with a close on some rebalance date, 1 ")
        and f"start {series.dates[0]} or later" in c
        for c in report.caveats
    )
    # Five months: nothing is annualised, and the page says so.
    assert all(not m.annualised and m.sharpe is None and m.sortino is None for m in report.models)
    net = [m.models["basic"].net for m in result.months]
    basic = next(m for m in report.models if m.model == "basic")
    assert basic.top_quintile_return == pytest.approx(math.prod(1 + r for r in net) - 1)
    markdown = bt.render_markdown(result, report)
    assert "Too short to annualise (under 12 months)" in markdown
    assert "Top quintile cumulative" in markdown and "p.a." not in markdown.split("## Method")[0]


def _month(size: int, start: date, net: float = 0.01, universe: float = 0.005) -> bt.Month:
    """A synthetic holding period (for the grouping and annualisation rules only)."""
    row = bt.ModelMonth(ic=0.1, gross=net, net=net, turnover=0.2)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return bt.Month(start, end, size, universe, dict.fromkeys(bt.ALL, row))


def _months(sizes: list[int], net: list[float] | None = None) -> list[bt.Month]:
    starts = [date(2016 + i // 12, i % 12 + 1, 1) for i in range(len(sizes))]
    returns = net or [0.01] * len(sizes)
    return [_month(n, d, r) for n, d, r in zip(sizes, starts, returns, strict=True)]


def test_universe_segments_split_on_size_jumps() -> None:
    sizes = [25, 25, 99, 100, 99, 465, 465]
    groups = bt.universe_segments(_months(sizes))
    assert [[m.universe_size for m in g] for g in groups] == [[25, 25], [99, 100, 99], [465, 465]]
    assert len(bt.universe_segments(_months([6, 8]))) == 1  # within 1.5x
    assert bt.universe_segments([]) == []


@pytest.mark.parametrize(
    ("lengths", "merged"),
    [
        ([94, 30], [94, 30]),
        ([81, 41, 2], [81, 43]),  # a short tail joins the sub-period before it
        ([3, 20], [23]),  # a short head joins the next one
        ([20, 3, 5, 12], [28, 12]),
        ([5], [5]),
        ([], []),
    ],
)
def test_short_sub_periods_are_merged(lengths: list[int], merged: list[int]) -> None:
    groups = [_months([10] * n) for n in lengths]
    assert [len(g) for g in bt.merge_short(groups)] == merged


def test_a_short_tail_gets_no_table_and_no_ratios_of_its_own() -> None:
    months = _months([25] * 13 + [100] * 13 + [465] * 2)
    models = tuple(bt.summarise(m, months) for m in bt.ALL)
    result = bt.BacktestResult(
        months[0].start, months[-1].end, 10.0, tuple(months), models, 0.0,
        data=bt.profile_data({}, months, {}),
    )  # fmt: skip
    tables = bt.period_tables(result)
    assert [(t.label, t.models[0].months) for t in tables] == [
        ("25 stocks", 13),
        ("100-465 stocks", 15),
    ]
    assert all(m.annualised and m.sharpe is None for t in tables for m in t.models)  # stdev 0
    report = bt.to_report(result)
    assert any(
        "Too short for a table of their own (under 12 months)" in c
        and f"{months[-2].start} to {months[-1].end} (465 stocks, 2 months)" in c
        for c in report.caveats
    )
    markdown = bt.render_markdown(result, report)
    assert "465 stocks, 2 months)" not in markdown.split("## Method")[0]
    assert "* **Minimum length**: figures over fewer than N = 12 months" in markdown


@pytest.mark.parametrize("count", [bt.MIN_MONTHS - 1, bt.MIN_MONTHS])
def test_summaries_annualise_only_from_the_minimum_months(count: int) -> None:
    net = [0.03 if i % 3 else -0.02 for i in range(count)]
    months = _months([10] * count, net)
    summary = bt.summarise("basic", months, risk_free=0.04)
    annualise = count >= bt.MIN_MONTHS
    assert summary.annualised is annualise
    growth = math.prod(1 + r for r in net)
    expected = growth ** (12 / count) - 1 if annualise else growth - 1
    assert summary.top_quintile_return == pytest.approx(expected)
    universe = 1.005**12 - 1 if annualise else 1.005**count - 1
    assert summary.universe_return == pytest.approx(universe)
    assert summary.excess_return == pytest.approx(expected - universe)
    sharpe, sortino = bt.sharpe(net, 0.04), bt.sortino(net, 0.04)
    assert sharpe is not None and sortino is not None  # defined for the series ...
    assert summary.sharpe == (sharpe if annualise else None)  # ... but shown only from 12 months
    assert summary.sortino == (sortino if annualise else None)
    assert summary.figures().model_dump() == summary.model_dump(exclude={"equity_curve"})


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
