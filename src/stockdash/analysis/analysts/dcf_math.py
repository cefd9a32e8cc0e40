"""DCF analyst: three-stage free-cash-flow DCF with CAPM discount rate, grid and scenarios."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

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
from stockdash.analysis.metrics import StockMetrics, finite
from stockdash.analysis.schemas import Analysis, DcfOverrides, Factor

VERSION = "dcf_math-1.0"
NOMINAL_MAX = 100.0
HIGH_GROWTH_YEARS = 5
FADE_YEARS = 5
GROWTH_FLOOR, GROWTH_CAP = -0.05, 0.25
BETA_FLOOR, BETA_CAP, FALLBACK_BETA = 0.5, 2.5, 1.0
MAX_TERMINAL_GROWTH = 0.025
MIN_SPREAD = 0.005  # discount rate must exceed terminal growth by this much for Gordon's formula
SCENARIO_WEIGHTS = {"bear": 0.25, "base": 0.50, "bull": 0.25}
GRID_DISCOUNT_STEPS = (-0.01, 0.0, 0.01)
GRID_TERMINAL_STEPS = (-0.005, 0.0, 0.005)
SCORED = (("Upside to base-case value", 50.0), ("Upside to probability-weighted value", 30.0),
          ("Bear-case downside", 20.0))  # fmt: skip


@dataclass(frozen=True, slots=True)
class DcfInputs:
    """Everything needed to recompute the DCF value."""

    base_fcf: float
    growth: float
    terminal_growth: float
    discount_rate: float
    net_debt: float
    shares: float
    high_growth_years: int = HIGH_GROWTH_YEARS
    fade_years: int = FADE_YEARS


@dataclass(frozen=True, slots=True)
class DcfResult:
    """Outputs of one DCF run."""

    growth_path: tuple[float, ...]
    cash_flows: tuple[float, ...]
    pv_cash_flows: float
    terminal_value: float
    pv_terminal_value: float
    enterprise_value: float
    equity_value: float
    per_share: float


def growth_path(growth: float, terminal: float, high_years: int, fade_years: int) -> list[float]:
    """`growth` for high_years, then a linear fade reaching `terminal` in the last fade year."""
    fade = [growth + (terminal - growth) * k / fade_years for k in range(1, fade_years + 1)]
    return [growth] * high_years + fade


def discounted_cash_flow(inputs: DcfInputs) -> DcfResult | None:
    """EV = sum FCF_t/(1+r)^t + TV/(1+r)^N, TV = FCF_N(1+g)/(r-g); None if r <= g or not finite."""
    r, g = inputs.discount_rate, inputs.terminal_growth
    if r <= g or inputs.shares <= 0:
        return None
    path = growth_path(inputs.growth, g, inputs.high_growth_years, inputs.fade_years)
    flows: list[float] = []
    cash = inputs.base_fcf
    for rate in path:
        cash *= 1.0 + rate
        flows.append(cash)
    pv_flows = sum(flow / (1.0 + r) ** t for t, flow in enumerate(flows, start=1))
    terminal_value = flows[-1] * (1.0 + g) / (r - g)
    pv_terminal = terminal_value / (1.0 + r) ** len(flows)
    enterprise = pv_flows + pv_terminal
    equity = enterprise - inputs.net_debt
    numbers = (pv_flows, terminal_value, pv_terminal, enterprise, equity, equity / inputs.shares)
    if any(finite(n) is None for n in numbers) or any(finite(f) is None for f in flows):
        return None
    return DcfResult(tuple(path), tuple(flows), *numbers)


@dataclass(frozen=True, slots=True)
class _Derived:
    inputs: DcfInputs | None
    factors: list[Factor]
    quality: float
    problem: str | None


def _stage1_growth(m: StockMetrics, terminal: float) -> tuple[float, str, bool]:
    """(growth, source, is_fallback): revenue CAGR, else FCF CAGR, else net income CAGR."""
    for value, source in (
        (m.revenue_cagr, "revenue CAGR"),
        (m.fcf_cagr, "FCF CAGR"),
        (m.net_income_cagr, "net income CAGR"),
    ):
        if value is not None:
            clipped = min(max(value, GROWTH_FLOOR), GROWTH_CAP)
            return clipped, f"{source} {pct(value)} clipped to -5%..25%", False
    return terminal, "no growth history: stage-1 growth set to terminal growth", True


def _beta(m: StockMetrics) -> tuple[float, str, bool]:
    if m.beta is None:
        return FALLBACK_BETA, f"fallback beta 1.0 ({m.why_missing('beta')})", True
    clipped = min(max(m.beta, BETA_FLOOR), BETA_CAP)
    return (
        clipped,
        f"OLS beta {m.beta:.3f} on {m.beta_observations} daily returns vs the equal-weight "
        "index, clipped to 0.5..2.5",
        False,
    )


def _derive(m: StockMetrics, ctx: MarketContext, overrides: DcfOverrides | None) -> _Derived:
    """Collect every DCF parameter as a factor; `problem` says why valuation is impossible."""
    o = overrides or DcfOverrides()
    quality = fundamentals_quality(len(m.years))
    rf, erp = ctx.risk_free_rate, ctx.equity_risk_premium
    beta, beta_note, beta_fallback = _beta(m)
    quality *= 0.8 if beta_fallback and o.discount_rate is None else 1.0
    capm = rf + beta * erp
    discount = o.discount_rate if o.discount_rate is not None else capm
    terminal = o.terminal_growth if o.terminal_growth is not None else min(MAX_TERMINAL_GROWTH, rf)
    growth, growth_note, growth_fallback = _stage1_growth(m, terminal)
    if o.growth is not None:
        growth, growth_note, growth_fallback = o.growth, "user override", False
    quality *= 0.8 if growth_fallback else 1.0
    factors = [
        info("Risk-free rate", rf, "From the market context."),
        info("Equity risk premium", erp, "From the market context."),
        info("Beta", beta, beta_note + "."),
        info(
            "Discount rate",
            discount,
            "User override."
            if o.discount_rate is not None
            else f"CAPM: rf {pct(rf, 2)} + beta {beta:.3f} x ERP {pct(erp, 2)}.",
        ),
        info(
            "Terminal growth",
            terminal,
            "User override." if o.terminal_growth is not None else "min(2.5%, risk-free rate).",
        ),
        info("Stage-1 growth", growth, growth_note[:1].upper() + growth_note[1:] + "."),
        info("High-growth years", float(HIGH_GROWTH_YEARS), "Years at stage-1 growth."),
        info(
            "Fade years", float(FADE_YEARS), "Years of linear fade from stage-1 to terminal growth."
        ),
    ]
    if m.fcf is None:
        return _Derived(None, factors, quality, f"no free cash flow ({m.why_missing('fcf')})")
    factors.append(info("Base FCF", m.fcf, "Latest reported free cash flow (OCF - capex)."))
    if m.fcf <= 0:
        return _Derived(
            None, factors, quality, "latest free cash flow is not positive: cannot value on FCF"
        )
    net_debt = m.net_debt
    if net_debt is None:
        net_debt, quality = 0.0, quality * 0.8
        factors.append(
            info(
                "Net debt", 0.0, "Debt not reported: net debt assumed 0 (equity may be overstated)."
            )
        )
    else:
        factors.append(info("Net debt", net_debt, "Total debt - cash (missing cash counted as 0)."))
    shares = m.shares_outstanding
    if shares is None and m.market_cap is not None and m.price is not None:
        shares = m.market_cap / m.price
        factors.append(
            info("Shares", shares, "Implied: market cap / price (no reported share count).")
        )
    elif shares is not None:
        factors.append(info("Shares", shares, "Latest reported shares outstanding."))
    if shares is None or shares <= 0:
        return _Derived(None, factors, quality, "no share count")
    if discount - terminal < MIN_SPREAD:
        return _Derived(
            None, factors, quality, "discount rate does not exceed terminal growth by 0.5 pt"
        )
    inputs = DcfInputs(m.fcf, growth, terminal, discount, net_debt, shares)
    return _Derived(inputs, factors, quality, None)


def _scenarios(inputs: DcfInputs) -> dict[str, DcfInputs]:
    """Bear: growth x0.5 (x1.5 if < 0), r +2 pt; bull: growth x1.5 (x0.5 if < 0), r -1 pt."""
    g, r = inputs.growth, inputs.discount_rate
    bull_rate = max(r - 0.01, inputs.terminal_growth + 0.01)
    return {
        "bear": replace(inputs, growth=g * 0.5 if g > 0 else g * 1.5, discount_rate=r + 0.02),
        "base": inputs,
        "bull": replace(inputs, growth=g * 1.5 if g > 0 else g * 0.5, discount_rate=bull_rate),
    }


def _grid(inputs: DcfInputs) -> dict[str, Any]:
    rates = [inputs.discount_rate + d for d in GRID_DISCOUNT_STEPS]
    terminals = [inputs.terminal_growth + d for d in GRID_TERMINAL_STEPS]
    values: list[list[float | None]] = []
    for rate in rates:
        row: list[float | None] = []
        for terminal in terminals:
            result = discounted_cash_flow(
                replace(inputs, discount_rate=rate, terminal_growth=terminal)
            )
            row.append(result.per_share if result else None)
        values.append(row)
    return {"discount_rates": rates, "terminal_growths": terminals, "per_share": values}


def _upside_factor(name: str, max_points: float, value: float, price: float) -> Factor:
    upside = value / price - 1.0
    if name == "Bear-case downside":
        return scored(
            name,
            upside,
            "full if the bear value >= price, 0 at <= -40%",
            linear(upside, -0.40, 0.0),
            max_points,
            f"Bear-case value {value:.2f} is {pct(upside)} vs price {price:.2f}.",
        )
    return scored(
        name,
        upside,
        "0 at <= -30%, full at >= +30% vs price",
        linear(upside, -0.30, 0.30),
        max_points,
        f"Value {value:.2f} per share is {pct(upside)} vs price {price:.2f}.",
    )


def analyse(m: StockMetrics, ctx: MarketContext, overrides: DcfOverrides | None = None) -> Analysis:
    """Run the DCF, the scenarios and the sensitivity grid and score the upside."""
    derived = _derive(m, ctx, overrides)
    factors = list(derived.factors)
    details: dict[str, Any] | None = None
    problem = derived.problem
    base = discounted_cash_flow(derived.inputs) if derived.inputs else None
    if derived.inputs is not None and base is None:
        problem = "DCF not computable with these inputs (numeric overflow)"
    if derived.inputs is not None and base is not None:
        scenario_results = {
            k: discounted_cash_flow(v) for k, v in _scenarios(derived.inputs).items()
        }
        factors += _result_factors(derived.inputs, base)
        values = {k: r.per_share for k, r in scenario_results.items() if r is not None}
        for key, scenario in _scenarios(derived.inputs).items():
            if key != "base" and key in values:
                factors.append(
                    info(
                        f"{key.capitalize()} scenario value",
                        values[key],
                        f"Growth {scenario.growth!r}, discount rate {scenario.discount_rate!r}, "
                        f"weight {SCENARIO_WEIGHTS[key]:.0%}.",
                    )
                )
        weighted = (
            sum(SCENARIO_WEIGHTS[k] * v for k, v in values.items()) if len(values) == 3 else None
        )
        if weighted is not None:
            factors.append(
                info("Probability-weighted value", weighted, "25% bear + 50% base + 25% bull.")
            )
        grid = _grid(derived.inputs)
        factors.append(
            info(
                "Sensitivity grid",
                _grid_text(grid),
                "Per-share value; rows discount rate -1/0/+1 pt, "
                "columns terminal growth -0.5/0/+0.5 pt.",
            )
        )
        details = {
            "sensitivity": grid,
            "scenarios": {
                k: {
                    "growth": s.growth,
                    "discount_rate": s.discount_rate,
                    "weight": SCENARIO_WEIGHTS[k],
                    "per_share": values.get(k),
                }
                for k, s in _scenarios(derived.inputs).items()
            },
            "probability_weighted": weighted,
            "growth_path": list(base.growth_path),
        }
        factors += _scored_factors(
            m,
            {
                "Upside to base-case value": base.per_share,
                "Upside to probability-weighted value": weighted,
                "Bear-case downside": values.get("bear"),
            },
        )
    else:
        factors += [excluded(name, problem or "cannot value", points) for name, points in SCORED]
    return build_analysis(
        model="dcf_math",
        label="DCF analyst",
        symbol=m.symbol,
        factors=factors,
        nominal_max=NOMINAL_MAX,
        data_quality=derived.quality,
        inputs_as_of=m.as_of,
        methodology_version=VERSION,
        notes=[f"Cannot value: {problem}."] if problem else [],
        details=details,
    )


def _grid_text(grid: dict[str, Any]) -> str:
    rows = []
    for rate, row in zip(grid["discount_rates"], grid["per_share"], strict=True):
        cells = ", ".join("n/a" if v is None else f"{v:.2f}" for v in row)
        rows.append(f"r={rate:.4f}: {cells}")
    return "; ".join(rows)


def _result_factors(inputs: DcfInputs, base: DcfResult) -> list[Factor]:
    return [
        info(
            "Growth path",
            ", ".join(repr(g) for g in base.growth_path),
            "Yearly FCF growth, years 1..10.",
        ),
        info("PV of FCF", base.pv_cash_flows, "Sum of FCF_t / (1 + r)^t, end-of-year discounting."),
        info("Terminal value", base.terminal_value, "Gordon: FCF_10 x (1 + g) / (r - g)."),
        info("PV of terminal value", base.pv_terminal_value, "Terminal value / (1 + r)^10."),
        info("Enterprise value", base.enterprise_value, "PV of FCF + PV of terminal value."),
        info("Equity value", base.equity_value, "Enterprise value - net debt."),
        info("Value per share", base.per_share, f"Equity value / {inputs.shares:.0f} shares."),
    ]


def _scored_factors(m: StockMetrics, values: dict[str, float | None]) -> list[Factor]:
    factors = []
    for name, points in SCORED:
        value = values.get(name)
        if m.price is None:
            factors.append(excluded(name, m.why_missing("price"), points))
        elif value is None:
            factors.append(excluded(name, "value not computable", points))
        else:
            factors.append(_upside_factor(name, points, value, m.price))
    return factors
