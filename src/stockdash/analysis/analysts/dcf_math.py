"""DCF analyst: three-stage FCFF DCF discounted at a WACC (CAPM equity cost), grid, scenarios."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stockdash.analysis.analysts._common import (
    assumption,
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

VERSION = "dcf_math-2.0"
NOMINAL_MAX = 100.0
HIGH_GROWTH_YEARS = 5
FADE_YEARS = 5
GROWTH_FLOOR, GROWTH_CAP = -0.05, 0.25
BETA_FLOOR, BETA_CAP, FALLBACK_BETA = 0.5, 2.5, 1.0
MAX_TERMINAL_GROWTH = 0.025
MIN_SPREAD = 0.005  # discount rate must exceed terminal growth by this much for Gordon's formula
WEAK_INPUT_QUALITY = 0.8  # a fallback for beta, market value, debt or growth
CASH_QUALITY = 0.9  # cash missing: counted as 0 in net debt (conservative)
BASE_FCF_TEXT = (
    "Latest reported free cash flow (operating cash flow - capex), used as the proxy for free "
    "cash flow to the firm: it is after interest paid, so slightly conservative."
)
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
class CostOfCapital:
    """WACC = E/(D+E) x Re + D/(D+E) x Rd x (1 - t), Re = rf + beta x ERP, Rd = rf + spread."""

    risk_free_rate: float
    beta: float
    equity_risk_premium: float
    credit_spread: float
    tax_rate: float
    equity_value: float | None  # E: market capitalisation
    debt_value: float | None  # D: total debt (book value, latest fiscal year)

    @property
    def cost_of_equity(self) -> float:
        """CAPM: rf + beta x ERP."""
        return self.risk_free_rate + self.beta * self.equity_risk_premium

    @property
    def cost_of_debt(self) -> float:
        """Pre-tax: rf + credit spread."""
        return self.risk_free_rate + self.credit_spread

    @property
    def debt_weight(self) -> float:
        """D / (D + E); 0 when either is unknown (then the WACC is the cost of equity)."""
        if self.equity_value is None or self.debt_value is None or self.equity_value <= 0:
            return 0.0
        weight = finite(self.debt_value / (self.debt_value + self.equity_value))
        return weight if weight is not None and 0.0 <= weight <= 1.0 else 0.0

    @property
    def equity_weight(self) -> float:
        """E / (D + E)."""
        return 1.0 - self.debt_weight

    @property
    def wacc(self) -> float:
        """Weighted average cost of capital."""
        return self.equity_weight * self.cost_of_equity + self.debt_weight * self.cost_of_debt * (
            1.0 - self.tax_rate
        )


@dataclass(frozen=True, slots=True)
class _Derived:
    inputs: DcfInputs | None
    factors: list[Factor]
    quality: float
    problem: str | None
    notes: list[str]
    capital: CostOfCapital


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


class _Quality:
    """Confidence multiplier plus the stated assumption behind each reduction."""

    def __init__(self, start: float) -> None:
        self.value = start
        self.notes: list[str] = []

    def lower(self, multiplier: float, text: str) -> None:
        """Apply one stated default."""
        self.value *= multiplier
        self.notes.append(assumption(text, multiplier))


def _capital(
    m: StockMetrics, ctx: MarketContext, quality: _Quality, overridden: bool
) -> tuple[CostOfCapital, list[Factor]]:
    """The WACC and every input of it as factors."""
    rf, erp = ctx.risk_free_rate, ctx.equity_risk_premium
    beta, beta_note, beta_fallback = _beta(m)
    capital = CostOfCapital(
        rf, beta, erp, ctx.credit_spread, ctx.tax_rate, m.market_cap, m.total_debt
    )
    unused = " (not used: the discount rate is a user override)" if overridden else ""
    if beta_fallback and not overridden:
        quality.lower(WEAK_INPUT_QUALITY, "beta unknown; 1.0 used")
    if m.market_cap is None and not overridden:
        quality.lower(WEAK_INPUT_QUALITY, "market value of equity unknown; WACC = cost of equity")
    equity_text = (
        "Market capitalisation (quote, else profile)."
        if m.market_cap is not None
        else f"Missing ({m.why_missing('market_cap')}): weights 100% equity, WACC = cost of equity."
    )
    debt_text = (
        "Total debt, latest fiscal year (book value)."
        if m.total_debt is not None
        else "Missing (total debt not reported): weights 100% equity, WACC = cost of equity."
    )
    factors = [
        info("Risk-free rate", rf, "Setting RISK_FREE_RATE." + unused),
        info("Equity risk premium", erp, "Setting EQUITY_RISK_PREMIUM." + unused),
        info("Beta", beta, beta_note + "." + unused),
        info("Cost of equity", capital.cost_of_equity, "CAPM: rf + beta x ERP." + unused),
        info("Credit spread", ctx.credit_spread, "Setting DCF_CREDIT_SPREAD." + unused),
        info("Cost of debt", capital.cost_of_debt, "Pre-tax: rf + credit spread." + unused),
        info("Tax rate", ctx.tax_rate, "Setting DCF_TAX_RATE (interest tax shield)." + unused),
        info("Market value of equity", m.market_cap, equity_text + unused),
        info("Total debt", m.total_debt, debt_text + unused),
        info("Equity weight", capital.equity_weight, "E / (D + E)." + unused),
        info("Debt weight", capital.debt_weight, "D / (D + E)." + unused),
        info(
            "WACC",
            capital.wacc,
            "Equity weight x cost of equity + debt weight x cost of debt x (1 - tax rate)."
            + unused,
        ),
    ]
    return capital, factors


def _net_debt(m: StockMetrics, quality: _Quality) -> tuple[float, list[Factor]]:
    """Net debt used to go from enterprise to equity value, with its inputs as factors."""
    cash_text = "Cash, latest fiscal year."
    if m.net_debt is None:
        quality.lower(
            WEAK_INPUT_QUALITY,
            "total debt unknown; net debt taken as 0 and the WACC weights 100% equity",
        )
        return 0.0, [
            info("Cash", m.cash, cash_text if m.cash is not None else "Missing."),
            info("Net debt", 0.0, "Debt not reported: net debt assumed 0 (equity may be "
                 "overstated)."),
        ]  # fmt: skip
    if m.net_debt_assumes_zero_cash:
        quality.lower(CASH_QUALITY, "cash not reported; net debt = total debt (cash taken as 0)")
        return m.net_debt, [
            info("Cash", None, f"Missing ({m.why_missing('cash')}): counted as 0."),
            info("Net debt", m.net_debt, "Total debt - cash, cash missing so counted as 0."),
        ]
    return m.net_debt, [
        info("Cash", m.cash, cash_text),
        info("Net debt", m.net_debt, "Total debt - cash."),
    ]


def _shares(m: StockMetrics) -> tuple[float | None, list[Factor]]:
    """Reported shares, else market cap / price (stated)."""
    if m.shares_outstanding is not None:
        shares = m.shares_outstanding
        return shares, [info("Shares", shares, "Latest reported shares outstanding.")]
    implied = finite(m.market_cap / m.price) if m.market_cap and m.price else None
    if implied is not None:
        text = "Implied: market cap / price (no reported share count)."
        return implied, [info("Shares", implied, text)]
    return None, [info("Shares", None, "Missing: no share count and no market cap and price.")]


def _derive(m: StockMetrics, ctx: MarketContext, overrides: DcfOverrides | None) -> _Derived:
    """Collect every DCF parameter as a factor; `problem` says why valuation is impossible."""
    o = overrides or DcfOverrides()
    quality = _Quality(fundamentals_quality(len(m.years)))
    capital, factors = _capital(m, ctx, quality, o.discount_rate is not None)
    discount = o.discount_rate if o.discount_rate is not None else capital.wacc
    terminal = (
        o.terminal_growth
        if o.terminal_growth is not None
        else min(MAX_TERMINAL_GROWTH, ctx.risk_free_rate)
    )
    growth, growth_note, growth_fallback = _stage1_growth(m, terminal)
    if o.growth is not None:
        growth, growth_note, growth_fallback = o.growth, "user override", False
    if growth_fallback:
        quality.lower(WEAK_INPUT_QUALITY, "no growth history; stage-1 growth = terminal growth")
    factors += [
        info(
            "Discount rate",
            discount,
            "User override (replaces the WACC)." if o.discount_rate is not None else "The WACC.",
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

    def stop(problem: str) -> _Derived:
        return _Derived(None, factors, quality.value, problem, quality.notes, capital)

    if m.fcf is None:
        factors.append(info("Base FCF", None, f"Missing: {m.why_missing('fcf')}."))
        return stop(f"no free cash flow ({m.why_missing('fcf')})")
    factors.append(info("Base FCF", m.fcf, BASE_FCF_TEXT))
    if m.fcf <= 0:
        return stop("latest free cash flow is not positive: cannot value on FCF")
    net_debt, debt_factors = _net_debt(m, quality)
    shares, share_factors = _shares(m)
    factors += debt_factors + share_factors
    if shares is None or shares <= 0:
        return stop("no share count")
    if discount - terminal < MIN_SPREAD:
        return stop("discount rate does not exceed terminal growth by 0.5 pt")
    inputs = DcfInputs(m.fcf, growth, terminal, discount, net_debt, shares)
    return _Derived(inputs, factors, quality.value, None, quality.notes, capital)


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
    upside = finite(value / price - 1.0)
    if upside is None:
        return excluded(name, "value / price not representable", max_points)
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
            "cost_of_capital": {
                "cost_of_equity": derived.capital.cost_of_equity,
                "cost_of_debt": derived.capital.cost_of_debt,
                "tax_rate": derived.capital.tax_rate,
                "equity_weight": derived.capital.equity_weight,
                "debt_weight": derived.capital.debt_weight,
                "wacc": derived.capital.wacc,
                "discount_rate": derived.inputs.discount_rate,
            },
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
        notes=([f"Cannot value: {problem}."] if problem else []) + derived.notes,
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
