"""Warren Buffett analyst: durable returns, low debt, consistency, owner earnings, safety margin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stockdash.analysis.analysts._common import (
    NotRated,
    assumption,
    build_analysis,
    capm,
    equity_to_assets_factor,
    excluded,
    fundamentals_quality,
    info,
    linear,
    pct,
    plausibility_problem,
    roa_factor,
    scored,
    smooth,
    smooth_text,
)
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics, finite, scored_roes, scored_roes_by_year
from stockdash.analysis.schemas import Analysis, Factor

VERSION = "warren_buffett-2.1"
NOMINAL_MAX = 100.0
ROE_TARGET = 0.15
ROE_CONSISTENCY_LOW, ROE_CONSISTENCY_HIGH = 0.10, 0.20  # 50% credit at the 15% target
GROWTH_FLOOR, GROWTH_CAP = -0.05, 0.08
MAX_TERMINAL_GROWTH = 0.025
PROJECTION_YEARS = 10
WANTED_MARGIN_OF_SAFETY = 0.30
PROXY_QUALITY = 0.9  # owner earnings approximated by FCF or net income
NO_GROWTH_QUALITY = 0.85  # growth unknown: 0% assumed


@dataclass(frozen=True, slots=True)
class OwnerEarnings:
    """Latest owner earnings and how they were obtained."""

    value: float
    method: str
    is_proxy: bool


def owner_earnings(m: StockMetrics) -> OwnerEarnings | None:
    """NI + D&A - capex (all capex treated as maintenance), else FCF, else net income."""
    if not m.years:
        return None
    latest = m.years[-1]
    ni, da, capex = latest.net_income, latest.depreciation_amortization, latest.capital_expenditure
    if ni is not None and da is not None and capex is not None:
        value = finite(ni + da - capex)
        method = "net income + D&A - capex (all capex treated as maintenance, conservative)"
        return OwnerEarnings(value, method, False) if value is not None else None
    if latest.fcf is not None:
        method = (
            "D&A not reported: proxy owner earnings = free cash flow (operating cash flow - capex)"
        )
        return OwnerEarnings(latest.fcf, method, True)
    if ni is not None:
        method = "capex/cash flow not reported (bank-like): proxy owner earnings = net income"
        return OwnerEarnings(ni, method, True)
    return None


def intrinsic_value(earnings: float, growth: float, discount: float, terminal: float) -> float:
    """PV of 10 years of earnings growing at `growth` plus a Gordon terminal value."""
    value = 0.0
    cash = earnings
    for year in range(1, PROJECTION_YEARS + 1):
        cash *= 1.0 + growth
        value += cash / (1.0 + discount) ** year
    terminal_value = cash * (1.0 + terminal) / (discount - terminal)
    return value + terminal_value / (1.0 + discount) ** PROJECTION_YEARS


def _negative_equity(m: StockMetrics) -> bool:
    """True when the latest shareholders' equity is zero or negative (ROE meaningless)."""
    latest = m.years[-1] if m.years else None
    return bool(
        latest and latest.shareholders_equity is not None and latest.shareholders_equity <= 0
    )


def _roe_level(m: StockMetrics) -> Factor:
    if _negative_equity(m):
        text = "Shareholders' equity is negative: ROE is not meaningful and scores 0."
        return scored("ROE level", None, "0 with negative equity", 0.0, 15, text)
    if m.roe_average is None:
        return excluded("ROE level", "no year with net income and positive equity", 15)
    return scored(
        "ROE level",
        m.roe_average,
        "0 at <= 5%, full at >= 15% (average over available years)",
        linear(m.roe_average, 0.05, ROE_TARGET),
        15,
        f"Average return on equity over {len(scored_roes(m.years))} years is "
        f"{pct(m.roe_average)} (a year of negative equity counts as 0).",
    )


def _roe_consistency(m: StockMetrics) -> Factor:
    if _negative_equity(m):
        text = "Shareholders' equity is negative: ROE is not meaningful and scores 0."
        return scored("ROE consistency", None, "0 with negative equity", 0.0, 10, text)
    roes = scored_roes(m.years)
    if not roes:
        return excluded("ROE consistency", "no year with net income and positive equity", 10)
    # Each year earns a smooth credit in its ROE instead of all-or-nothing at 15%, so 14.9% and
    # 15.1% are worth about the same.
    credit = sum(smooth(r, ROE_CONSISTENCY_LOW, ROE_CONSISTENCY_HIGH) for r in roes) / len(roes)
    by_year = ", ".join(pct(r) for r in roes)
    return scored(
        "ROE consistency",
        credit,
        "mean over the years of a smooth logistic in ROE: 12% credit at 10%, 50% at 15%, 88% at "
        "20% (a year of negative equity counts as ROE 0)",
        credit,
        10,
        f"ROE by year (oldest first): {by_year}; mean credit {credit:.3f}.",
    )


def _operating_margin(m: StockMetrics) -> Factor:
    if m.valuation_type == "financial":
        return roa_factor(m, 10)  # a lender has no operating margin; ROA measures its returns
    if m.operating_margin is None:
        return excluded("Operating margin", m.why_missing("operating_margin"), 10)
    return scored(
        "Operating margin",
        m.operating_margin,
        "0 at <= 5%, full at >= 15%",
        linear(m.operating_margin, 0.05, 0.15),
        10,
        f"Latest operating margin is {pct(m.operating_margin)}.",
    )


def _debt(m: StockMetrics) -> Factor:
    benchmark = "full at <= 0.5, 0 at >= 1.5"
    if m.valuation_type == "financial":
        return equity_to_assets_factor(m, 10)
    latest = m.years[-1] if m.years else None
    if latest and latest.shareholders_equity is not None and latest.shareholders_equity <= 0:
        return scored("Debt/equity", None, benchmark, 0.0, 10, "Shareholders' equity is negative.")
    if m.debt_to_equity is None:
        return excluded("Debt/equity", m.why_missing("debt_to_equity"), 10, benchmark)
    return scored(
        "Debt/equity",
        m.debt_to_equity,
        benchmark,
        linear(m.debt_to_equity, 1.5, 0.5),
        10,
        f"Debt is {m.debt_to_equity:.2f}x shareholders' equity.",
    )


def _earnings_consistency(m: StockMetrics) -> Factor:
    if m.positive_earnings_share is None or m.earnings_increase_share is None:
        return excluded("Earnings consistency", "fewer than 2 years of net income", 10)
    fraction = 0.5 * m.positive_earnings_share + 0.5 * m.earnings_increase_share
    return scored(
        "Earnings consistency",
        fraction,
        "half for the share of profitable years, half for the share of rising years",
        fraction,
        10,
        f"Profitable in {pct(m.positive_earnings_share, 0)} of {m.earnings_years} years; "
        f"earnings rose in {pct(m.earnings_increase_share, 0)} of year-on-year changes.",
    )


def _fcf_consistency(m: StockMetrics) -> Factor:
    if m.positive_fcf_share is None:
        return excluded("FCF consistency", m.why_missing("positive_fcf_share"), 10)
    return scored(
        "FCF consistency",
        m.positive_fcf_share,
        "share of years with positive free cash flow",
        m.positive_fcf_share,
        10,
        f"Free cash flow was positive in {pct(m.positive_fcf_share, 0)} of reported years.",
    )


def _gross_margin_stability(m: StockMetrics) -> Factor:
    if m.gross_margin_stdev is None:
        return excluded("Gross-margin stability", m.why_missing("gross_margin_stdev"), 10)
    return scored(
        "Gross-margin stability",
        m.gross_margin_stdev,
        "moat proxy: full at <= 2 pt standard deviation, 0 at >= 10 pt",
        linear(m.gross_margin_stdev, 0.10, 0.02),
        10,
        f"Gross margin (latest {pct(m.gross_margin)}) varied by {pct(m.gross_margin_stdev)} "
        "(population standard deviation).",
    )


def _share_trend(m: StockMetrics) -> Factor:
    if m.shares_cagr is None:
        return excluded("Share-count trend", m.why_missing("shares_cagr"), 5)
    verdict = "buybacks" if m.shares_cagr < 0 else "dilution" if m.shares_cagr > 0 else "flat"
    return scored(
        "Share-count trend",
        m.shares_cagr,
        "full at <= -1% a year (buybacks), 0 at >= +3% (dilution)",
        linear(m.shares_cagr, 0.03, -0.01),
        5,
        f"Shares outstanding change {pct(m.shares_cagr)} a year ({verdict}).",
    )


@dataclass(frozen=True, slots=True)
class _Valuation:
    factors: list[Factor]
    quality: float
    notes: list[str]


def _earnings_factors(m: StockMetrics, earnings: OwnerEarnings) -> list[Factor]:
    """Owner earnings and the reported figures it is built from (numeric, recomputable)."""
    latest = m.years[-1]
    parts: list[Factor] = []
    if not earnings.is_proxy:
        parts = [
            info("Net income", latest.net_income, "Latest fiscal year."),
            info("Depreciation & amortisation", latest.depreciation_amortization, "Latest year."),
            info("Capital expenditure", latest.capital_expenditure, "Latest year, all of it."),
        ]
    return [*parts, info("Owner earnings", earnings.value, f"Latest year, {earnings.method}.")]


def _growth(m: StockMetrics) -> tuple[float, Factor, list[str]]:
    """(growth used, raw-growth factor, assumption notes): clipped history, else 0% stated."""
    if m.earnings_growth is None:
        reason = m.why_missing("earnings_growth")
        note = assumption(f"earnings growth unknown ({reason}); 0% growth used", NO_GROWTH_QUALITY)
        return 0.0, info("Historical earnings growth", None, f"Missing: {reason}."), [note]
    growth = min(max(m.earnings_growth, GROWTH_FLOOR), GROWTH_CAP)
    factor = info(
        "Historical earnings growth",
        m.earnings_growth,
        f"{m.earnings_growth_source}, before clipping to {pct(GROWTH_FLOOR, 0)}..{pct(GROWTH_CAP, 0)}.",
    )
    return growth, factor, []


def _valuation(m: StockMetrics, ctx: MarketContext) -> _Valuation:
    """Owner earnings, intrinsic value and the margin-of-safety factor, every input a factor."""
    name, max_points = "Margin of safety", 20.0
    benchmark = smooth_text("0%", f"{pct(WANTED_MARGIN_OF_SAFETY, 0)} below intrinsic value")
    earnings = owner_earnings(m)
    if earnings is None:
        reason = "no net income or cash flow reported"
        return _Valuation([excluded(name, reason, max_points, benchmark)], 1.0, [])
    quality = PROXY_QUALITY if earnings.is_proxy else 1.0
    cost = capm(m, ctx)
    discount = cost.cost_of_equity
    terminal = min(MAX_TERMINAL_GROWTH, ctx.risk_free_rate)
    growth, raw_growth, notes = _growth(m)
    quality *= NO_GROWTH_QUALITY if notes else 1.0
    factors = [
        *_earnings_factors(m, earnings),
        raw_growth,
        info(
            "Owner-earnings growth",
            growth,
            f"Growth used for {PROJECTION_YEARS} years"
            + (" (0% assumed: no growth figure)." if notes else ", clipped history."),
        ),
        info("Projection years", float(PROJECTION_YEARS), "Years of explicit growth."),
        info("Terminal growth", terminal, "min(2.5%, risk-free rate), forever after year 10."),
        info("Beta", cost.beta, cost.beta_note[:1].upper() + cost.beta_note[1:] + "."),
        info(
            "Discount rate",
            discount,
            f"CAPM cost of equity, the DCF's: rf {pct(ctx.risk_free_rate, 2)} + beta x ERP "
            f"{pct(ctx.equity_risk_premium, 2)}; owner earnings are cash to shareholders, "
            "so no debt is subtracted.",
        ),
    ]
    if discount - terminal < 0.005:
        factors.append(excluded(name, "cost of equity does not exceed terminal growth", max_points))
        return _Valuation(factors, quality, notes)
    if earnings.value <= 0:
        text = "Owner earnings are not positive: no intrinsic value."
        return _Valuation([*factors, scored(name, None, benchmark, 0.0, max_points, text)],
                          quality, notes)  # fmt: skip
    if m.shares_outstanding is None:
        factors += [
            info("Shares outstanding", None, f"Missing: {m.why_missing('shares_outstanding')}."),
            excluded(name, "no shares outstanding", max_points, benchmark),
        ]
        return _Valuation(factors, quality, notes)
    total = finite(intrinsic_value(earnings.value, growth, discount, terminal))
    per_share = finite(total / m.shares_outstanding) if total is not None else None
    factors.append(info("Shares outstanding", m.shares_outstanding,
                        m.shares_note or "Latest fiscal year, checked against market cap / price."))  # fmt: skip
    if total is None or per_share is None or per_share <= 0:
        factors.append(excluded(name, "intrinsic value not computable", max_points, benchmark))
        return _Valuation(factors, quality, notes)
    factors += [
        info("Intrinsic value", total, "PV of 10 years of owner earnings + PV of Gordon value."),
        info("Intrinsic value per share", per_share, "Intrinsic value / shares outstanding."),
    ]
    if m.price is None:
        factors.append(excluded(name, m.why_missing("price"), max_points, benchmark))
        return _Valuation(factors, quality, notes)
    margin = finite(1.0 - m.price / per_share)
    if margin is None:
        factors.append(excluded(name, "price / intrinsic value not representable", max_points))
        return _Valuation(factors, quality, notes)
    factors.append(info("Price", m.price, f"Source: {m.price_source}."))
    implausible = plausibility_problem(per_share, m.price)
    if implausible:
        factors.append(excluded(name, implausible, max_points, benchmark))
        return _Valuation(factors, quality, [*notes, f"Data-quality warning: {implausible}."])
    factors += [
        scored(
            name,
            margin,
            benchmark,
            smooth(margin, 0.0, WANTED_MARGIN_OF_SAFETY),
            max_points,
            f"Price {m.price:.2f} vs intrinsic value {per_share:.2f}: "
            f"margin of safety {pct(margin)}.",
        ),
    ]
    return _Valuation(factors, quality, notes)


def analyse(m: StockMetrics, ctx: MarketContext) -> Analysis:
    """Score the Buffett checklist."""
    valuation = _valuation(m, ctx)
    factors = [
        _roe_level(m),
        _roe_consistency(m),
        _operating_margin(m),
        _debt(m),
        _earnings_consistency(m),
        _fcf_consistency(m),
        _gross_margin_stability(m),
        _share_trend(m),
        *valuation.factors,
    ]
    quality = fundamentals_quality(len(m.years)) * valuation.quality
    problem: NotRated | None = None
    if not m.years:
        problem = ("no_fundamentals", "no fiscal year of statements published")
    return build_analysis(
        model="warren_buffett",
        label="Warren Buffett analyst",
        symbol=m.symbol,
        factors=factors,
        nominal_max=NOMINAL_MAX,
        data_quality=quality,
        inputs_as_of=m.as_of,
        methodology_version=VERSION,
        notes=valuation.notes,
        not_rated=problem,
        details=_per_year(m),
    )


def _per_year(m: StockMetrics) -> dict[str, Any]:
    """The per-year ratios behind the ROE (and, for a lender, ROA) factors, to recompute them."""
    details: dict[str, Any] = {
        "roe_by_year": [{"fiscal_year": fy, "roe": roe} for fy, roe in scored_roes_by_year(m.years)]
    }
    if m.valuation_type == "financial":
        details["roa_by_year"] = [
            {"fiscal_year": y.fiscal_year, "roa": y.roa} for y in m.years if y.roa is not None
        ]
    return details
