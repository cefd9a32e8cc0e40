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
MIN_DAILY_BETA_RETURNS = 250  # about a year of daily returns: the least a beta is measured on
MIN_WEEKLY_BETA_RETURNS = 104  # two years of weekly returns, preferred over daily ones
MAX_WEEKLY_BETA_RETURNS = 260  # five years
BETA_WINDOW_DAYS = 5 * 366 + 14
BLUME_WEIGHT = 2 / 3  # Blume (1971): adjusted beta = 2/3 raw + 1/3 x 1.0
NORMALISED_FCF_YEARS = 3  # base cash flow = mean of the last 3 years, not one (possibly odd) year
RECENT_GROWTH_YEARS = (
    3  # the last 3 years' CAGR caps the trend, so a trough start cannot inflate it
)
WEEK52_MIN_DAYS = 358
SPLIT_RATIOS = (1.5, 2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)
SPLIT_MATCH = math.log(1.15)
EPS_MATCH = math.log(
    1.5
)  # a year of earnings change between the filing and the quote  # bars must reach back ~a year before a range is called "52-week"
# Shares x price may differ from the quote's market cap by this factor (share classes, buybacks
# since the filing) before the count is replaced by market cap / price.
SHARES_TOLERANCE = 1.25
MIN_IMPLYING_EPS = 0.05  # below 5 cents the rounding of EPS makes net income / EPS meaningless
LONG_TERM_ONLY_MARK = "ltDebt"  # the snapshot's source label of a long-term-only debt figure
FINANCIAL_INDUSTRIES = frozenset(
    {
        "Diversified Banks", "Regional Banks", "Asset Management & Custody Banks",
        "Investment Banking & Brokerage", "Consumer Finance", "Property & Casualty Insurance",
        "Life & Health Insurance", "Multi-line Insurance", "Reinsurance", "Multi-Sector Holdings",
    }
)  # fmt: skip
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
    fcf_basis: str | None
    operating_cash_flow: float | None
    capital_expenditure: float | None
    depreciation_amortization: float | None
    total_debt: float | None
    cash: float | None
    shareholders_equity: float | None
    shares_outstanding: float | None
    dividends_per_share: float | None
    total_assets: float | None = None
    equity_to_assets: float | None = None  # shareholders' equity / total assets (year end)
    roa: float | None = None  # net income / year-end total assets


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
    # --- data-quality gates (docs/analysts.md, "Data quality") ---
    debt_basis: str | None = None  # "total", "long_term_only" (a lower bound) or None (unknown)
    fcf_normalised: float | None = None  # mean FCF of the last NORMALISED_FCF_YEARS years
    fcf_normalised_years: int = 0
    fcf_uses_depreciation: bool = False  # some year's capex unknown: D&A stands in for it
    shares_reported: float | None = None  # the filing's count before the market-cap check
    shares_ratio: float | None = None  # reported shares x price / market cap
    shares_note: str | None = None  # what the share-count check found and did
    beta_raw: float | None = None  # OLS beta before the Blume adjustment
    beta_method: str | None = None  # "weekly" or "daily"
    week52_source: str | None = None  # "bars" (a year of bars) or "quote"
    valuation_type: str = "general"  # "general", "financial", "reit" or "utility"
    equity_to_assets: float | None = None  # latest year: a lender's or insurer's capital cushion
    roa_average: float | None = None  # mean net income / total assets over the years with both
    roa_years: int = 0

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
    """Reported FCF, else operating cash flow minus capex (or D&A); None if neither is possible."""
    return free_cash_flow_with_basis(year)[0]


def free_cash_flow_with_basis(year: FundamentalsYear) -> tuple[float | None, str | None]:
    """(FCF, basis): reported; OCF - capex; else OCF - D&A (maintenance capex proxy); else None.

    Depreciation stands in for capex only when capex is unknown: it approximates the spending
    needed to keep the assets, so the figure omits growth capex (the models lower confidence).
    """
    reported = finite(year.free_cash_flow)
    if reported is not None:
        return reported, "reported"
    ocf, capex = finite(year.operating_cash_flow), finite(year.capital_expenditure)
    if ocf is not None and capex is not None:
        return finite(ocf - abs(capex)), "ocf_minus_capex"
    depreciation = _non_negative(year.depreciation_amortization)
    if ocf is not None and depreciation is not None:
        return finite(ocf - depreciation), "ocf_minus_depreciation"
    return None, None


def year_figures(year: FundamentalsYear) -> YearFigures:
    """Ratios of one fiscal year."""
    revenue = finite(year.revenue)
    net_income = finite(year.net_income)
    equity = finite(year.shareholders_equity)
    debt = _non_negative(year.total_debt)
    capex = finite(year.capital_expenditure)
    assets = _positive(year.total_assets)
    fcf, fcf_basis = free_cash_flow_with_basis(year)
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
        fcf=fcf,
        fcf_basis=fcf_basis if fcf is not None else None,
        operating_cash_flow=finite(year.operating_cash_flow),
        capital_expenditure=abs(capex) if capex is not None else None,
        depreciation_amortization=finite(year.depreciation_amortization),
        total_debt=debt,
        cash=_non_negative(year.cash),
        shareholders_equity=equity,
        shares_outstanding=_positive(year.shares_outstanding),
        dividends_per_share=finite(year.dividends_per_share),
        total_assets=assets,
        equity_to_assets=_ratio(equity, assets),
        roa=_ratio(net_income, assets),
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
    first_year = pairs[start][0]
    if start > 0 and last_year - first_year < MIN_RECOVERY_YEARS:
        return None, "growth undefined: zero or negative values within the last 3 years"
    result = trend_growth(pairs[start:])
    return result, None if result is not None else "growth not computable"


def log_linear_growth(pairs: Sequence[tuple[int, float]]) -> float | None:
    """exp(slope) - 1 of a least-squares line through ln(value) by year (positive values only)."""
    points = [(float(year), math.log(value)) for year, value in pairs if value > 0]
    if len(points) < 2:
        return None
    mean_x = mean([x for x, _ in points])
    mean_y = mean([y for _, y in points])
    var_x = sum((x - mean_x) ** 2 for x, _ in points)
    if var_x <= 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var_x
    return finite(math.exp(slope) - 1.0) if slope < 700 else None


def trend_growth(pairs: Sequence[tuple[int, float]]) -> float | None:
    """min(log-linear trend over all the years, CAGR of the last 3 years where known).

    End points alone reward a trough start year (TSLA 2020 -> 2025); the regression uses every
    year, and the recent CAGR keeps a business whose figure has since fallen from scoring high.
    """
    if len(pairs) < 2:
        return None
    last_year, last = pairs[-1]
    trend = log_linear_growth(pairs)
    earlier = [p for p in pairs if p[0] == last_year - RECENT_GROWTH_YEARS]
    recent = cagr(earlier[0][1], last, RECENT_GROWTH_YEARS) if earlier else None
    known = [g for g in (trend, recent) if g is not None]
    return min(known) if known else None


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
    published = point_in_time_fundamentals(fundamentals, as_of)
    years = tuple(year_figures(f) for f in published)
    missing: dict[str, str] = {}
    values: dict[str, float | None] = {}
    flags: dict[str, bool] = {}
    counts: dict[str, int] = {}
    for name in (
        "roe", "gross_margin", "operating_margin", "net_margin", "debt_to_equity", "fcf",
        "shares_outstanding",
    ):  # fmt: skip
        values[name] = _latest(years, name)
        if values[name] is None:
            missing[name] = "no fiscal year published" if not years else f"latest year lacks {name}"
    roes = scored_roes(years)
    values["roe_average"] = finite(mean(roes)) if roes else None
    values["equity_to_assets"] = _latest(years, "equity_to_assets")
    if values["equity_to_assets"] is None:
        missing["equity_to_assets"] = (
            "no fiscal year published" if not years else "latest year lacks equity or total assets"
        )
    roas = [y.roa for y in years if y.roa is not None]
    values["roa_average"] = finite(mean(roas)) if roas else None
    counts["roa_years"] = len(roas)
    if values["roa_average"] is None:
        missing["roa_average"] = "no year with net income and total assets"
    margins = [y.gross_margin for y in years if y.gross_margin is not None]
    values["gross_margin_stdev"] = spread(statistics.pstdev, margins) if len(margins) >= 3 else None
    if values["gross_margin_stdev"] is None:
        missing["gross_margin_stdev"] = "fewer than 3 years of gross margin"
    debt, cash = _latest(years, "total_debt"), _latest(years, "cash")
    values["total_debt"], values["cash"] = debt, cash
    values["net_debt"] = finite(debt - (cash or 0.0)) if debt is not None else None
    if values["net_debt"] is None:
        missing["net_debt"] = "total debt not reported"
    basis = debt_basis(published[-1]) if published and debt is not None else None
    flags["long_term_debt_only"] = basis == "long_term_only"
    recent_fcf = [y.fcf for y in years[-NORMALISED_FCF_YEARS:] if y.fcf is not None]
    values["fcf_normalised"] = finite(mean(recent_fcf)) if recent_fcf else None
    counts["fcf_normalised_years"] = len(recent_fcf)
    flags["fcf_uses_depreciation"] = any(
        y.fcf_basis == "ocf_minus_depreciation" for y in years[-NORMALISED_FCF_YEARS:]
    )
    if values["fcf_normalised"] is None:
        missing["fcf_normalised"] = (
            "no free cash flow in the last 3 years (operating cash flow, or both capex and D&A, "
            "missing)"
        )
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
    flags["had_loss"] = any(v <= 0 for v in earnings[:-1])
    counts["earnings_years"] = len(earnings)
    return _FundamentalFigures(years, values, flags, counts, missing)


def scored_roes(years: Sequence[YearFigures]) -> list[float]:
    """ROE per year with net income and equity; a year of zero or negative equity counts as 0."""
    return [roe for _, roe in scored_roes_by_year(years)]


def scored_roes_by_year(years: Sequence[YearFigures]) -> list[tuple[int, float]]:
    """(fiscal year, ROE) as `scored_roes` counts them.

    Dropping the years of zero or negative equity let a company that bought back its equity below
    zero (HD, ORLY, SBUX) earn full ROE marks from the few years its equity was tiny and positive.
    """
    out: list[tuple[int, float]] = []
    for y in years:
        if y.roe is not None:
            out.append((y.fiscal_year, y.roe))
        elif (
            y.net_income is not None
            and y.shareholders_equity is not None
            and y.shareholders_equity <= 0
        ):
            out.append((y.fiscal_year, 0.0))
    return out


def debt_basis(year: FundamentalsYear) -> str:
    """ "long_term_only" when the debt figure is the filing's long-term debt alone, else "total"."""
    source = year.sources.get("total_debt", "")
    return "long_term_only" if LONG_TERM_ONLY_MARK in source else "total"


def valuation_type(sector: str | None, industry: str | None) -> str:
    """Which valuation suits the business: banks/insurers, REITs, utilities or cash flows."""
    if industry in FINANCIAL_INDUSTRIES:
        return "financial"
    if sector == "Real Estate" and industry is not None and "REIT" in industry:
        return "reit"
    if sector == "Utilities":
        return "utility"
    return "general"


@dataclass(frozen=True, slots=True)
class SharesCheck:
    """Outcome of checking the filing's share count against market cap / price."""

    shares: float | None
    ratio: float | None
    note: str | None


def nearest_split(ratio: float) -> float | None:
    """The usual split ratio (or its inverse) within 15% of `ratio`, if any."""
    if not ratio > 1e-300:
        return None
    candidates = [n for s in SPLIT_RATIOS for n in (s, 1 / s)]
    best = min(candidates, key=lambda n: abs(math.log(ratio / n)))
    return best if abs(math.log(ratio / best)) <= SPLIT_MATCH else None


def check_shares(
    reported: float | None,
    price: float | None,
    market_cap: float | None,
    filed_eps: float | None,
    quote_eps: float | None,
) -> SharesCheck:
    """Keep the count within 1.25x of market cap / price; fix a confirmed split, else refuse.

    A split counts as confirmed when the filing's EPS over the quote's EPS moves by about the same
    ratio as the share count (both are on the pre-split basis); any other gap (merger, spin-off,
    stale market cap) cannot be resolved from the data, so the count is refused (None).
    """
    if reported is None or price is None or market_cap is None:
        note = None if reported is None else "not checked: no market cap and price to compare"
        return SharesCheck(reported, None, note)
    ratio = finite(reported * price / market_cap)
    if ratio is None or 1 / SHARES_TOLERANCE <= ratio <= SHARES_TOLERANCE:
        return SharesCheck(reported, ratio, None)
    implied = market_cap / price
    split = nearest_split(ratio)
    eps_ratio = _ratio(_positive(filed_eps), _positive(quote_eps))
    # Too few reported shares (ratio < 1) come with too high a filed EPS, by the same factor.
    both = finite(eps_ratio * split) if split is not None and eps_ratio is not None else None
    if split is not None and both is not None and both > 0 and abs(math.log(both)) <= EPS_MATCH:
        return SharesCheck(implied, ratio, (
            f"reported shares x price = {ratio:.2f}x the market cap and the filed EPS is "
            f"{eps_ratio:.2f}x the quote's: a {1 / split:g}:1 split after the filing; shares taken as "
            f"market cap / price = {implied:.0f}"
        ))  # fmt: skip
    return SharesCheck(None, ratio, (
        f"reported shares x price = {ratio:.2f}x the quote's market cap (tolerance "
        f"{SHARES_TOLERANCE:g}x) and no split explains it: the share count is not used"
    ))  # fmt: skip


def implied_share_count(year: YearFigures) -> tuple[float | None, str | None]:
    """Net income / diluted EPS where a year reports both but no share count (BRK.B).

    EPS is net income per weighted diluted share, so the ratio is that share count in the units
    the EPS is quoted in (BRK.B: Class B equivalents, 1/1500 of a Class A share).
    """
    ni, eps = year.net_income, year.eps
    if ni is None or eps is None or abs(eps) < MIN_IMPLYING_EPS or ni / eps <= 0:
        return None, None
    count = finite(ni / eps)
    if count is None:
        return None, None
    return count, (
        f"derived: net income {ni:.0f} / diluted EPS {eps:.4f} (FY{year.fiscal_year}) = "
        f"{count:.0f} shares; no share count is reported"
    )


def _earnings_growth(figures: _FundamentalFigures) -> tuple[float | None, str | None]:
    """EPS CAGR when EPS looks split-consistent, else net income CAGR."""
    if figures.values["eps_cagr"] is not None:
        return figures.values["eps_cagr"], "EPS trend growth"
    if figures.values["net_income_cagr"] is not None:
        return figures.values["net_income_cagr"], "net income trend growth"
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
) -> tuple[float | None, float | None, str | None]:
    """(high, low, source): a year of bars (high/low, else close), else the quote's range.

    Bars reaching back less than a year would make a shorter range look like a 52-week one
    (ADSK: 67 bars gave 257.96 against the quote's 329.09), so they are not used for it.
    """
    start = as_of - timedelta(days=365)
    recent = [b for b in bars if b.date > start]
    if recent and bars[0].date <= as_of - timedelta(days=WEEK52_MIN_DAYS):
        highs = [_positive(b.high) or b.close for b in recent]
        lows = [_positive(b.low) or b.close for b in recent]
        return max(highs), min(lows), "bars"
    high, low = _positive(quote.week52_high), _positive(quote.week52_low)
    return high, low, "quote" if high is not None and low is not None else None


def daily_returns(bars: Sequence[Bar]) -> dict[date, float]:
    """Close-to-close return of each bar versus the previous bar."""
    return {bars[i].date: bars[i].close / bars[i - 1].close - 1.0 for i in range(1, len(bars))}


def ols_beta(pairs: Sequence[tuple[float, float]]) -> float | None:
    """cov(stock, index) / var(index) over (stock, index) return pairs; None without variance."""
    ys = [y for y, _ in pairs]
    xs = [x for _, x in pairs]
    if len(xs) < 2:
        return None
    mean_x, mean_y = mean(xs), mean(ys)
    var_x = sum((x - mean_x) ** 2 for x in xs)
    if not var_x > 0 or finite(var_x) is None:
        return None
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return finite(cov / var_x)


def _finite_pairs(
    stock_returns: Mapping[date, float], index_returns: Mapping[date, float]
) -> list[tuple[date, float, float]]:
    """(date, stock, index) for every date both have a finite return, oldest first."""
    days = sorted(d for d in stock_returns if d in index_returns)
    return [
        (d, stock_returns[d], index_returns[d])
        for d in days
        if math.isfinite(stock_returns[d]) and math.isfinite(index_returns[d])
    ]


def weekly_pairs(daily: Sequence[tuple[date, float, float]]) -> list[tuple[float, float]]:
    """Compound common daily returns into (stock, index) returns per ISO week."""
    weeks: dict[tuple[int, int], list[float]] = {}
    for day, y, x in daily:
        iso = day.isocalendar()
        growth = weeks.setdefault((iso[0], iso[1]), [1.0, 1.0])
        growth[0] *= 1.0 + y
        growth[1] *= 1.0 + x
    return [(g[0] - 1.0, g[1] - 1.0) for _, g in sorted(weeks.items())]


def beta_against(
    stock_returns: Mapping[date, float], index_returns: Mapping[date, float]
) -> tuple[float | None, int, str | None]:
    """(raw OLS beta, observations, "weekly"/"daily"): 2-5 years weekly, else 1 year daily.

    Fewer than a year of daily returns give no beta (the models then use a sector median).
    """
    daily = _finite_pairs(stock_returns, index_returns)
    weekly = weekly_pairs(daily)[-MAX_WEEKLY_BETA_RETURNS:]
    # The first and last weeks may be partial; a full set of 104+ weeks outweighs that.
    if len(weekly) >= MIN_WEEKLY_BETA_RETURNS:
        return ols_beta(weekly), len(weekly), "weekly"
    recent = [(y, x) for _, y, x in daily[-TRADING_DAYS:]]
    if len(recent) >= MIN_DAILY_BETA_RETURNS:
        return ols_beta(recent), len(recent), "daily"
    return None, len(recent), None


def blume(beta: float) -> float:
    """Blume-adjusted beta: 2/3 x raw + 1/3 x 1.0 (betas drift towards the market's)."""
    return BLUME_WEIGHT * beta + (1.0 - BLUME_WEIGHT)


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
    symbol = data.profile.symbol
    years = fund.years
    pe, negative_earnings, pe_reason = price_to_earnings(quote, years, price)
    growth, growth_source = _earnings_growth(fund)
    macd_values = macd(closes)
    high, low, range_source = week52_range(bars, quote, as_of)
    # Only the last five years (plus a margin for the first week) can enter the beta.
    beta_start = as_of - timedelta(days=BETA_WINDOW_DAYS)
    beta_bars = [b for b in bars if b.date >= beta_start]
    raw_beta, beta_n, beta_method = beta_against(daily_returns(beta_bars), index_returns or {})
    beta = blume(raw_beta) if raw_beta is not None else None
    market_cap = market_capitalisation(quote, data.profile, price)
    reported_shares = fund.values["shares_outstanding"]
    derived_note = None
    if reported_shares is None and years:
        reported_shares, derived_note = implied_share_count(years[-1])
        if reported_shares is not None:
            missing.pop("shares_outstanding", None)
    shares = check_shares(
        reported_shares, price, market_cap, years[-1].eps if years else None, finite(quote.eps)
    )
    if derived_note is not None:
        shares = replace(shares, note="; ".join(n for n in (derived_note, shares.note) if n))
    if shares.shares is None and reported_shares is not None:
        missing["shares_outstanding"] = shares.note or "share count refused"
    drawdown = finite(min(price / high - 1.0, 0.0)) if price is not None and high else None
    if pe_reason:
        missing["pe"] = pe_reason
    if growth is None:
        missing["earnings_growth"] = fund.missing.get("net_income_cagr", "no earnings history")
    metrics = StockMetrics(
        symbol=symbol,
        as_of=as_of,
        sector=data.profile.sector,
        price=price,
        market_cap=market_cap,
        price_to_book=price_to_book(quote, price),
        years=years,
        roe=fund.values["roe"],
        roe_average=fund.values["roe_average"],
        gross_margin=fund.values["gross_margin"],
        gross_margin_stdev=fund.values["gross_margin_stdev"],
        operating_margin=fund.values["operating_margin"],
        net_margin=fund.values["net_margin"],
        debt_to_equity=fund.values["debt_to_equity"],
        fcf=fund.values["fcf"],
        net_debt=fund.values["net_debt"],
        shares_outstanding=shares.shares,
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
        dividend_yield=dividend_yield(quote, years, price),
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
        debt_basis=None
        if fund.values["total_debt"] is None
        else "long_term_only"
        if fund.flags["long_term_debt_only"]
        else "total",
        fcf_normalised=fund.values["fcf_normalised"],
        fcf_normalised_years=fund.counts["fcf_normalised_years"],
        fcf_uses_depreciation=fund.flags["fcf_uses_depreciation"],
        shares_reported=reported_shares,
        shares_ratio=shares.ratio,
        shares_note=shares.note,
        beta_raw=raw_beta,
        beta_method=beta_method,
        week52_source=range_source,
        valuation_type=valuation_type(data.profile.sector, data.profile.industry),
        equity_to_assets=fund.values["equity_to_assets"],
        roa_average=fund.values["roa_average"],
        roa_years=fund.counts["roa_years"],
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
        f"fewer than {MIN_DAILY_BETA_RETURNS} daily returns (a year) overlapping the index "
        f"({metrics.beta_observations}) and fewer than {MIN_WEEKLY_BETA_RETURNS} weekly ones"
        if metrics.beta_method is None
        else "not computable: the index or stock returns have no finite variance"
    )
    others = {
        "week52_position": "no 52-week range (under a year of bars and no quote high/low) "
        "or no real price",
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
