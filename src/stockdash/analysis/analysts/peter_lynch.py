"""Peter Lynch analyst: classify into one of Lynch's six categories, then weight PEG & co. by it."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from stockdash.analysis.analysts._common import (
    build_analysis,
    excluded,
    fundamentals_quality,
    info,
    linear,
    pct,
    scored,
)
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics
from stockdash.analysis.schemas import Analysis, Factor

VERSION = "peter_lynch-1.0"
NOMINAL_MAX = 100.0

Category = Literal[
    "fast_grower", "stalwart", "slow_grower", "cyclical", "turnaround", "asset_play", "unclassified"
]
FactorKey = Literal["peg", "dividend_peg", "debt", "consistency", "growth"]

# Max points per factor for each category; every row sums to 100.
WEIGHTS: dict[Category, dict[FactorKey, float]] = {
    "fast_grower": {"peg": 35, "dividend_peg": 5, "debt": 15, "consistency": 20, "growth": 25},
    "stalwart": {"peg": 25, "dividend_peg": 20, "debt": 15, "consistency": 25, "growth": 15},
    "slow_grower": {"peg": 10, "dividend_peg": 40, "debt": 15, "consistency": 25, "growth": 10},
    "cyclical": {"peg": 20, "dividend_peg": 10, "debt": 35, "consistency": 15, "growth": 20},
    "turnaround": {"peg": 15, "dividend_peg": 5, "debt": 40, "consistency": 10, "growth": 30},
    "asset_play": {"peg": 20, "dividend_peg": 15, "debt": 35, "consistency": 15, "growth": 15},
    "unclassified": {"peg": 20, "dividend_peg": 20, "debt": 20, "consistency": 20, "growth": 20},
}
FAST_GROWTH = 0.20
STALWART_GROWTH = 0.10
CYCLICAL_DROP = 0.20
TURNAROUND_YEARS = 3
CYCLICAL_SECTORS = frozenset({"Energy", "Materials"})


def _sharp_declines(m: StockMetrics) -> int:
    """Year-on-year net income falls of more than 20% from a positive base."""
    earnings = [y.net_income for y in m.years if y.net_income is not None]
    return sum(1 for a, b in pairwise(earnings) if a > 0 and b < a * (1 - CYCLICAL_DROP))


def classify(m: StockMetrics) -> tuple[Category, str]:
    """Lynch category by the first matching rule (order: turnaround, cyclical, asset, growth)."""
    earnings = [y.net_income for y in m.years if y.net_income is not None]
    declines = _sharp_declines(m)
    if any(e <= 0 for e in earnings[-TURNAROUND_YEARS:]) and any(e > 0 for e in earnings):
        return (
            "turnaround",
            "a loss in the last 3 fiscal years and a profitable year in the history",
        )
    if declines >= 2 or (declines >= 1 and m.sector in CYCLICAL_SECTORS):
        return "cyclical", f"{declines} net-income drops of >20% (sector {m.sector})"
    net_cash = -m.net_debt if m.net_debt is not None else None
    if (m.price_to_book is not None and 0 < m.price_to_book < 1) or (
        net_cash is not None and m.market_cap is not None and net_cash > 0.5 * m.market_cap
    ):
        return "asset_play", "price below book value or net cash above half the market cap"
    growth = m.earnings_growth
    if growth is None:
        return "unclassified", "no earnings growth history"
    if growth >= FAST_GROWTH:
        return "fast_grower", f"earnings growth {pct(growth)} >= 20%"
    if growth >= STALWART_GROWTH:
        return "stalwart", f"earnings growth {pct(growth)} in 10-20%"
    return "slow_grower", f"earnings growth {pct(growth)} < 10%"


def _undefined_growth(m: StockMetrics) -> str:
    return f"Earnings growth is undefined ({m.why_missing('earnings_growth')}): scored 0."


def peg_fraction(peg: float) -> float:
    """Full at PEG <= 0.5, 75% at 1.0, 0 at >= 2.0, linear in between."""
    if peg <= 0.5:
        return 1.0
    if peg <= 1.0:
        return 1.0 - 0.25 * (peg - 0.5) / 0.5
    return 0.75 * linear(peg, 2.0, 1.0)


def growth_fraction(growth: float) -> float:
    """0 at <= 0%, linear to full at 20%, full to 40%, 60% above 40% (hard to sustain)."""
    if growth > 0.40:
        return 0.6
    return linear(growth, 0.0, FAST_GROWTH)


def _peg(m: StockMetrics, max_points: float) -> Factor:
    name, benchmark = "PEG", "<0.5 excellent, <1 good, >2 poor"
    if m.negative_earnings:
        return scored(name, None, benchmark, 0.0, max_points, "Earnings are negative: no PEG.")
    if m.pe is not None and m.earnings_growth_undefined:
        return scored(name, None, benchmark, 0.0, max_points, _undefined_growth(m))
    if m.pe is None or m.earnings_growth is None:
        reason = m.why_missing("pe" if m.pe is None else "earnings_growth")
        return excluded(name, reason, max_points, benchmark)
    if m.earnings_growth <= 0:
        text = f"Earnings are not growing ({pct(m.earnings_growth)}): PEG undefined."
        return scored(name, None, benchmark, 0.0, max_points, text)
    peg = m.pe / (m.earnings_growth * 100)
    return scored(
        name,
        peg,
        benchmark,
        peg_fraction(peg),
        max_points,
        f"P/E {m.pe:.1f} / growth {m.earnings_growth * 100:.1f} ({m.earnings_growth_source}) "
        f"= PEG {peg:.2f}.",
    )


def _dividend_peg(m: StockMetrics, max_points: float) -> Factor:
    name, benchmark = (
        "Dividend-adjusted PEG",
        "(growth% + yield%) / P/E: <1 poor, 1.5 ok, >=2 great",
    )
    if m.negative_earnings:
        return scored(name, None, benchmark, 0.0, max_points, "Earnings are negative.")
    if m.pe is not None and m.earnings_growth_undefined:
        return scored(name, None, benchmark, 0.0, max_points, _undefined_growth(m))
    if m.pe is None or m.earnings_growth is None:
        reason = m.why_missing("pe" if m.pe is None else "earnings_growth")
        return excluded(name, reason, max_points, benchmark)
    dividend = m.dividend_yield if m.dividend_yield is not None else 0.0
    note = "" if m.dividend_yield is not None else " (no dividend data: yield taken as 0)"
    ratio = (m.earnings_growth * 100 + dividend * 100) / m.pe
    return scored(
        name,
        ratio,
        benchmark,
        linear(ratio, 1.0, 2.0),
        max_points,
        f"(growth {m.earnings_growth * 100:.1f} + yield {dividend * 100:.2f}{note}) / "
        f"P/E {m.pe:.1f} = {ratio:.2f}.",
    )


def _debt(m: StockMetrics, max_points: float) -> Factor:
    name, benchmark = "Debt/equity", "full at <= 0.33 (Lynch's 25% debt), 0 at >= 1.0"
    latest = m.years[-1] if m.years else None
    if latest and latest.shareholders_equity is not None and latest.shareholders_equity <= 0:
        return scored(name, None, benchmark, 0.0, max_points, "Shareholders' equity is negative.")
    if m.debt_to_equity is None:
        return excluded(name, m.why_missing("debt_to_equity"), max_points, benchmark)
    return scored(
        name,
        m.debt_to_equity,
        benchmark,
        linear(m.debt_to_equity, 1.0, 0.33),
        max_points,
        f"Debt is {m.debt_to_equity:.2f}x equity.",
    )


def _consistency(m: StockMetrics, max_points: float) -> Factor:
    name = "Earnings consistency"
    if m.positive_earnings_share is None or m.earnings_increase_share is None:
        return excluded(name, "fewer than 2 years of net income", max_points)
    fraction = 0.5 * m.positive_earnings_share + 0.5 * m.earnings_increase_share
    return scored(
        name,
        fraction,
        "half for the share of profitable years, half for the share of rising years",
        fraction,
        max_points,
        f"Profitable in {pct(m.positive_earnings_share, 0)} of {m.earnings_years} years; "
        f"rising in {pct(m.earnings_increase_share, 0)} of year-on-year changes.",
    )


def _growth(m: StockMetrics, max_points: float) -> Factor:
    name, benchmark = "Earnings growth", "0 at <= 0%, full at 20-40%, 60% above 40%"
    if m.earnings_growth_undefined:
        return scored(name, None, benchmark, 0.0, max_points, _undefined_growth(m))
    if m.earnings_growth is None:
        return excluded(name, m.why_missing("earnings_growth"), max_points, benchmark)
    return scored(
        name,
        m.earnings_growth,
        benchmark,
        growth_fraction(m.earnings_growth),
        max_points,
        f"{m.earnings_growth_source} is {pct(m.earnings_growth)} a year.",
    )


def analyse(m: StockMetrics, ctx: MarketContext) -> Analysis:
    """Classify, then score with the category's weights."""
    category, rule = classify(m)
    weights = WEIGHTS[category]
    factors = [
        info(
            "Lynch category",
            category,
            f"Rule: {rule}.",
            "turnaround > cyclical > asset play > growth",
        ),
        _peg(m, weights["peg"]),
        _dividend_peg(m, weights["dividend_peg"]),
        _debt(m, weights["debt"]),
        _consistency(m, weights["consistency"]),
        _growth(m, weights["growth"]),
    ]
    quality = fundamentals_quality(len(m.years)) * (0.8 if category == "unclassified" else 1.0)
    return build_analysis(
        model="peter_lynch",
        label="Peter Lynch analyst",
        symbol=m.symbol,
        factors=factors,
        nominal_max=NOMINAL_MAX,
        data_quality=quality,
        inputs_as_of=m.as_of,
        methodology_version=VERSION,
        notes=[f"Category {category.replace('_', ' ')} sets the factor weights."],
    )
