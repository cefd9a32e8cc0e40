"""Shared metrics layer: every per-stock figure an analyst uses is computed here, once."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any

from stockdash.market.types import Bar, FundamentalsYear, Profile, Quote, StockData

TRADING_DAYS = 252
MAX_YEARS = 10  # fiscal years kept for level/consistency figures
GROWTH_YEARS = 5  # growth rates use at most the last 5 fiscal-year intervals
MIN_RECOVERY_YEARS = 3
MIN_BETA_OBSERVATIONS = 60
MIN_VOLATILITY_RETURNS = 20
SPLIT_SUSPECT_LOW = 0.6  # a year-over-year per-share jump outside 0.6x..1.67x looks like a split
SPLIT_SUSPECT_HIGH = 1 / 0.6


def finite(value: float | None) -> float | None:
    """The value if it is a finite number, else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; overflows to inf instead of raising (callers check with finite)."""
    return sum(values) / len(values)


def spread(function: Callable[[Sequence[float]], float], values: Sequence[float]) -> float | None:
    """A statistics dispersion function that returns None instead of raising on overflow."""
    try:
        return finite(function(values))
    except (OverflowError, statistics.StatisticsError):
        return None


def _positive(value: float | None) -> float | None:
    number = finite(value)
    return number if number is not None and number > 0 else None


def _non_negative(value: float | None) -> float | None:
    """A balance that cannot be negative (debt, cash): None if it is."""
    number = finite(value)
    return number if number is not None and number >= 0 else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator if both finite and denominator > 0 (and the result finite)."""
    num, den = finite(numerator), finite(denominator)
    if num is None or den is None or den <= 0:
        return None
    return finite(num / den)


def cagr(first: float | None, last: float | None, years: float) -> float | None:
    """Compound annual growth rate; None unless both ends are positive and years > 0."""
    start, end = _positive(first), _positive(last)
    if start is None or end is None or years <= 0:
        return None
    return finite((end / start) ** (1.0 / years) - 1.0)


@dataclass(frozen=True, slots=True)
class YearFigures:
    """Figures of one fiscal year (all None where the inputs are missing)."""

    fiscal_year: int
    period_end: date
    revenue: float | None
    net_income: float | None
    eps: float | None
    roe: float | None
    gross_margin: float | None
    operating_margin: float | None
    net_margin: float | None
    debt_to_equity: float | None
    fcf: float | None
    operating_cash_flow: float | None
    capital_expenditure: float | None
    depreciation_amortization: float | None
    total_debt: float | None
    cash: float | None
    shareholders_equity: float | None
    shares_outstanding: float | None
    dividends_per_share: float | None


@dataclass(frozen=True, slots=True)
class StockMetrics:
    """Every figure the analysts read; None plus an entry in `missing` when not computable."""

    symbol: str
    as_of: date
    sector: str | None
    price: float | None
    market_cap: float | None
    price_to_book: float | None
    years: tuple[YearFigures, ...]
    # latest fiscal year
    roe: float | None
    roe_average: float | None
    gross_margin: float | None
    gross_margin_stdev: float | None
    operating_margin: float | None
    net_margin: float | None
    debt_to_equity: float | None
    fcf: float | None
    net_debt: float | None
    shares_outstanding: float | None
    # growth over up to GROWTH_YEARS intervals
    revenue_cagr: float | None
    net_income_cagr: float | None
    eps_cagr: float | None
    fcf_cagr: float | None
    earnings_growth: float | None
    earnings_growth_source: str | None
    shares_cagr: float | None
    # earnings history
    earnings_years: int
    positive_earnings_share: float | None
    earnings_increase_share: float | None
    positive_fcf_share: float | None
    had_loss: bool
    negative_earnings: bool
    # valuation
    pe: float | None
    dividend_yield: float | None
    # price history
    history_bars: int
    sma50: float | None
    sma200: float | None
    rsi14: float | None
    macd: float | None
    macd_signal: float | None
    macd_histogram: float | None
    volatility: float | None
    week52_high: float | None
    week52_low: float | None
    week52_position: float | None
    drawdown_from_high: float | None
    beta: float | None
    beta_observations: int
    missing: Mapping[str, str] = field(default_factory=dict)
    industry: str | None = None
    price_source: str | None = None  # "quote" or "last close of <date>"; None without a price
    total_debt: float | None = None
    cash: float | None = None
    net_debt_assumes_zero_cash: bool = False  # cash not reported: net debt = total debt

    @property
    def earnings_growth_undefined(self) -> bool:
        """Earnings history exists but growth is undefined because of losses (a finding)."""
        return self.earnings_growth is None and self.earnings_years >= 2

    def why_missing(self, name: str) -> str:
        """The recorded reason a figure is None."""
        return self.missing.get(name, "not available")


# --- fundamentals -----------------------------------------------------------------------------


def point_in_time_fundamentals(
    fundamentals: Sequence[FundamentalsYear], as_of: date
) -> list[FundamentalsYear]:
    """Years published on or before as_of, oldest first, last MAX_YEARS only."""
    published = sorted((f for f in fundamentals if f.filed <= as_of), key=lambda f: f.period_end)
    return published[-MAX_YEARS:]


def free_cash_flow(year: FundamentalsYear) -> float | None:
    """Reported FCF, else operating cash flow minus capex; None if neither is possible."""
    reported = finite(year.free_cash_flow)
    if reported is not None:
        return reported
    ocf, capex = finite(year.operating_cash_flow), finite(year.capital_expenditure)
    if ocf is None or capex is None:
        return None
    return finite(ocf - abs(capex))


def year_figures(year: FundamentalsYear) -> YearFigures:
    """Ratios of one fiscal year."""
    revenue = finite(year.revenue)
    net_income = finite(year.net_income)
    equity = finite(year.shareholders_equity)
    debt = _non_negative(year.total_debt)
    capex = finite(year.capital_expenditure)
    return YearFigures(
        fiscal_year=year.fiscal_year,
        period_end=year.period_end,
        revenue=revenue,
        net_income=net_income,
        eps=finite(year.eps_diluted),
        roe=_ratio(net_income, equity),
        gross_margin=_ratio(year.gross_profit, revenue),
        operating_margin=_ratio(year.operating_income, revenue),
        net_margin=_ratio(net_income, revenue),
        debt_to_equity=_ratio(debt, equity) if debt is not None else None,
        fcf=free_cash_flow(year),
        operating_cash_flow=finite(year.operating_cash_flow),
        capital_expenditure=abs(capex) if capex is not None else None,
        depreciation_amortization=finite(year.depreciation_amortization),
        total_debt=debt,
        cash=_non_negative(year.cash),
        shareholders_equity=equity,
        shares_outstanding=_positive(year.shares_outstanding),
        dividends_per_share=finite(year.dividends_per_share),
    )


def _series_cagr(
    years: Sequence[YearFigures], values: Sequence[float | None]
) -> tuple[float | None, str | None]:
    """CAGR between the first and last known value of the last GROWTH_YEARS intervals."""
    pairs = [(y.fiscal_year, v) for y, v in zip(years, values, strict=True) if v is not None]
    if len(pairs) < 2:
        return None, "fewer than 2 fiscal years reported"
    pairs = [p for p in pairs if p[0] >= pairs[-1][0] - GROWTH_YEARS]
    last_year, last = pairs[-1]
    if last <= 0:
        return None, "growth undefined: the latest value is zero or negative"
    # After losses, measure from the first positive year, but only over >= 3 years of recovery.
    start = next(i for i, p in enumerate(pairs) if p[1] > 0)
    first_year, first = pairs[start]
    if start > 0 and last_year - first_year < MIN_RECOVERY_YEARS:
        return None, "growth undefined: zero or negative values within the last 3 years"
    result = cagr(first, last, last_year - first_year)
    return result, None if result is not None else "growth not computable"


def _split_suspected(per_share: Sequence[float | None], totals: Sequence[float | None]) -> bool:
    """True if a year-over-year per-share change disagrees with the total by a split-like factor."""
    for i in range(1, len(per_share)):
        a, b = per_share[i - 1], per_share[i]
        if a is None or b is None or a <= 0 or b <= 0:
            continue
        step, total_step = _ratio(b, a), _ratio(_positive(totals[i]), totals[i - 1])
        relative = _ratio(step, total_step) if total_step is not None else step
        # Unrepresentable ratios are as untrustworthy as a split, so they count as one.
        if relative is None or not SPLIT_SUSPECT_LOW <= relative <= SPLIT_SUSPECT_HIGH:
            return True
    return False


def _share_of(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


@dataclass(frozen=True, slots=True)
class _FundamentalFigures:
    years: tuple[YearFigures, ...]
    values: dict[str, float | None]
    flags: dict[str, bool]
    counts: dict[str, int]
    missing: dict[str, str]


def _latest(years: Sequence[YearFigures], name: str) -> float | None:
    """The value of attribute `name` in the latest fiscal year (no fallback to older years)."""
    return getattr(years[-1], name) if years else None


def _fundamental_figures(
    fundamentals: Sequence[FundamentalsYear], as_of: date
) -> _FundamentalFigures:
    years = tuple(year_figures(f) for f in point_in_time_fundamentals(fundamentals, as_of))
    missing: dict[str, str] = {}
    values: dict[str, float | None] = {}
    for name in (
        "roe", "gross_margin", "operating_margin", "net_margin", "debt_to_equity", "fcf",
        "shares_outstanding",
    ):  # fmt: skip
        values[name] = _latest(years, name)
        if values[name] is None:
            missing[name] = "no fiscal year published" if not years else f"latest year lacks {name}"
    roes = [y.roe for y in years if y.roe is not None]
    values["roe_average"] = finite(mean(roes)) if roes else None
    margins = [y.gross_margin for y in years if y.gross_margin is not None]
    values["gross_margin_stdev"] = spread(statistics.pstdev, margins) if len(margins) >= 3 else None
    if values["gross_margin_stdev"] is None:
        missing["gross_margin_stdev"] = "fewer than 3 years of gross margin"
    debt, cash = _latest(years, "total_debt"), _latest(years, "cash")
    values["total_debt"], values["cash"] = debt, cash
    values["net_debt"] = finite(debt - (cash or 0.0)) if debt is not None else None
    if values["net_debt"] is None:
        missing["net_debt"] = "total debt not reported"
    if cash is None:
        missing["cash"] = "no fiscal year published" if not years else "latest year lacks cash"
    for name, series in (
        ("revenue_cagr", [y.revenue for y in years]),
        ("net_income_cagr", [y.net_income for y in years]),
        ("eps_cagr", [y.eps for y in years]),
        ("fcf_cagr", [y.fcf for y in years]),
        ("shares_cagr", [y.shares_outstanding for y in years]),
    ):
        values[name], reason = _series_cagr(years, series)
        if reason:
            missing[name] = reason
    eps_series = [y.eps for y in years]
    ni_series = [y.net_income for y in years]
    if values["eps_cagr"] is not None and _split_suspected(eps_series, ni_series):
        values["eps_cagr"] = None
        missing["eps_cagr"] = "EPS jumps against net income (likely unadjusted split)"
    shares_series = [y.shares_outstanding for y in years]
    if values["shares_cagr"] is not None and _split_suspected(shares_series, [None] * len(years)):
        values["shares_cagr"] = None
        missing["shares_cagr"] = "share count jumps >60% in a year (likely unadjusted split)"
    earnings = [v for v in ni_series if v is not None]
    increases = [earnings[i] > earnings[i - 1] for i in range(1, len(earnings))]
    fcfs = [y.fcf for y in years if y.fcf is not None]
    values["positive_earnings_share"] = _share_of([v > 0 for v in earnings])
    values["earnings_increase_share"] = _share_of(increases)
    values["positive_fcf_share"] = _share_of([v > 0 for v in fcfs])
    if not fcfs:
        missing["positive_fcf_share"] = "no year with free cash flow (capex or cash flow missing)"
    if not increases:
        missing["earnings_increase_share"] = "fewer than 2 years of net income"
    flags = {"had_loss": any(v <= 0 for v in earnings[:-1])}
    return _FundamentalFigures(years, values, flags, {"earnings_years": len(earnings)}, missing)


def _earnings_growth(figures: _FundamentalFigures) -> tuple[float | None, str | None]:
    """EPS CAGR when EPS looks split-consistent, else net income CAGR."""
    if figures.values["eps_cagr"] is not None:
        return figures.values["eps_cagr"], "EPS CAGR"
    if figures.values["net_income_cagr"] is not None:
        return figures.values["net_income_cagr"], "net income CAGR"
    return None, None


# --- valuation --------------------------------------------------------------------------------

FALLBACK_CLOSE_DAYS = 7  # a close this recent may stand in for a quote without a real price
_QUOTE_IDENTITY = frozenset({"symbol", "as_of", "source", "note"})


def real_quote(quote: Quote) -> Quote:
    """The quote with every figure of a demo placeholder removed: demo never feeds an analysis."""
    if quote.source != "demo":
        return quote
    figures: dict[str, Any] = {f.name: None for f in fields(Quote) if f.name not in _QUOTE_IDENTITY}
    return replace(quote, **figures)


def market_price(quote: Quote, bars: Sequence[Bar]) -> tuple[float | None, str]:
    """(price, source or reason): the quote's real price, else a close of the last week."""
    price = _positive(quote.price)
    if price is not None:
        return price, "quote"
    if bars and bars[-1].date >= quote.as_of - timedelta(days=FALLBACK_CLOSE_DAYS):
        return bars[-1].close, f"last close of {bars[-1].date.isoformat()}"
    return None, "no real price (the quote has no price and there is no close in the last week)"


def earnings_per_share(quote: Quote, years: Sequence[YearFigures]) -> float | None:
    """Quote (TTM) EPS, else the latest annual diluted EPS."""
    eps = finite(quote.eps)
    if eps is None and years:
        eps = years[-1].eps
    return eps


def price_to_earnings(
    quote: Quote, years: Sequence[YearFigures], price: float | None
) -> tuple[float | None, bool, str | None]:
    """(P/E, earnings negative, reason if None); needs a real price; quote P/E, else price / EPS."""
    eps = earnings_per_share(quote, years)
    if eps is not None and eps <= 0:
        return None, True, "earnings are zero or negative"
    if price is None:
        return None, False, "no real price to divide by earnings"
    stated = finite(quote.pe_ratio)
    if stated is not None and stated > 0:
        return stated, False, None
    if stated is not None and stated <= 0:
        return None, True, "quoted P/E is zero or negative"
    if eps is None:
        return None, False, "no EPS reported"
    pe = _positive(price / eps)
    return pe, False, None if pe is not None else "P/E not representable"


def stock_pe(data: StockData) -> float | None:
    """P/E of one stock exactly as the metrics layer computes it (positive or None)."""
    quote = real_quote(data.quote)
    years = [year_figures(f) for f in point_in_time_fundamentals(data.fundamentals, quote.as_of)]
    price, _ = market_price(quote, usable_bars(data.history, quote.as_of))
    return price_to_earnings(quote, years, price)[0]


def dividend_yield(quote: Quote, years: Sequence[YearFigures], price: float | None) -> float | None:
    """Quote dividend yield (fraction), else latest dividends per share / price; needs a price."""
    if price is None:
        return None
    stated = finite(quote.dividend_yield)
    if stated is not None and stated >= 0:
        return stated
    dps = years[-1].dividends_per_share if years else None
    if dps is None or dps < 0:
        return None
    return finite(dps / price)


def price_to_book(quote: Quote, price: float | None) -> float | None:
    """Quote P/B, only alongside a real price (it is price-derived)."""
    return None if price is None else finite(quote.price_to_book)


def market_capitalisation(quote: Quote, profile: Profile, price: float | None) -> float | None:
    """Quote market cap when the quote is priced, else the profile's (never demo)."""
    stated = _positive(quote.market_cap) if price is not None else None
    if stated is not None:
        return stated
    return _positive(profile.market_cap) if profile.source != "demo" else None


# --- price history ----------------------------------------------------------------------------


def usable_bars(history: Sequence[Bar], as_of: date) -> list[Bar]:
    """Bars on or before as_of with a positive finite close, oldest first."""
    bars = [b for b in history if b.date <= as_of and _positive(b.close) is not None]
    return sorted(bars, key=lambda b: b.date)


def closes_of(history: Sequence[Bar], as_of: date) -> list[float]:
    """Closing prices of the usable bars."""
    return [b.close for b in usable_bars(history, as_of)]


def simple_moving_average(closes: Sequence[float], window: int) -> float | None:
    """Mean of the last `window` closes (None if too few or the sum overflows)."""
    return finite(mean(closes[-window:])) if len(closes) >= window else None


def rsi_wilder(closes: Sequence[float], period: int = 14) -> float | None:
    """RSI with Wilder smoothing: seed = mean of first `period` gains/losses, then (13*a + x)/14."""
    if len(closes) <= period:
        return None
    deltas = [closes[i] - closes[i - 1] for i in range(1, len(closes))]
    gains = [max(d, 0.0) for d in deltas]
    losses = [max(-d, 0.0) for d in deltas]
    avg_gain = mean(gains[:period])
    avg_loss = mean(losses[:period])
    for gain, loss in zip(gains[period:], losses[period:], strict=True):
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
    if finite(avg_gain) is None or finite(avg_loss) is None:
        return None  # the closes overflow floating point; RSI is not computable
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    return finite(100.0 - 100.0 / (1.0 + avg_gain / avg_loss))


def ema_series(values: Sequence[float], span: int) -> list[float]:
    """EMA with alpha 2/(span+1), seeded with the SMA of the first `span` values."""
    if len(values) < span:
        return []
    alpha = 2.0 / (span + 1)
    ema = [mean(values[:span])]
    for value in values[span:]:
        ema.append(alpha * value + (1 - alpha) * ema[-1])
    return ema


def macd(
    closes: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[float, float, float] | None:
    """(MACD line, signal line, histogram) of the last close; None if too few closes or overflow."""
    fast_ema, slow_ema = ema_series(closes, fast), ema_series(closes, slow)
    if not slow_ema:
        return None
    offset = slow - fast
    line = [fast_ema[i + offset] - s for i, s in enumerate(slow_ema)]
    signal_ema = ema_series(line, signal)
    if not signal_ema:
        return None
    last, smooth = finite(line[-1]), finite(signal_ema[-1])
    histogram = finite(last - smooth) if last is not None and smooth is not None else None
    if last is None or smooth is None or histogram is None:
        return None
    return last, smooth, histogram


def annualised_volatility(closes: Sequence[float]) -> float | None:
    """Sample stdev of the last 252 daily log returns times sqrt(252)."""
    window = closes[-(TRADING_DAYS + 1) :]
    returns = [math.log(window[i]) - math.log(window[i - 1]) for i in range(1, len(window))]
    if len(returns) < MIN_VOLATILITY_RETURNS:
        return None
    deviation = spread(statistics.stdev, returns)
    return finite(deviation * math.sqrt(TRADING_DAYS)) if deviation is not None else None


def week52_range(
    bars: Sequence[Bar], quote: Quote, as_of: date
) -> tuple[float | None, float | None]:
    """52-week (365 calendar days) high and low from bars (high/low, else close), else quote."""
    start = as_of - timedelta(days=365)
    recent = [b for b in bars if b.date > start]
    if recent:
        highs = [_positive(b.high) or b.close for b in recent]
        lows = [_positive(b.low) or b.close for b in recent]
        return max(highs), min(lows)
    return _positive(quote.week52_high), _positive(quote.week52_low)


def daily_returns(bars: Sequence[Bar]) -> dict[date, float]:
    """Close-to-close return of each bar versus the previous bar."""
    return {bars[i].date: bars[i].close / bars[i - 1].close - 1.0 for i in range(1, len(bars))}


def beta_against(
    stock_returns: Mapping[date, float], index_returns: Mapping[date, float]
) -> tuple[float | None, int]:
    """OLS beta (cov/var, population) over the last 252 common dates; needs >= 60 of them."""
    common = sorted(d for d in stock_returns if d in index_returns)[-TRADING_DAYS:]
    pairs = [(finite(stock_returns[d]), finite(index_returns[d])) for d in common]
    xs = [x for y, x in pairs if x is not None and y is not None]
    ys = [y for y, x in pairs if x is not None and y is not None]
    if len(xs) < MIN_BETA_OBSERVATIONS:
        return None, len(xs)
    mean_x, mean_y = mean(xs), mean(ys)
    var_x = sum((x - mean_x) ** 2 for x in xs)
    if not var_x > 0 or finite(var_x) is None:
        return None, len(xs)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return finite(cov / var_x), len(xs)


# --- assembly ---------------------------------------------------------------------------------


def compute_metrics(
    data: StockData, index_returns: Mapping[date, float] | None = None
) -> StockMetrics:
    """Compute every figure for one stock as of its quote date (fundamentals filed by then)."""
    quote = real_quote(data.quote)
    as_of = quote.as_of
    fund = _fundamental_figures(data.fundamentals, as_of)
    missing = dict(fund.missing)
    bars = usable_bars(data.history, as_of)
    closes = [b.close for b in bars]
    price, price_source = market_price(quote, bars)
    if price is None:
        missing["price"] = price_source
    pe, negative_earnings, pe_reason = price_to_earnings(quote, fund.years, price)
    growth, growth_source = _earnings_growth(fund)
    macd_values = macd(closes)
    high, low = week52_range(bars, quote, as_of)
    beta, beta_n = beta_against(daily_returns(bars), index_returns or {})
    drawdown = finite(min(price / high - 1.0, 0.0)) if price is not None and high else None
    if pe_reason:
        missing["pe"] = pe_reason
    if growth is None:
        missing["earnings_growth"] = fund.missing.get("net_income_cagr", "no earnings history")
    metrics = StockMetrics(
        symbol=data.profile.symbol,
        as_of=as_of,
        sector=data.profile.sector,
        price=price,
        market_cap=market_capitalisation(quote, data.profile, price),
        price_to_book=price_to_book(quote, price),
        years=fund.years,
        roe=fund.values["roe"],
        roe_average=fund.values["roe_average"],
        gross_margin=fund.values["gross_margin"],
        gross_margin_stdev=fund.values["gross_margin_stdev"],
        operating_margin=fund.values["operating_margin"],
        net_margin=fund.values["net_margin"],
        debt_to_equity=fund.values["debt_to_equity"],
        fcf=fund.values["fcf"],
        net_debt=fund.values["net_debt"],
        shares_outstanding=fund.values["shares_outstanding"],
        revenue_cagr=fund.values["revenue_cagr"],
        net_income_cagr=fund.values["net_income_cagr"],
        eps_cagr=fund.values["eps_cagr"],
        fcf_cagr=fund.values["fcf_cagr"],
        earnings_growth=growth,
        earnings_growth_source=growth_source,
        shares_cagr=fund.values["shares_cagr"],
        earnings_years=fund.counts["earnings_years"],
        positive_earnings_share=fund.values["positive_earnings_share"],
        earnings_increase_share=fund.values["earnings_increase_share"],
        positive_fcf_share=fund.values["positive_fcf_share"],
        had_loss=fund.flags["had_loss"],
        negative_earnings=negative_earnings,
        pe=pe,
        dividend_yield=dividend_yield(quote, fund.years, price),
        history_bars=len(closes),
        sma50=simple_moving_average(closes, 50),
        sma200=simple_moving_average(closes, 200),
        rsi14=rsi_wilder(closes),
        macd=macd_values[0] if macd_values else None,
        macd_signal=macd_values[1] if macd_values else None,
        macd_histogram=macd_values[2] if macd_values else None,
        volatility=annualised_volatility(closes),
        week52_high=high,
        week52_low=low,
        week52_position=_week52_position(price, high, low),
        drawdown_from_high=drawdown,
        beta=beta,
        beta_observations=beta_n,
        missing=missing,
        industry=data.profile.industry,
        price_source=price_source if price is not None else None,
        total_debt=fund.values["total_debt"],
        cash=fund.values["cash"],
        net_debt_assumes_zero_cash=fund.values["net_debt"] is not None
        and fund.values["cash"] is None,
    )
    return _with_history_reasons(metrics)


def _week52_position(price: float | None, high: float | None, low: float | None) -> float | None:
    """Where the price sits in the 52-week range, 0 = low, 1 = high (clipped)."""
    if price is None or high is None or low is None or not high > low:
        return None
    position = finite((price - low) / (high - low))
    return None if position is None else min(max(position, 0.0), 1.0)


# (figure, closes it needs, reason when there are fewer)
_HISTORY_NEEDS = (
    ("sma50", 50, "fewer than 50 daily closes"),
    ("sma200", 200, "fewer than 200 daily closes"),
    ("rsi14", 15, "fewer than 15 daily closes"),
    ("macd", 34, "fewer than 34 daily closes"),
    ("volatility", 21, "fewer than 21 daily closes"),
)
NOT_COMPUTABLE = "not computable: the daily closes overflow floating-point arithmetic"


def _with_history_reasons(metrics: StockMetrics) -> StockMetrics:
    """Record why each price-history figure is None (too few closes vs not computable)."""
    missing = dict(metrics.missing)
    for name, needed, too_few in _HISTORY_NEEDS:
        if getattr(metrics, name) is None:
            missing.setdefault(name, too_few if metrics.history_bars < needed else NOT_COMPUTABLE)
    beta_reason = (
        f"fewer than {MIN_BETA_OBSERVATIONS} finite daily returns overlapping the index "
        f"({metrics.beta_observations})"
        if metrics.beta_observations < MIN_BETA_OBSERVATIONS
        else "not computable: the index or stock returns have no finite variance"
    )
    others = {
        "week52_position": "no 52-week range (no recent bars or quote high/low) or no real price",
        "drawdown_from_high": "no 52-week high or no real price",
        "beta": beta_reason,
        "price": "no positive price in quote or history",
        "market_cap": "no market cap in a real quote or the profile",
        "dividend_yield": "no dividend yield or dividends per share reported"
        if metrics.price is not None
        else "no real price to compute a yield",
    }
    for name, reason in others.items():
        if getattr(metrics, name) is None:
            missing.setdefault(name, reason)
    return replace(metrics, missing=missing)
