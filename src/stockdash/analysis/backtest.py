"""Point-in-time monthly backtest of the analyst models on the offline snapshot.

At each rebalance date t (first trading day of a month) every stock with a close at t is
rebuilt from data known at t only: bars dated <= t, fundamentals *filed* <= t and a quote
derived from the close at t. The four analysts score it; scores are compared with the
next month's close-to-close return (prices are adjusted, so this is a total return).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.progress import Progress as ProgressBar
from rich.table import Table

from stockdash.analysis.analysts import run_all
from stockdash.analysis.context import (
    DEFAULT_CREDIT_SPREAD,
    DEFAULT_EQUITY_RISK_PREMIUM,
    DEFAULT_RISK_FREE_RATE,
    DEFAULT_TAX_RATE,
    MarketContext,
    check_rates,
    peer_beta_medians,
    sector_pe_medians,
)
from stockdash.analysis.metrics import daily_returns, finite, usable_bars
from stockdash.analysis.performance import (
    DEFAULT_RESULTS_PATH,
    EquityPoint,
    ModelFigures,
    ModelPerformance,
    ModelPerformanceReport,
    PeriodTable,
)
from stockdash.analysis.schemas import MODEL_NAMES, ModelName
from stockdash.core.config import Settings, get_settings
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import Bar, FundamentalsYear, Profile, Quote, StockData

ALL: tuple[ModelName, ...] = MODEL_NAMES
DEFAULT_START = date(2016, 4, 1)  # FY2015 10-Ks (estimated filing dates) are public by then
DEFAULT_DOC_PATH = Path("docs/model-performance.md")
TOP_FRACTION = 0.2
STALE_DAYS = 7  # a stock needs a close within a week before t to be in the universe
MONTHS_PER_YEAR = 12
SEGMENT_JUMP = 1.5  # a universe size change by this factor starts a new sub-period
LEADERS = 4  # best performers named to illustrate survivorship in the first sub-period
# Fewer months are not annualised (no Sharpe, Sortino or p.a. returns), and a sub-period shorter
# than this is merged into its neighbour instead of getting a table of its own.
MIN_MONTHS = 12
MIN_SECTOR_NAMES = 5  # a within-sector rank correlation needs at least this many names
# A stock enters the universe once its bars span a year (52-week range, a year of returns for
# volatility and beta) and number at least 200 (the 200-day moving average): with less, the
# analysts score it on fewer factors than its peers and the scores are not comparable.
MIN_HISTORY_DAYS = 365
MIN_HISTORY_BARS = 200

SOURCE = (
    "Offline snapshot shipped with stockdash: daily prices from Yahoo Finance via yfinance "
    "(adjusted, as collected in the repository's shared data), annual fundamentals from SEC "
    "EDGAR XBRL with gaps filled from yfinance annual statements, filing dates estimated as "
    "fiscal period end + 75 days."
)
SKILL = "these figures demonstrate the point-in-time method, not the models' skill"


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Finance settings the analysts and the Sharpe/Sortino ratios use, constant over time."""

    risk_free_rate: float = DEFAULT_RISK_FREE_RATE
    equity_risk_premium: float = DEFAULT_EQUITY_RISK_PREMIUM
    credit_spread: float = DEFAULT_CREDIT_SPREAD
    tax_rate: float = DEFAULT_TAX_RATE

    def __post_init__(self) -> None:
        check_rates(self.risk_free_rate, self.equity_risk_premium, self.credit_spread,
                    self.tax_rate)  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings) -> Assumptions:
        """The finance assumptions these settings name (RISK_FREE_RATE and friends)."""
        return cls(
            risk_free_rate=settings.risk_free_rate,
            equity_risk_premium=settings.equity_risk_premium,
            credit_spread=settings.dcf_credit_spread,
            tax_rate=settings.dcf_tax_rate,
        )


Progress = Callable[[int, int], None]


class SnapshotLike(Protocol):
    """The part of SnapshotProvider the backtest reads."""

    def known_symbols(self) -> frozenset[str]: ...

    def fundamentals_sources(self, symbol: str) -> dict[int, dict[str, str]]: ...

    def universe_profiles(self) -> dict[str, Profile]: ...

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]: ...

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]: ...


# --- data panel and point-in-time views ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    """Everything the snapshot holds about one symbol, over all time (oldest first)."""

    profile: Profile
    bars: tuple[Bar, ...]
    fundamentals: tuple[FundamentalsYear, ...]
    dates: tuple[date, ...]


def make_series(
    profile: Profile, bars: Iterable[Bar], fundamentals: Iterable[FundamentalsYear]
) -> Series:
    """Series with its bars sorted by date."""
    ordered = tuple(sorted(bars, key=lambda b: b.date))
    return Series(profile, ordered, tuple(fundamentals), tuple(b.date for b in ordered))


Panel = Mapping[str, Series]


async def load_panel(
    snapshot: SnapshotLike, symbols: Iterable[str] | None = None
) -> dict[str, Series]:
    """Series of every symbol (or the given ones) that has price history."""
    profiles = snapshot.universe_profiles()
    panel: dict[str, Series] = {}
    for symbol in sorted(symbols if symbols is not None else snapshot.known_symbols()):
        bars = await snapshot.history(symbol, None, None)
        if bars:
            funds = await snapshot.fundamentals(symbol)
            panel[symbol] = make_series(profiles[symbol], bars, funds)
    return panel


def bars_until(series: Series, day: date) -> list[Bar]:
    """Bars dated on or before day."""
    return list(series.bars[: bisect.bisect_right(series.dates, day)])


def filed_until(series: Series, day: date) -> list[FundamentalsYear]:
    """Fiscal years whose filing date is on or before day, oldest period first."""
    return sorted((f for f in series.fundamentals if f.filed <= day), key=lambda f: f.period_end)


def _positive(value: float | None) -> float | None:
    number = finite(value)
    return number if number is not None and number > 0 else None


def _per(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator when both are finite and the denominator positive."""
    num, den = finite(numerator), _positive(denominator)
    return finite(num / den) if num is not None and den is not None else None


def _ebitda(year: FundamentalsYear | None) -> float | None:
    """Operating income plus D&A (D&A counted as 0 when not reported)."""
    if year is None or finite(year.operating_income) is None:
        return None
    return finite((year.operating_income or 0.0) + (finite(year.depreciation_amortization) or 0.0))


def point_in_time_quote(
    symbol: str, bars: Sequence[Bar], years: Sequence[FundamentalsYear]
) -> Quote:
    """Quote on the last bar's date from that close and the latest filed fiscal year."""
    last = bars[-1]
    previous = bars[-2].close if len(bars) > 1 else None
    latest = years[-1] if years else None
    eps = finite(latest.eps_diluted) if latest else None
    shares = _positive(latest.shares_outstanding) if latest else None
    market_cap = last.close * shares if shares else None
    dps = finite(latest.dividends_per_share) if latest else None
    recent = [b for b in bars if b.date > last.date - timedelta(days=365)]
    return Quote(
        symbol=symbol,
        price=last.close,
        previous_close=previous,
        change=last.close - previous if previous else None,
        change_percent=(last.close / previous - 1.0) * 100.0 if previous else None,
        volume=last.volume,
        market_cap=market_cap,
        pe_ratio=_positive(last.close / eps) if eps and eps > 0 else None,
        eps=eps,
        dividend_yield=dps / last.close if dps is not None and dps >= 0 else None,
        week52_high=max(_positive(b.high) or b.close for b in recent),
        week52_low=min(_positive(b.low) or b.close for b in recent),
        ebitda=_ebitda(latest),
        price_to_sales=_per(market_cap, latest.revenue) if latest else None,
        price_to_book=_per(market_cap, latest.shareholders_equity) if latest else None,
        as_of=last.date,
    )


def has_recent_close(series: Series, day: date) -> bool:
    """True if the series has a close in the week up to day."""
    i = bisect.bisect_right(series.dates, day)
    return i > 0 and series.dates[i - 1] >= day - timedelta(days=STALE_DAYS)


def has_history(series: Series, day: date) -> bool:
    """True once the bars up to day span MIN_HISTORY_DAYS and number MIN_HISTORY_BARS."""
    enough_bars = bisect.bisect_right(series.dates, day) >= MIN_HISTORY_BARS
    return enough_bars and series.dates[0] <= day - timedelta(days=MIN_HISTORY_DAYS)


def point_in_time_stock(series: Series, day: date) -> StockData | None:
    """StockData as known at day, dated day; None without a close in the week before it."""
    if not has_recent_close(series, day):
        return None
    bars = bars_until(series, day)
    years = filed_until(series, day)
    quote = replace(point_in_time_quote(series.profile.symbol, bars, years), as_of=day)
    # The snapshot profile's market cap is today's; replace it with the one known at day.
    profile = replace(series.profile, market_cap=quote.market_cap)
    return StockData(profile=profile, quote=quote, history=bars, fundamentals=years)


def all_index_returns(panel: Panel) -> dict[date, float]:
    """Equal-weight daily index over the whole panel (slice it at t before use)."""
    by_date: dict[date, list[float]] = defaultdict(list)
    for series in panel.values():
        for day, value in daily_returns(usable_bars(series.bars, series.bars[-1].date)).items():
            if finite(value) is not None:
                by_date[day].append(value)
    return {day: sum(v) / len(v) for day, v in sorted(by_date.items())}


def market_context_at(
    stocks: Sequence[StockData],
    index_returns: Mapping[date, float],
    day: date,
    assumptions: Assumptions | None = None,
) -> MarketContext:
    """What build_market_context gives for these stocks, reusing a precomputed index."""
    # A daily index return only uses closes of that day and the day before, so slicing the
    # full-period index at t equals recomputing it from every symbol's bars up to t (tested).
    rates = assumptions or Assumptions()
    index = {d: r for d, r in index_returns.items() if d <= day}
    peers = peer_beta_medians(stocks, index)
    return MarketContext(
        sector_pe_median=sector_pe_medians(stocks),
        index_returns=index,
        sector_beta_median=peers.sector,
        industry_beta_median=peers.industry,
        risk_free_rate=rates.risk_free_rate,
        equity_risk_premium=rates.equity_risk_premium,
        as_of=day,
        credit_spread=rates.credit_spread,
        tax_rate=rates.tax_rate,
    )


def universe_at(panel: Panel, day: date) -> dict[str, StockData]:
    """Point-in-time StockData of every symbol with a recent close and a year of history at day."""
    stocks = {
        s: point_in_time_stock(series, day)
        for s, series in panel.items()
        if has_history(series, day)
    }
    return {s: d for s, d in stocks.items() if d is not None}


def score_universe(
    stocks: Mapping[str, StockData],
    ctx: MarketContext,
    models: Sequence[ModelName] = ALL,
) -> dict[ModelName, dict[str, float]]:
    """Score of every stock under every model; a not-rated stock has no score to rank by."""
    scores: dict[ModelName, dict[str, float]] = {m: {} for m in models}
    for symbol, data in stocks.items():
        for model, analysis in run_all(data, ctx, tuple(models)).items():
            if analysis.score is not None:
                scores[model][symbol] = analysis.score
    return scores


def scores_at(
    panel: Panel,
    day: date,
    models: Sequence[ModelName] = ALL,
    index_returns: Mapping[date, float] | None = None,
    assumptions: Assumptions | None = None,
) -> dict[ModelName, dict[str, float]]:
    """Point-in-time scores of the universe at day."""
    stocks = universe_at(panel, day)
    index = index_returns if index_returns is not None else all_index_returns(panel)
    ctx = market_context_at(list(stocks.values()), index, day, assumptions)
    return score_universe(stocks, ctx, models)


@dataclass(frozen=True, slots=True)
class MonthScores:
    """Scores at a rebalance date plus who was not rated and each symbol's sector."""

    scores: dict[ModelName, dict[str, float]]
    not_rated: dict[ModelName, int]
    sectors: dict[str, str]


def month_scores(
    panel: Panel,
    day: date,
    models: Sequence[ModelName],
    index_returns: Mapping[date, float],
    assumptions: Assumptions | None,
) -> MonthScores:
    """Point-in-time scores at day, counting the not-rated names per model."""
    stocks = universe_at(panel, day)
    ctx = market_context_at(list(stocks.values()), index_returns, day, assumptions)
    scores: dict[ModelName, dict[str, float]] = {m: {} for m in models}
    not_rated: dict[ModelName, int] = dict.fromkeys(models, 0)
    for symbol, data in stocks.items():
        for model, analysis in run_all(data, ctx, tuple(models)).items():
            if analysis.score is None:
                not_rated[model] += 1
            else:
                scores[model][symbol] = analysis.score
    sectors = {s: d.profile.sector or "Unknown" for s, d in stocks.items()}
    return MonthScores(scores, not_rated, sectors)


def sector_ics(
    scores: Mapping[str, float], returns: Mapping[str, float], sectors: Mapping[str, str]
) -> dict[str, float]:
    """Spearman IC of score vs forward return within each sector with enough scored names."""
    members: dict[str, list[str]] = defaultdict(list)
    for symbol in scores:
        if symbol in returns:
            members[sectors.get(symbol, "Unknown")].append(symbol)
    out: dict[str, float] = {}
    for sector, names in sorted(members.items()):
        if len(names) >= MIN_SECTOR_NAMES:
            ic = spearman([scores[n] for n in names], [returns[n] for n in names])
            if ic is not None:
                out[sector] = ic
    return out


def close_on_or_before(series: Series, day: date) -> float | None:
    """Last close dated on or before day."""
    i = bisect.bisect_right(series.dates, day)
    return series.bars[i - 1].close if i else None


def forward_returns(
    panel: Panel, symbols: Iterable[str], start: date, end: date
) -> dict[str, float]:
    """Close-to-close return from start to end (last close on or before each date)."""
    out: dict[str, float] = {}
    for symbol in symbols:
        first, last = (
            close_on_or_before(panel[symbol], start),
            close_on_or_before(panel[symbol], end),
        )
        if first and last:
            out[symbol] = last / first - 1.0
    return out


def rebalance_dates(panel: Panel, start: date, end: date) -> list[date]:
    """First trading day (any symbol has a bar) of each month within [start, end]."""
    days = sorted({b.date for s in panel.values() for b in s.bars if start <= b.date <= end})
    firsts: dict[tuple[int, int], date] = {}
    for day in days:
        firsts.setdefault((day.year, day.month), day)
    return sorted(firsts.values())


# --- metrics on plain series --------------------------------------------------------------------


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties get the average of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman rank correlation (Pearson on average ranks); None if either side is constant."""
    if len(xs) != len(ys):
        raise ValueError("spearman needs two series of equal length")
    if len(xs) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxx = sum((x - mx) ** 2 for x in rx)
    syy = sum((y - my) ** 2 for y in ry)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(rx, ry, strict=True)) / math.sqrt(sxx * syy)


def t_stat(values: Sequence[float]) -> float | None:
    """Mean divided by its standard error (sample stdev / sqrt n); None if undefined."""
    if len(values) < 2:
        return None
    sd = statistics.stdev(values)
    return statistics.fmean(values) / (sd / math.sqrt(len(values))) if sd > 0 else None


def top_weights(scores: Mapping[str, float], fraction: float = TOP_FRACTION) -> dict[str, float]:
    """Equal weights on the top `fraction` of scores; stocks tied at the cut share its slots."""
    if not scores:
        return {}
    slots = max(1, round(len(scores) * fraction))
    ordered = sorted(scores.values(), reverse=True)
    cut = ordered[slots - 1]
    above = [s for s, v in scores.items() if v > cut]
    tied = [s for s, v in scores.items() if v == cut]
    share = (slots - len(above)) / len(tied)
    weights = {s: 1.0 / slots for s in above}
    weights.update({s: share / slots for s in tied})
    return weights


def drift(weights: Mapping[str, float], returns: Mapping[str, float]) -> dict[str, float]:
    """Weights after one period of returns, renormalised to sum to 1."""
    grown = {s: w * (1.0 + returns.get(s, 0.0)) for s, w in weights.items()}
    total = sum(grown.values())
    return {s: v / total for s, v in grown.items()} if total > 0 else {}


def one_way_turnover(old: Mapping[str, float], new: Mapping[str, float]) -> float:
    """Fraction of the portfolio bought (from cash, the first trade is 1.0)."""
    return sum(max(new.get(s, 0.0) - old.get(s, 0.0), 0.0) for s in set(old) | set(new))


def net_return(gross: float, turnover: float, cost_bps: float) -> float:
    """Period return after paying cost_bps on the one-way turnover at the rebalance."""
    return (1.0 - cost_bps / 10_000.0 * turnover) * (1.0 + gross) - 1.0


def period_return(monthly: Sequence[float]) -> float:
    """Cumulative (compounded) return of monthly returns."""
    return math.prod(1.0 + r for r in monthly) - 1.0


def annualised_return(monthly: Sequence[float]) -> float:
    """Geometric annualised return of monthly returns."""
    if not monthly:
        return 0.0
    growth = math.prod(1.0 + r for r in monthly)
    return growth ** (MONTHS_PER_YEAR / len(monthly)) - 1.0 if growth > 0 else -1.0


def sharpe(monthly: Sequence[float], risk_free: float = 0.0) -> float | None:
    """Annualised Sharpe: mean monthly excess return / sample stdev * sqrt(12)."""
    if len(monthly) < 2:
        return None
    excess = [r - risk_free / MONTHS_PER_YEAR for r in monthly]
    sd = statistics.stdev(excess)
    return statistics.fmean(excess) / sd * math.sqrt(MONTHS_PER_YEAR) if sd > 0 else None


def sortino(monthly: Sequence[float], risk_free: float = 0.0) -> float | None:
    """Annualised Sortino: mean excess / sqrt(mean(min(excess, 0)^2)) * sqrt(12)."""
    if len(monthly) < 2:
        return None
    excess = [r - risk_free / MONTHS_PER_YEAR for r in monthly]
    downside = math.sqrt(statistics.fmean([min(r, 0.0) ** 2 for r in excess]))
    return (
        statistics.fmean(excess) / downside * math.sqrt(MONTHS_PER_YEAR) if downside > 0 else None
    )


def equity_curve(monthly: Sequence[float], start: float = 1.0) -> list[float]:
    """Compounded values, starting with `start` before the first return."""
    values = [start]
    for r in monthly:
        values.append(values[-1] * (1.0 + r))
    return values


def max_drawdown(curve: Sequence[float]) -> float:
    """Largest fall from a running peak as a fraction <= 0 (-0.25 == a 25 % drawdown)."""
    peak, worst = -math.inf, 0.0
    for value in curve:
        peak = max(peak, value)
        if peak > 0:
            worst = min(worst, value / peak - 1.0)
    return worst


# --- the backtest -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelMonth:
    """One model in one holding period."""

    ic: float | None
    gross: float
    net: float
    turnover: float


@dataclass(frozen=True, slots=True)
class Month:
    """One holding period from a rebalance date to the next."""

    start: date
    end: date
    universe_size: int
    universe_return: float
    models: Mapping[ModelName, ModelMonth]
    symbols: frozenset[str] = frozenset()  # the universe of this month
    not_rated: Mapping[ModelName, int] = field(default_factory=dict)  # universe names unscored
    # Rank IC within each sector with at least MIN_SECTOR_NAMES scored names this month.
    sector_ic: Mapping[ModelName, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of months whose universe size stays within a factor 1.5 of its first month."""

    start: date
    end: date
    months: int
    min_size: int
    max_size: int
    symbols: int  # distinct symbols in the universe during the segment
    symbols_so_far: int = 0  # distinct symbols in this and every earlier segment


@dataclass(frozen=True, slots=True)
class DataProfile:
    """Facts about the data a run used, derived from the panel (the report quotes them)."""

    symbols: int  # with a close on at least one rebalance date
    segments: tuple[Segment, ...]  # sub-periods of a stable universe size, oldest first
    leaders: tuple[tuple[str, float], ...]  # best total returns over the first sub-period
    fiscal_years: int  # symbol-years filed on or before the period end
    estimated_filings: int  # ... whose filing date is an estimate
    yfinance_fields: int  # year-fields filled from a yfinance source instead of SEC
    debt_long_term_only: int  # symbol-years whose debt is SEC long-term debt only
    debt_total: int  # symbol-years with total debt (yfinance)
    yfinance_top_fields: tuple[str, ...] = ()  # the most often filled fields
    yfinance_sources: tuple[str, ...] = ()  # the yfinance data sets that filled them
    debt_total_from: int | None = None  # earliest fiscal year with total debt
    merged: tuple[Segment, ...] = ()  # segments under MIN_MONTHS, merged into a neighbour
    short_history: int = 0  # symbols with a close on a rebalance date but never a year of bars
    short_history_from: date | None = None  # earliest first bar among them


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Every holding period plus the per-model summaries."""

    period_start: date
    period_end: date
    transaction_cost_bps: float
    months: tuple[Month, ...]
    models: tuple[ModelPerformance, ...]
    seconds: float
    assumptions: Assumptions = Assumptions()
    data: DataProfile | None = None

    @property
    def rebalances(self) -> int:
        """Number of rebalance dates (one per holding period)."""
        return len(self.months)


def summarise(
    model: ModelName, months: Sequence[Month], risk_free: float = 0.0
) -> ModelPerformance:
    """Summary of one model over the given months (hit = top quintile net > universe).

    Below MIN_MONTHS nothing is annualised: returns are cumulative, Sharpe and Sortino null.
    """
    rows = [m.models[model] for m in months]
    net = [r.net for r in rows]
    universe = [m.universe_return for m in months]
    ics = [r.ic for r in rows if r.ic is not None]
    curve = equity_curve(net)
    annualise = len(months) >= MIN_MONTHS
    growth = annualised_return if annualise else period_return
    top, base = growth(net), growth(universe)
    dates = [months[0].start, *(m.end for m in months)] if months else []
    return ModelPerformance(
        model=model,
        rank_ic=statistics.fmean(ics) if ics else None,
        rank_ic_t_stat=t_stat(ics),
        hit_rate=sum(n > u for n, u in zip(net, universe, strict=True)) / len(net) if net else None,
        top_quintile_return=top,
        universe_return=base,
        excess_return=top - base,
        sharpe=sharpe(net, risk_free) if annualise else None,
        sortino=sortino(net, risk_free) if annualise else None,
        max_drawdown=max_drawdown(curve),
        average_turnover=statistics.fmean([r.turnover for r in rows]) if rows else 0.0,
        months=len(months),
        annualised=annualise,
        equity_curve=[EquityPoint(date=d, value=v) for d, v in zip(dates, curve, strict=True)],
    )


def _model_month(
    scores: Mapping[str, float],
    returns: Mapping[str, float],
    held: Mapping[str, float],
    cost_bps: float,
) -> tuple[ModelMonth, dict[str, float]]:
    """One model's month and its drifted weights at the end of it."""
    common = sorted(s for s in scores if s in returns)
    weights = top_weights({s: scores[s] for s in common})
    turnover = one_way_turnover(held, weights)
    gross = sum(w * returns[s] for s, w in weights.items())
    ic = spearman([scores[s] for s in common], [returns[s] for s in common])
    month = ModelMonth(
        ic=ic, gross=gross, net=net_return(gross, turnover, cost_bps), turnover=turnover
    )
    return month, drift(weights, returns)


def simulate(
    panel: Panel,
    dates: Sequence[date],
    *,
    transaction_cost_bps: float = 10.0,
    models: Sequence[ModelName] = ALL,
    progress: Progress | None = None,
    assumptions: Assumptions | None = None,
) -> list[Month]:
    """Score at each rebalance date and hold the top quintile until the next one."""
    index = all_index_returns(panel)
    held: dict[ModelName, dict[str, float]] = {m: {} for m in models}
    months: list[Month] = []
    for i, (start, end) in enumerate(itertools.pairwise(dates)):
        scored = month_scores(panel, start, models, index, assumptions)
        scores = scored.scores
        # The universe is every stock scored at t, rated or not (forward returns need a close).
        returns = forward_returns(panel, sorted(scored.sectors), start, end)
        rows: dict[ModelName, ModelMonth] = {}
        for model in models:
            rows[model], held[model] = _model_month(
                scores[model], returns, held[model], transaction_cost_bps
            )
        universe = statistics.fmean(returns.values()) if returns else 0.0
        ics = {m: sector_ics(scores[m], returns, scored.sectors) for m in models}
        months.append(Month(start, end, len(returns), universe, rows, frozenset(returns),
                            scored.not_rated, ics))  # fmt: skip
        if progress:
            progress(i + 1, len(dates) - 1)
    return months


def universe_segments(months: Sequence[Month]) -> list[list[Month]]:
    """Consecutive months grouped while the universe size stays within 1.5x of the group's first."""
    groups: list[list[Month]] = []
    for month in months:
        base = groups[-1][0].universe_size if groups else 0
        if base and 1 / SEGMENT_JUMP <= month.universe_size / base <= SEGMENT_JUMP:
            groups[-1].append(month)
        else:
            groups.append([month])
    return groups


def merge_short(groups: Sequence[Sequence[Month]], minimum: int = MIN_MONTHS) -> list[list[Month]]:
    """Groups under `minimum` months joined to the one before (the first one to the next)."""
    out: list[list[Month]] = []
    for group in groups:
        if out and (len(group) < minimum or len(out[-1]) < minimum):
            out[-1] = [*out[-1], *group]
        else:
            out.append(list(group))
    return out


def sub_periods(months: Sequence[Month]) -> list[list[Month]]:
    """The reported sub-periods: universe-size segments, none shorter than MIN_MONTHS."""
    return merge_short(universe_segments(months))


def _segment(months: Sequence[Month]) -> Segment:
    sizes = [m.universe_size for m in months]
    return Segment(
        start=months[0].start,
        end=months[-1].end,
        months=len(months),
        min_size=min(sizes),
        max_size=max(sizes),
        symbols=len(frozenset().union(*(m.symbols for m in months))),
    )


def _leaders(
    panel: Panel, symbols: Iterable[str], start: date, end: date
) -> list[tuple[str, float]]:
    """The LEADERS best close-to-close total returns between start and end."""
    returns = forward_returns(panel, symbols, start, end)
    return sorted(returns.items(), key=lambda item: (-item[1], item[0]))[:LEADERS]


@dataclass
class _Facts:
    years: int = 0
    estimated: int = 0
    yfinance: Counter[str] = field(default_factory=Counter)  # field name -> fills
    yfinance_sources: set[str] = field(default_factory=set)
    lt_debt: int = 0
    total_debt: list[int] = field(default_factory=list)  # fiscal years with total debt


def _fundamentals_facts(
    panel: Panel,
    sources: Mapping[str, Mapping[int, Mapping[str, str]]],
    until: date,
    symbols: Iterable[str],
) -> _Facts:
    """Filed years, estimated filing dates, yfinance fills and debt definitions up to `until`."""
    facts = _Facts()
    for symbol in symbols:
        series = panel[symbol]
        provenance = sources.get(symbol, {})
        for year in series.fundamentals:
            if year.filed > until:
                continue
            fields = year.sources or provenance.get(year.fiscal_year, {})
            facts.years += 1
            facts.estimated += year.filed_estimated
            for name, origin in fields.items():
                if "yfinance" in origin:
                    facts.yfinance[name] += 1
                    facts.yfinance_sources.add(origin.split()[0])
            if year.total_debt is None:
                continue
            if "long-term debt only" in fields.get("total_debt", ""):
                facts.lt_debt += 1
            else:
                facts.total_debt.append(year.fiscal_year)
    return facts


def _segments_with_totals(groups: Sequence[Sequence[Month]]) -> tuple[Segment, ...]:
    """Segments with the running count of distinct symbols seen so far."""
    seen: set[str] = set()
    out = []
    for group in groups:
        for month in group:
            seen |= month.symbols
        out.append(replace(_segment(group), symbols_so_far=len(seen)))
    return tuple(out)


def _short_history(panel: Panel, months: Sequence[Month], universe: frozenset[str]) -> list[str]:
    """Symbols outside the universe that had a recent close on some rebalance date."""
    return sorted(
        symbol
        for symbol, series in panel.items()
        if symbol not in universe and any(has_recent_close(series, m.start) for m in months)
    )


def profile_data(
    panel: Panel,
    months: Sequence[Month],
    sources: Mapping[str, Mapping[int, Mapping[str, str]]],
) -> DataProfile:
    """What the run's data looked like: universe sizes, leaders, filing and field provenance."""
    groups = universe_segments(months)
    segments = _segments_with_totals(groups)
    first = groups[0] if len(groups) > 1 else []
    first_symbols = frozenset().union(*(m.symbols for m in first))
    in_period = frozenset().union(*(m.symbols for m in months))
    leaders = _leaders(panel, first_symbols, first[0].start, first[-1].end) if first else []
    # Only the fundamentals of stocks that were in the universe were ever used.
    until = months[-1].end if months else date.min
    facts = _fundamentals_facts(panel, sources, until, sorted(in_period))
    short = _short_history(panel, months, in_period)
    return DataProfile(
        symbols=len(in_period),
        segments=segments,
        merged=tuple(g for g in segments if g.months < MIN_MONTHS) if len(groups) > 1 else (),
        short_history=len(short),
        short_history_from=min((panel[s].dates[0] for s in short), default=None),
        leaders=tuple(leaders),
        fiscal_years=facts.years,
        estimated_filings=facts.estimated,
        yfinance_fields=sum(facts.yfinance.values()),
        yfinance_top_fields=tuple(name for name, _ in facts.yfinance.most_common(3)),
        yfinance_sources=tuple(sorted(facts.yfinance_sources)),
        debt_long_term_only=facts.lt_debt,
        debt_total=len(facts.total_debt),
        debt_total_from=min(facts.total_debt, default=None),
    )


async def run_backtest(
    snapshot: SnapshotLike,
    *,
    start: date | None = None,
    end: date | None = None,
    transaction_cost_bps: float = 10.0,
    models: Sequence[ModelName] = ALL,
    progress: Progress | None = None,
    symbols: Iterable[str] | None = None,
    assumptions: Assumptions | None = None,
) -> BacktestResult:
    """Monthly point-in-time backtest over [start, end] (defaults: 2016-04-01 .. last bar)."""
    if not models or transaction_cost_bps < 0:
        raise ValueError("need at least one model and a non-negative transaction cost")
    rates = assumptions or Assumptions()
    began = time.perf_counter()
    panel = await load_panel(snapshot, symbols)
    last = max((s.bars[-1].date for s in panel.values()), default=date.min)
    dates = rebalance_dates(panel, start or DEFAULT_START, end or last)
    if len(dates) < 2:
        raise ValueError("the period must span at least two rebalance dates with price history")
    months = await asyncio.to_thread(
        simulate,
        panel,
        dates,
        transaction_cost_bps=transaction_cost_bps,
        models=models,
        progress=progress,
        assumptions=rates,
    )
    sources = {s: snapshot.fundamentals_sources(s) for s in panel}
    return BacktestResult(
        period_start=dates[0],
        period_end=dates[-1],
        transaction_cost_bps=transaction_cost_bps,
        months=tuple(months),
        models=tuple(summarise(m, months, rates.risk_free_rate) for m in models),
        seconds=time.perf_counter() - began,
        assumptions=rates,
        data=profile_data(panel, months, sources),
    )


# --- output -------------------------------------------------------------------------------------


def _universe_text(data: DataProfile | None) -> str:
    """Who is in the universe, with this run's counts."""
    members = "S&P 500 members of today with a year of price history in the snapshot"
    if data is None:
        return f"the {members}"
    text = f"the {data.symbols} {members}"
    if len(data.segments) > 1:
        earlier = ", ".join(
            f"{before.symbols_so_far} before {after.start}"
            for before, after in itertools.pairwise(data.segments)
        )
        text += f" (only {earlier})"
    if data.short_history:
        text += f", leaving out {data.short_history} more with a shorter history"
    return text


def note(result: BacktestResult) -> str:
    """Survivorship and skill disclaimer with the universe figures of this run."""
    return (
        f"Survivorship bias: the universe is {_universe_text(result.data)}. Every one of its "
        f"members survived, so {SKILL}. Not investment advice."
    )


def caveats(result: BacktestResult) -> list[str]:
    """The run's caveats, with its own counts and settings."""
    data, rates = result.data, result.assumptions
    items = [
        "Survivorship bias (see the first line): only today's survivors are in the universe.",
        "The snapshot histories are dividend-adjusted, so older closes sit below the traded price; "
        "P/E and dividend yield in early years are computed on the adjusted price (P/E biased low, "
        "yield high, by roughly the cumulative dividends since).",
        "P/E uses the latest annual diluted EPS, not the trailing-twelve-month EPS of a live quote.",
        "Restated figures: the SEC XBRL company facts give recent fiscal years as restated in later "
        "10-Ks (older years as first filed), so at a date t a figure may already include a "
        "restatement published after t.",
        f"Constant risk-free rate: {_rate(rates.risk_free_rate)} (setting RISK_FREE_RATE) on every "
        "date, both in the analysts' CAPM/WACC and in Sharpe and Sortino; historical T-bill rates "
        "are not used.",
        "Sectors and industries (Lynch's cyclical rule) are today's classification.",
    ]
    if data is None:
        return items
    items[4:4] = [
        f"Filing dates: {data.estimated_filings} of the {data.fiscal_years} fiscal years used "
        "carry no filing date in the source and are estimated as period end + 75 days; some "
        "10-Ks were public earlier, late filers later.",
        f"{data.yfinance_fields} year-fields (most often "
        f"{', '.join(f.replace('_', ' ') for f in data.yfinance_top_fields) or 'none'}) come "
        f"from yfinance ({', '.join(data.yfinance_sources) or 'none'}) where SEC lacks them: "
        "values as reported years later, not as first filed.",
        f"Debt definition changes: {data.debt_long_term_only} symbol-years carry SEC long-term "
        f"debt only (no short-term borrowings) and {data.debt_total} the yfinance total debt"
        + (f" (fiscal years {data.debt_total_from} on)" if data.debt_total_from else "")
        + "; debt/equity and net debt step up where the definition changes, which can move the "
        "Buffett, Lynch and DCF scores at that boundary.",
    ]
    return items + _universe_caveats(data)


def _universe_caveats(data: DataProfile) -> list[str]:
    """Caveats on the universe: stocks left out for history, size changes, merged sub-periods."""
    items = []
    if data.short_history:
        items.append(
            f"History requirement: of the symbols with a close on some rebalance date, "
            f"{data.short_history} never had {MIN_HISTORY_DAYS} days and {MIN_HISTORY_BARS} bars "
            f"of history on one (their series start {data.short_history_from} or later) and stay "
            "out of the universe (see Universe under Method)."
        )
    if len(data.segments) > 1:
        first = data.segments[0]
        leaders = ", ".join(f"{s} {r * 100:+.0f} %" for s, r in data.leaders)
        items.append(
            f"Universe size changes: {_segment_list(data.segments)}. Before "
            f"{data.segments[1].start} the universe holds only {first.symbols} symbols, so each "
            f"quintile holds about {max(1, round(first.max_size * TOP_FRACTION))} stocks and the "
            f"figures are noisy; their best performers over that period were {leaders}."
        )
    if data.merged:
        items.append(
            f"Too short for a table of their own (under {MIN_MONTHS} months), merged into the "
            "neighbouring sub-period: "
            + "; ".join(
                f"{g.start} to {g.end} ({_size_range(g)} stocks, {g.months} months)"
                for g in data.merged
            )
            + "."
        )
    return items


def _segment_list(segments: Sequence[Segment]) -> str:
    """'2016-04-01 to 2023-01-03: 25 stocks; ...'."""
    return "; ".join(f"{g.start} to {g.end}: {_size_range(g)} stocks" for g in segments)


def _size_range(segment: Segment) -> str:
    low, high = segment.min_size, segment.max_size
    return str(low) if low == high else f"{low}-{high}"


def _rate(value: float) -> str:
    return f"{value * 100:g} %"


def period_tables(result: BacktestResult) -> list[PeriodTable]:
    """One table per reported sub-period (see sub_periods); empty if there is only one."""
    groups = sub_periods(result.months)
    if len(groups) < 2:
        return []
    models = list(result.months[0].models)  # in the order they were run
    rf = result.assumptions.risk_free_rate
    return [
        PeriodTable(
            label=f"{_size_range(segment)} stocks",
            start=segment.start,
            end=segment.end,
            min_universe=segment.min_size,
            max_universe=segment.max_size,
            models=[summarise(m, chosen, rf).figures() for m in models],
        )
        for chosen, segment in ((g, _segment(g)) for g in groups)
    ]


def to_report(
    result: BacktestResult, generated_at: datetime | None = None
) -> ModelPerformanceReport:
    """The API/JSON form of a result."""
    rates = result.assumptions
    return ModelPerformanceReport(
        source=SOURCE,
        generated_at=generated_at or datetime.now(UTC),
        note=note(result),
        period_start=result.period_start,
        period_end=result.period_end,
        rebalances=result.rebalances,
        transaction_cost_bps=result.transaction_cost_bps,
        risk_free_rate=rates.risk_free_rate,
        assumptions={
            "risk_free_rate": rates.risk_free_rate,
            "equity_risk_premium": rates.equity_risk_premium,
            "credit_spread": rates.credit_spread,
            "tax_rate": rates.tax_rate,
        },
        caveats=caveats(result),
        models=list(result.models),
        periods=period_tables(result),
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(figures: Sequence[ModelFigures]) -> list[str]:
    """Markdown table of model figures (over the same months), led by a note if not annualised."""
    annualised = all(f.annualised for f in figures)
    unit = "p.a." if annualised else "cumulative"
    lines = [] if annualised else [_TOO_SHORT, ""]
    lines += [
        f"| Model | Rank IC (t) | Hit rate | Top quintile {unit} | Universe {unit} | Excess {unit} "
        "| Sharpe | Sortino | Max drawdown | Turnover / month | Months |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ic = f"{_num(f.rank_ic, 3)} ({_num(f.rank_ic_t_stat)})"
        hit = "n/a" if f.hit_rate is None else f"{f.hit_rate * 100:.0f} %"
        lines.append(
            f"| {f.model} | {ic} | {hit} | {_pct(f.top_quintile_return)} "
            f"| {_pct(f.universe_return)} | {_pct(f.excess_return)} | {_num(f.sharpe)} "
            f"| {_num(f.sortino)} | {_pct(f.max_drawdown)} | {f.average_turnover * 100:.0f} % "
            f"| {f.months} |"
        )
    return lines


_TOO_SHORT = (
    f"*Too short to annualise (under {MIN_MONTHS} months): returns are cumulative over the "
    "period; Sharpe and Sortino are not computed.*"
)


def _sizes(months: Sequence[Month]) -> str:
    """Universe size range of the months, e.g. '98-99'."""
    low, high = min(m.universe_size for m in months), max(m.universe_size for m in months)
    return str(low) if low == high else f"{low}-{high}"


def _period_sections(tables: Sequence[PeriodTable]) -> list[str]:
    """One markdown table per sub-period."""
    out: list[str] = []
    for table in tables:
        months = table.models[0].months if table.models else 0
        out += [
            "",
            f"### {table.start} to {table.end} ({table.label}, {months} months)",
            "",
            *_table(table.models),
        ]
    return out


def render_markdown(result: BacktestResult, report: ModelPerformanceReport) -> str:
    """docs/model-performance.md: source first, then figures, definitions and caveats."""
    segments = _period_sections(report.periods)
    return "\n".join(
        [
            f"Data: {SOURCE} {report.note}",
            "",
            "# Analyst model performance (backtest)",
            "",
            f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by `stockdash backtest` in "
            f"{result.seconds:.0f} s. Period {result.period_start} to {result.period_end}: "
            f"{result.rebalances} monthly rebalances, {_sizes(result.months)} stocks per month, "
            f"transaction cost {result.transaction_cost_bps:g} bps of one-way turnover. The same "
            "figures are served by `GET /api/v1/models/performance`.",
            "",
            "## Does any model show skill?",
            "",
            skill_verdict(report.models),
            "",
            "## Whole period",
            "",
            *_table(report.models),
            "",
            *_not_rated_lines(result),
            "",
            *_sector_lines(result),
            *(["", "## By universe size", *segments] if segments else []),
            "",
            *_definitions(result.assumptions),
            "",
            *_bias_lines(result),
            "",
            "## Caveats",
            "",
            *[f"* {item}" for item in report.caveats],
            "",
        ]
    )


SKILL_T = 2.0  # |t| of the mean monthly rank IC needed before calling a model skilled


def skill_verdict(models: Sequence[ModelFigures]) -> str:
    """One plain sentence: does any model's rank IC and top quintile beat chance and the universe?"""
    skilled = [
        m.model
        for m in models
        if m.rank_ic_t_stat is not None and m.rank_ic_t_stat >= SKILL_T and m.excess_return > 0
    ]
    ts = ", ".join(
        f"{m.model} t = {_num(m.rank_ic_t_stat)}, excess {_pct(m.excess_return)}" for m in models
    )
    if skilled:
        return (
            f"Possibly: {', '.join(skilled)} ranked stocks better than chance (rank IC t >= "
            f"{SKILL_T:g}) and its top quintile beat the universe ({ts}); with the biases below "
            "this is not evidence of skill on its own."
        )
    return (
        f"No. No model's mean monthly rank IC reaches t >= {SKILL_T:g} together with a top "
        f"quintile that beats the equal-weight universe ({ts}). On this data the scores show no "
        "skill at picking stocks."
    )


def _not_rated_lines(result: BacktestResult) -> list[str]:
    """Share of the universe each model declined to score (missing or implausible inputs)."""
    lines = [
        "## Not rated",
        "",
        "A not-rated stock has no score, so it is neither ranked nor held by that model.",
        "",
        "| Model | Mean share not rated | Highest month |",
        "|---|---|---|",
    ]
    for model in result.months[0].models if result.months else ():
        shares = [m.not_rated.get(model, 0) / len(m.symbols) for m in result.months if m.symbols]
        if shares:
            mean_share, top = statistics.fmean(shares) * 100, max(shares) * 100
            lines.append(f"| {model} | {mean_share:.1f} % | {top:.1f} % |")
    return lines


def _sector_lines(result: BacktestResult) -> list[str]:
    """Mean within-sector rank IC per model and sector, with its t-statistic and months."""
    models = list(result.months[0].models) if result.months else []
    sectors = sorted({s for m in result.months for ics in m.sector_ic.values() for s in ics})
    lines = [
        "## By sector",
        "",
        f"Mean monthly rank IC within each sector (t-statistic; months with at least "
        f"{MIN_SECTOR_NAMES} scored names in the sector).",
        "",
        "| Sector | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for sector in sectors:
        cells = []
        for model in models:
            values = [m.sector_ic[model][sector] for m in result.months
                      if sector in m.sector_ic.get(model, {})]  # fmt: skip
            cells.append(
                f"{statistics.fmean(values):.3f} ({_num(t_stat(values))}, {len(values)})"
                if values
                else "n/a"
            )
        lines.append(f"| {sector} | " + " | ".join(cells) + " |")
    return lines


def _bias_lines(result: BacktestResult) -> list[str]:
    """The biases that make these figures an upper bound on what the models could have done."""
    universe = _universe_text(result.data)
    return [
        "## Bias",
        "",
        f"* **Survivorship**: the universe is {universe}: only today's S&P 500 members, every one "
        "of which survived to today; delisted, acquired and dropped companies are missing, which "
        "flatters any strategy and understates losses.",
        "* **Small early universe**: before 2024-02 only the large caps with long price files "
        "are in it, so the early years test a handful of mega caps, not the index.",
        "* **Filing dates are estimates** (fiscal period end + 75 days): a filing that was "
        "really later is used too early (look-ahead), one that was earlier too late.",
        "* **Restated figures**: SEC values are the latest filing's numbers for each year, "
        "including later restatements and split adjustments that were not known at the time.",
        "* **Derived quotes**: P/E, market cap and yield are rebuilt from the close and the filed "
        "statements, not the quotes investors saw; the shares-vs-market-cap check cannot fire "
        "point in time because the market cap is built from the same share count.",
    ]


def _definitions(rates: Assumptions) -> list[str]:
    return [
        "## Method",
        "",
        "* **Rebalance dates**: the first trading day of each month in the period; the last date "
        "only closes the final holding period.",
        "* **Point in time**: at each date t a stock's data is rebuilt from bars dated <= t and "
        "fiscal years whose (estimated) filing date is <= t. Its quote is derived from the close "
        "at t: P/E = price / latest filed diluted EPS, market cap = price x latest filed diluted "
        "shares, dividend yield = latest filed dividends per share / price, P/B and P/S from the "
        "same year, 52-week range from the bars. Sector P/E medians use the same point-in-time "
        "universe; the equal-weight index (for beta) averages, for each day up to t, the daily "
        "returns of every snapshot symbol with bars that day. Analysts use a constant risk-free "
        f"rate of {_rate(rates.risk_free_rate)}, an equity risk premium of "
        f"{_rate(rates.equity_risk_premium)}, a credit spread of {_rate(rates.credit_spread)} "
        f"and a tax rate of {_rate(rates.tax_rate)} (the settings when the backtest ran).",
        "* **Universe**: every snapshot symbol with a close in the week up to t whose bars up to "
        f"t span at least {MIN_HISTORY_DAYS} days and number at least {MIN_HISTORY_BARS}. The "
        "analysts need that much history (52-week range, 200-day moving average, a year of daily "
        "returns for volatility and beta); a younger stock would be scored on fewer factors than "
        "its peers, so its score would not be comparable. A stock leaves when its bars stop.",
        "* **Rank IC**: Spearman correlation (average ranks for ties) between the scores at t and "
        "the next month's close-to-close return; averaged over months, t-stat = mean / (stdev / "
        "sqrt n). Months in which every score is equal are skipped.",
        "* **Top quintile**: equal weight on the round(20 % x N) highest scores; stocks tied at "
        "the cut-off share the remaining slots equally. Held for one month; costs = cost bps x "
        "one-way turnover (fraction of the portfolio bought, against drifted weights; the first "
        "purchase counts as 1.0).",
        "* **Universe return**: equal-weight mean of every universe stock's monthly return, no "
        "costs.",
        "* **Hit rate**: share of months where the top quintile's net return beats the universe "
        "return.",
        "* **Annualised returns** are geometric; **excess** = top quintile minus universe (p.a.). "
        "**Sharpe** and **Sortino** use monthly net returns minus the constant risk-free rate / 12 "
        f"({_rate(rates.risk_free_rate)} a year) and sqrt(12) annualisation; Sortino's downside "
        "deviation is sqrt(mean(min(excess, 0)^2)) over all months. **Max drawdown** is measured "
        "on the monthly top-quintile equity curve.",
        f"* **Minimum length**: figures over fewer than N = {MIN_MONTHS} months are not "
        "annualised: their returns are cumulative over the period and Sharpe and Sortino are not "
        f"computed. From {MIN_MONTHS} months on an annualised Sharpe ratio SR is still noisy: its "
        "standard error is about sqrt((1 + SR^2 / 2) x 12 / n) over n months (Lo, 2002), so "
        "roughly 1.0 over 12 months, 0.5 over 48 and 0.3 over 124.",
        "* **Sub-periods**: a new one starts whenever the universe size changes by a factor of "
        f"{SEGMENT_JUMP:g} or more from the first month of the current one. One shorter than "
        f"{MIN_MONTHS} months gets no table of its own: it is merged into the sub-period before "
        "it (the first one into the next), and the merged table shows the range of universe "
        "sizes.",
    ]


def write_outputs(result: BacktestResult, out: Path, doc: Path | None) -> ModelPerformanceReport:
    """Write the JSON report (and the markdown page unless doc is None)."""
    report = to_report(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if doc is not None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(render_markdown(result, report), encoding="utf-8")
    return report


def settings_assumptions() -> Assumptions:
    """The finance assumptions from the process settings (RISK_FREE_RATE and friends)."""
    return Assumptions.from_settings(get_settings())


def main(
    start: date | None = None,
    end: date | None = None,
    cost_bps: float = 10.0,
    out: Path | None = None,
    doc: Path | None = DEFAULT_DOC_PATH,
    snapshot: SnapshotLike | None = None,
    assumptions: Assumptions | None = None,
) -> BacktestResult:
    """CLI entry: run the backtest with a progress bar, write JSON + markdown, print a table."""
    console = Console()
    source = snapshot or SnapshotProvider()
    with ProgressBar(console=console, transient=True) as bar:
        task = bar.add_task("Backtesting", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = asyncio.run(
            run_backtest(
                source,
                start=start,
                end=end,
                transaction_cost_bps=cost_bps,
                progress=advance,
                assumptions=assumptions or settings_assumptions(),
            )
        )
    target = out or DEFAULT_RESULTS_PATH
    write_outputs(result, target, doc)
    table = Table(title=f"{result.period_start} .. {result.period_end}, {result.rebalances} months")
    unit = "p.a." if all(s.annualised for s in result.models) else "cum."
    for column in ("model", "rank IC", "hit rate", f"top {unit}", f"universe {unit}", "Sharpe"):
        table.add_column(column)
    table.add_column("max DD")
    for s in result.models:
        table.add_row(
            s.model,
            _num(s.rank_ic, 3),
            _num(s.hit_rate),
            _pct(s.top_quintile_return),
            _pct(s.universe_return),
            _num(s.sharpe),
            _pct(s.max_drawdown),
        )
    console.print(table)
    console.print(
        f"Wrote {target}" + (f" and {doc}" if doc else "") + f" in {result.seconds:.0f} s."
    )
    return result
