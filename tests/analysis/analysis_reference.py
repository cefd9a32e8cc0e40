"""Independent, deliberately plain re-implementations used to check the analysts' numbers."""

from __future__ import annotations

import math


def sma(xs: list[float], n: int) -> float:
    return sum(xs[len(xs) - n :]) / n


def wilder_rsi(xs: list[float], n: int = 14) -> float:
    up = [max(xs[i] - xs[i - 1], 0.0) for i in range(1, len(xs))]
    down = [max(xs[i - 1] - xs[i], 0.0) for i in range(1, len(xs))]
    g = sum(up[:n]) / n
    l = sum(down[:n]) / n  # noqa: E741
    for i in range(n, len(up)):
        g = (g * (n - 1) + up[i]) / n
        l = (l * (n - 1) + down[i]) / n  # noqa: E741
    return 100 - 100 / (1 + g / l)


def ema(xs: list[float], n: int) -> list[float | None]:
    """EMA aligned with xs (None before the SMA seed)."""
    k = 2 / (n + 1)
    out: list[float | None] = [None] * (n - 1)
    prev = sum(xs[:n]) / n
    out.append(prev)
    for x in xs[n:]:
        prev = x * k + prev * (1 - k)
        out.append(prev)
    return out


def macd(xs: list[float]) -> tuple[float, float]:
    e12, e26 = ema(xs, 12), ema(xs, 26)
    line = [a - b for a, b in zip(e12, e26, strict=True) if a is not None and b is not None]
    sig = ema(line, 9)[-1]
    assert sig is not None
    return line[-1], sig


def volatility(xs: list[float]) -> float:
    xs = xs[-253:]
    r = [math.log(xs[i] / xs[i - 1]) for i in range(1, len(xs))]
    mu = sum(r) / len(r)
    return math.sqrt(sum((x - mu) ** 2 for x in r) / (len(r) - 1)) * math.sqrt(252)


def ramp(v: float, zero: float, full: float) -> float:
    return min(max((v - zero) / (full - zero), 0.0), 1.0)


def dcf_per_share(
    fcf: float, g1: float, gt: float, r: float, net_debt: float, shares: float
) -> float:
    """Textbook 3-stage DCF: 5 years at g1, 5-year linear fade to gt, Gordon terminal value."""
    rates = [g1] * 5 + [g1 + (gt - g1) * k / 5 for k in range(1, 6)]
    value, cash = 0.0, fcf
    for t, g in enumerate(rates, start=1):
        cash = cash * (1 + g)
        value += cash / (1 + r) ** t
    value += cash * (1 + gt) / (r - gt) / (1 + r) ** 10
    return (value - net_debt) / shares


def wacc(
    rf: float, beta: float, erp: float, spread: float, tax: float, equity: float, debt: float
) -> float:
    """Textbook WACC: E/V * (rf + beta * ERP) + D/V * (rf + spread) * (1 - tax), V = D + E."""
    cost_of_equity = rf + beta * erp
    cost_of_debt = rf + spread
    value = equity + debt
    return equity / value * cost_of_equity + debt / value * cost_of_debt * (1 - tax)


def owner_earnings_value(
    owner: float, growth: float, discount: float, terminal: float, shares: float
) -> float:
    """10 years of owner earnings at `growth`, Gordon value after, per share (no debt step)."""
    pv = sum(owner * (1 + growth) ** t / (1 + discount) ** t for t in range(1, 11))
    tv = owner * (1 + growth) ** 10 * (1 + terminal) / (discount - terminal)
    return (pv + tv / (1 + discount) ** 10) / shares


def log_linear_growth(years: list[int], values: list[float]) -> float:
    """exp(least-squares slope of ln(value) on year) - 1, written out by hand."""
    n = len(years)
    ys = [math.log(v) for v in values]
    mx, my = sum(years) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(years, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in years
    )
    return math.exp(slope) - 1


def blume(beta: float) -> float:
    """Blume (1971) adjusted beta."""
    return (2 / 3) * beta + 1 / 3


def excess_return_per_share(book: float, roe: float, r: float, g: float, shares: float) -> float:
    """Damodaran's stable excess-return model: equity = BV + (ROE - r) x BV / (r - g)."""
    return (book + (roe - r) * book / (r - g)) / shares


def gordon_dividend_value(dps: float, r: float, g: float) -> float:
    """Gordon growth: next year's dividend / (r - g)."""
    return dps * (1 + g) / (r - g)


def logistic(v: float, low: float, high: float) -> float:
    """Smooth 0..1 mapping: 1 / (1 + e^(-4 (v - mid) / (high - low)))."""
    return 1 / (1 + math.exp(-4 * (v - (low + high) / 2) / (high - low)))


def trend_growth(years: list[int], values: list[float]) -> float:
    """min(log-linear regression growth, CAGR over the last three years)."""
    recent = (values[-1] / values[-4]) ** (1 / 3) - 1
    return min(log_linear_growth(years, values), recent)
