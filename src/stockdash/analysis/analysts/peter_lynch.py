"""Peter Lynch analyst: classify into one of Lynch's six categories, then weight PEG & co. by it."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from stockdash.analysis.analysts._common import (
    NotRated,
    assumption,
    build_analysis,
    equity_to_assets_factor,
    excluded,
    fundamentals_quality,
    info,
    input_factor,
    linear,
    pct,
    roa_factor,
    scored,
)
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics, finite
from stockdash.analysis.schemas import Analysis, Factor

VERSION = "peter_lynch-2.1"
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
FAST_GROWTH = 0.20  # Lynch: fast growers grow 20-25% a year
FAST_SALES_GROWTH = 0.10  # a fast grower's earnings growth must come with sales growth
SLOW_GROWTH = 0.06  # Lynch: slow growers grow about as fast as GNP (2-4%); stalwarts 10-12%
CYCLICAL_DROP = 0.20
TURNAROUND_YEARS = 3
MIN_SWING_YEARS = 3  # fewer fiscal years cannot show a cycle: the industry alone decides
ASSET_PLAY_NET_CASH = 0.5
NO_YIELD_QUALITY = 0.9  # dividend yield unknown: 0 used in the dividend-adjusted PEG
# GICS sectors and sub-industries whose earnings rise and fall with the economy (One Up on Wall
# Street, ch. 7: autos, airlines, tyres, steel, chemicals, paper, metals, oil, even defence).
CYCLICAL_SECTORS = frozenset({"Energy", "Materials"})
NON_CYCLICAL_INDUSTRIES = frozenset(
    {
        "Oil & Gas Storage & Transportation",  # fee-based pipelines
        "Industrial Gases",  # long take-or-pay contracts
        "Metal, Glass & Plastic Containers",
    }
)
CYCLICAL_INDUSTRIES = frozenset(
    {
        "Automobile Manufacturers", "Automotive Parts & Equipment", "Tires & Rubber",
        "Motorcycle Manufacturers", "Homebuilding", "Hotels, Resorts & Cruise Lines",
        "Passenger Airlines", "Airlines", "Aerospace & Defense", "Air Freight & Logistics",
        "Cargo Ground Transportation", "Trucking", "Marine Transportation",
        "Construction Machinery & Heavy Transportation Equipment",
        "Construction Machinery & Heavy Trucks", "Agricultural & Farm Machinery",
        "Semiconductor Materials & Equipment", "Semiconductor Equipment",
    }
)  # fmt: skip


def cyclical_industry(m: StockMetrics) -> bool:
    """True for GICS industries Lynch counts as cyclical (Energy/Materials minus steady niches)."""
    if m.industry in CYCLICAL_INDUSTRIES:
        return True
    return m.sector in CYCLICAL_SECTORS and m.industry not in NON_CYCLICAL_INDUSTRIES


def earnings_swings(m: StockMetrics) -> int:
    """Years whose net income fell more than 20% from a positive base, or was a loss."""
    earnings = [y.net_income for y in m.years if y.net_income is not None]
    falls = sum(1 for a, b in pairwise(earnings) if b > 0 and a > 0 and b < a * (1 - CYCLICAL_DROP))
    return falls + sum(1 for e in earnings if e <= 0)


def _turnaround(m: StockMetrics) -> str | None:
    """Rule text if net income went from losses to profits or fell into a loss recently."""
    earnings = [y.net_income for y in m.years if y.net_income is not None]
    recent = earnings[-TURNAROUND_YEARS:]
    if not any(e <= 0 for e in recent) or not any(e > 0 for e in earnings):
        return None
    if earnings[-1] > 0:
        return "back to a profit after a loss within the last 3 fiscal years"
    return "a loss in the latest fiscal year after profitable years (turnaround candidate)"


def _asset_play(m: StockMetrics) -> str | None:
    """Rule text if the market values the company below its book or net cash."""
    if m.price_to_book is not None and 0 < m.price_to_book < 1:
        return f"price/book {m.price_to_book:.2f} < 1: the market values it below book"
    net_cash = -m.net_debt if m.net_debt is not None else None
    share = finite(net_cash / m.market_cap) if net_cash is not None and m.market_cap else None
    if share is not None and share > ASSET_PLAY_NET_CASH:
        return f"net cash is {pct(share, 0)} of the market cap (> 50%)"
    return None


def classify(m: StockMetrics) -> tuple[Category, str]:
    """Lynch category, first matching rule: cyclical, turnaround, asset play, then growth."""
    swings = earnings_swings(m)
    if cyclical_industry(m) and (swings > 0 or len(m.years) < MIN_SWING_YEARS):
        evidence = (
            f"{swings} net-income falls of > 20% or losses"
            if swings
            else "too few fiscal years to see the cycle"
        )
        return "cyclical", f"cyclical industry ({m.industry or m.sector}) and {evidence}"
    turnaround = _turnaround(m)
    if turnaround:
        return "turnaround", turnaround
    asset_play = _asset_play(m)
    if asset_play:
        return "asset_play", asset_play
    growth = m.earnings_growth
    if growth is None:
        return "unclassified", f"no earnings growth figure ({m.why_missing('earnings_growth')})"
    sales = m.revenue_cagr
    if growth >= FAST_GROWTH and (sales is None or sales >= FAST_SALES_GROWTH):
        return "fast_grower", f"earnings growth {pct(growth)} >= 20% a year"
    if growth >= FAST_GROWTH and sales is not None:
        # Earnings racing ahead of sales (a depressed base year, margin catch-up) do not make a
        # fast grower; the sales growth then says how fast the business really grows.
        category: Category = "stalwart" if sales >= SLOW_GROWTH else "slow_grower"
        return category, (
            f"earnings growth {pct(growth)} >= 20% but sales grow {pct(sales)} a year (< 10%), "
            f"so sales decide: {category.replace('_', ' ')}"
        )
    if growth >= SLOW_GROWTH:
        return "stalwart", f"earnings growth {pct(growth)} in 6-20% a year"
    return "slow_grower", f"earnings growth {pct(growth)} < 6% a year"


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
    """0 at <= 0%, linear to full at 20%, full to 40%, then down to 60% at >= 60% (unsustainable).

    The decline is a ramp, not a cliff: 40.1% growth no longer loses 40% of the points at once.
    """
    if growth > 0.40:
        return 1.0 - 0.4 * linear(growth, 0.40, 0.60)
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
    peg = finite(m.pe / (m.earnings_growth * 100))
    if peg is None:
        return excluded(name, "PEG not representable", max_points, benchmark)
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
    note = "" if m.dividend_yield is not None else " (yield unknown: taken as 0, lower confidence)"
    ratio = finite((m.earnings_growth * 100 + dividend * 100) / m.pe)
    if ratio is None:
        return excluded(name, "ratio not representable", max_points, benchmark)
    return scored(
        name,
        ratio,
        benchmark,
        linear(ratio, 1.0, 2.0),
        max_points,
        f"(growth {m.earnings_growth * 100:.1f} + yield {dividend * 100:.2f}{note}) / "
        f"P/E {m.pe:.1f} = {ratio:.2f}.",
    )


def _balance_sheet(m: StockMetrics, max_points: float) -> list[Factor]:
    """Debt/equity; for a bank or insurer equity/assets and return on assets share its weight."""
    if m.valuation_type == "financial":
        return [equity_to_assets_factor(m, max_points / 2), roa_factor(m, max_points / 2)]
    return [_debt(m, max_points)]


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
    name, benchmark = "Earnings growth", "0 at <= 0%, full at 20-40%, linear down to 60% at >= 60%"
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


def _inputs(m: StockMetrics) -> list[Factor]:
    """Raw inputs of the category rule and the ratios, as numbers."""

    return [
        info("Industry", m.industry or m.sector, "GICS sub-industry (sector if none)."),
        info("Earnings swings", float(earnings_swings(m)), "Years with a loss or a > 20% fall."),
        input_factor(m, "P/E", "pe", m.pe, "Quote P/E, else price / diluted EPS."),
        input_factor(m, "Earnings growth used", "earnings_growth", m.earnings_growth,
            f"{m.earnings_growth_source}, a year (PEG denominator x100)."),
        input_factor(m, "Dividend yield", "dividend_yield", m.dividend_yield, "Fraction of the price."),
        input_factor(m, "Price/book", "price", m.price_to_book, "Quote price-to-book."),
        input_factor(m, "Net debt", "net_debt", m.net_debt, "Total debt - cash, latest year."),
        input_factor(m, "Market cap", "market_cap", m.market_cap, "Quote market cap, else the profile's."),
    ]  # fmt: skip


def analyse(m: StockMetrics, ctx: MarketContext) -> Analysis:
    """Classify, then score with the category's weights."""
    category, rule = classify(m)
    weights = WEIGHTS[category]
    dividend_peg = _dividend_peg(m, weights["dividend_peg"])
    factors = [
        info(
            "Lynch category",
            category,
            f"Rule: {rule}.",
            "cyclical > turnaround > asset play > growth",
        ),
        *_inputs(m),
        _peg(m, weights["peg"]),
        dividend_peg,
        *_balance_sheet(m, weights["debt"]),
        _consistency(m, weights["consistency"]),
        _growth(m, weights["growth"]),
    ]
    quality = fundamentals_quality(len(m.years)) * (0.8 if category == "unclassified" else 1.0)
    notes = [f"Category {category.replace('_', ' ')} sets the factor weights."]
    if dividend_peg.max_points > 0 and m.dividend_yield is None:
        quality *= NO_YIELD_QUALITY
        notes.append(
            assumption(
                f"dividend yield unknown ({m.why_missing('dividend_yield')}); taken as 0 in "
                "the dividend-adjusted PEG",
                NO_YIELD_QUALITY,
            )
        )
    problem: NotRated | None = None
    if not m.years:
        problem = ("no_fundamentals", "no fiscal year of statements published")
    return build_analysis(
        model="peter_lynch",
        label="Peter Lynch analyst",
        symbol=m.symbol,
        factors=factors,
        nominal_max=NOMINAL_MAX,
        data_quality=quality,
        inputs_as_of=m.as_of,
        methodology_version=VERSION,
        notes=notes,
        not_rated=problem,
    )
