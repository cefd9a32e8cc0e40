"""Basic analyst: trend, momentum, risk, 52-week position, valuation sanity, earnings growth."""

from __future__ import annotations

from stockdash.analysis.analysts._common import (
    NotRated,
    build_analysis,
    excluded,
    info,
    input_factor,
    linear,
    pct,
    scored,
    smooth,
)
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics, finite
from stockdash.analysis.schemas import Analysis, Factor

VERSION = "basic-2.1"
NOMINAL_MAX = 100.0
MACD_SIGNAL_BAND = 0.005  # histogram / price: 12% .. 88% of the half between -0.5% and +0.5%
MACD_ZERO_BAND = 0.02  # MACD / price: 12% .. 88% of the half between -2% and +2%


def _inputs(m: StockMetrics, ctx: MarketContext) -> list[Factor]:
    """The raw numbers the scored factors use, so every score is recomputable."""
    median = ctx.sector_pe_median.get(m.sector or "")
    return [
        input_factor(m, "Price", "price", m.price, f"Source: {m.price_source}."),
        input_factor(m, "50-day moving average", "sma50", m.sma50, "Mean of the last 50 closes."),
        input_factor(
            m, "200-day moving average", "sma200", m.sma200, "Mean of the last 200 closes."
        ),
        input_factor(m, "MACD line", "macd", m.macd, "EMA12 - EMA26 of the closes."),
        input_factor(m, "MACD signal line", "macd", m.macd_signal, "EMA9 of the MACD line."),
        input_factor(m, "52-week high", "week52_position", m.week52_high, _range_text(m, "high")),
        input_factor(m, "52-week low", "week52_position", m.week52_low, _range_text(m, "low")),
        input_factor(m, "P/E", "pe", m.pe, "Quote P/E, else price / diluted EPS."),
        info(
            "Sector median P/E",
            median,
            f"Median positive P/E of the snapshot's {m.sector} stocks."
            if median is not None
            else f"Missing: no sector median P/E for {m.sector}.",
        ),
    ]


def _range_text(m: StockMetrics, end: str) -> str:
    """Where the 52-week figure comes from: a full year of bars, else the quote."""
    if m.week52_source == "quote":
        return (
            f"The quote's 52-week {end}: the daily bars reach back less than a year "
            f"({m.history_bars} bars), too short to measure it."
        )
    return f"{'Highest high' if end == 'high' else 'Lowest low'} of the bars of the last 365 days."


def _trend(m: StockMetrics, window: int, band: float, max_points: float) -> Factor:
    name = f"Price vs {window}-day MA"
    average = m.sma50 if window == 50 else m.sma200
    if m.price is None or average is None:
        reason = m.why_missing("price" if m.price is None else f"sma{window}")
        return excluded(name, reason, max_points)
    gap = finite(m.price / average - 1.0)
    if gap is None:
        return excluded(name, "price / moving average not representable", max_points)
    return scored(
        name,
        gap,
        f"0 pts at {pct(-band, 0)} below, full at {pct(band, 0)} above the average",
        linear(gap, -band, band),
        max_points,
        f"Price {m.price:.2f} is {pct(gap)} vs the {window}-day average {average:.2f}.",
    )


RSI_BENCHMARK = (
    "smooth: 12% of the points at RSI 25 rising to 88% at 45, 88% at 65 falling to 12% at 85 "
    "(oversold and overbought ends score low, no cliff)"
)


def rsi_fraction(rsi: float) -> float:
    """Product of a logistic rise (25 -> 45) and a logistic fall (65 -> 85): a smooth plateau."""
    return smooth(rsi, 25.0, 45.0) * smooth(-rsi, -85.0, -65.0)


def _rsi(m: StockMetrics) -> Factor:
    if m.rsi14 is None:
        return excluded("RSI-14", m.why_missing("rsi14"), 10)
    rsi = m.rsi14
    verdict = (
        "oversold" if rsi < 30 else "weak" if rsi < 40 else "healthy momentum" if rsi <= 70
        else "overbought" if rsi <= 80 else "strongly overbought"
    )  # fmt: skip
    return scored(
        "RSI-14",
        rsi,
        RSI_BENCHMARK,
        rsi_fraction(rsi),
        10,
        f"Wilder RSI-14 is {rsi:.1f} ({verdict}).",
    )


def _macd(m: StockMetrics) -> Factor:
    if m.macd is None or m.macd_histogram is None or m.macd_signal is None:
        return excluded("MACD(12,26,9)", m.why_missing("macd"), 10)
    if m.price is None:
        return excluded("MACD(12,26,9)", m.why_missing("price"), 10)
    # Relative to the price, so the same trend scores alike at $5 and at $500; smooth, so a
    # histogram of +0.001 no longer earns 5 points more than one of -0.001.
    above_signal = smooth(m.macd_histogram / m.price, -MACD_SIGNAL_BAND, MACD_SIGNAL_BAND)
    above_zero = smooth(m.macd / m.price, -MACD_ZERO_BAND, MACD_ZERO_BAND)
    return scored(
        "MACD(12,26,9)",
        m.macd_histogram,
        "half for MACD above signal: smooth logistic in histogram / price, 12% of those points "
        "at -0.5%, 50% at 0, 88% at +0.5%; half for MACD above zero: smooth logistic in MACD / "
        "price, 12% at -2%, 50% at 0, 88% at +2%",
        0.5 * above_signal + 0.5 * above_zero,
        10,
        f"MACD {m.macd:.3f} vs signal {m.macd_signal:.3f} (histogram {m.macd_histogram:.3f}); "
        f"histogram {pct(m.macd_histogram / m.price, 2)} and MACD {pct(m.macd / m.price, 2)} of "
        "the price.",
    )


def _volatility(m: StockMetrics) -> Factor:
    if m.volatility is None:
        return excluded("Annualised volatility", m.why_missing("volatility"), 10)
    return scored(
        "Annualised volatility",
        m.volatility,
        "full at <= 20%, 0 at >= 60%",
        linear(m.volatility, 0.60, 0.20),
        10,
        f"Daily log returns annualise to {pct(m.volatility)} volatility.",
    )


def _range_position(m: StockMetrics) -> Factor:
    if m.week52_position is None or m.week52_low is None or m.week52_high is None:
        reason = m.why_missing("price" if m.price is None else "week52_position")
        return excluded("52-week range position", reason, 10)
    return scored(
        "52-week range position",
        m.week52_position,
        "0 at the 52-week low, full at the high",
        m.week52_position,
        10,
        f"Price sits at {pct(m.week52_position, 0)} of the 52-week range "
        f"{m.week52_low:.2f}-{m.week52_high:.2f}.",
    )


def _drawdown(m: StockMetrics) -> Factor:
    if m.drawdown_from_high is None:
        reason = m.why_missing("price" if m.price is None else "drawdown_from_high")
        return excluded("Drawdown from 52-week high", reason, 10)
    return scored(
        "Drawdown from 52-week high",
        m.drawdown_from_high,
        "full at 0%, 0 at -30% or worse",
        linear(m.drawdown_from_high, -0.30, 0.0),
        10,
        f"Price is {pct(m.drawdown_from_high)} from its 52-week high.",
    )


def _valuation(m: StockMetrics, ctx: MarketContext) -> Factor:
    name, max_points = "P/E vs sector median", 15.0
    benchmark = "full at <= 0.8x the sector median, 0 at >= 1.5x"
    if m.negative_earnings:
        return scored(name, None, benchmark, 0.0, max_points, "Earnings are negative: no P/E.")
    median = ctx.sector_pe_median.get(m.sector or "")
    if m.pe is None or median is None or median <= 0:
        reason = m.why_missing("pe") if m.pe is None else f"no sector median P/E for {m.sector}"
        return excluded(name, reason, max_points, benchmark)
    relative = finite(m.pe / median)
    if relative is None:
        return excluded(name, "P/E / sector median not representable", max_points, benchmark)
    return scored(
        name,
        relative,
        benchmark,
        linear(relative, 1.5, 0.8),
        max_points,
        f"P/E {m.pe:.1f} is {relative:.2f}x the {m.sector} median of {median:.1f}.",
    )


def _earnings_growth(m: StockMetrics) -> Factor:
    benchmark = "0 at <= 0%, full at >= 15% a year"
    if m.earnings_growth_undefined:
        text = f"Earnings growth is undefined ({m.why_missing('earnings_growth')}): scored 0."
        return scored("Earnings growth", None, benchmark, 0.0, 10, text)
    if m.earnings_growth is None:
        return excluded("Earnings growth", m.why_missing("earnings_growth"), 10)
    return scored(
        "Earnings growth",
        m.earnings_growth,
        "0 at <= 0%, full at >= 15% a year",
        linear(m.earnings_growth, 0.0, 0.15),
        10,
        f"{m.earnings_growth_source} is {pct(m.earnings_growth)} a year.",
    )


def history_quality(bars: int) -> float:
    """1 with >= 200 daily bars, 0.7 with >= 50, else 0.4."""
    return 1.0 if bars >= 200 else 0.7 if bars >= 50 else 0.4


def analyse(m: StockMetrics, ctx: MarketContext) -> Analysis:
    """Score the basic technical + sanity factors."""
    factors = [
        *_inputs(m, ctx),
        _trend(m, 50, 0.05, 10),
        _trend(m, 200, 0.10, 15),
        _rsi(m),
        _macd(m),
        _volatility(m),
        _range_position(m),
        _drawdown(m),
        _valuation(m, ctx),
        _earnings_growth(m),
    ]
    problem: NotRated | None = None
    if m.price is None:
        problem = ("no_price", m.why_missing("price"))
    return build_analysis(
        model="basic",
        label="Basic analyst",
        symbol=m.symbol,
        factors=factors,
        nominal_max=NOMINAL_MAX,
        data_quality=history_quality(m.history_bars),
        inputs_as_of=m.as_of,
        methodology_version=VERSION,
        not_rated=problem,
    )
