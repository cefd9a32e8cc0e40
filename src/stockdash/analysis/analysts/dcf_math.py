"""DCF analyst: the valuation that suits the business, discounted at a CAPM cost of capital.

* Most companies: a three-stage FCFF DCF on normalised free cash flow at a WACC.
* Banks and insurers (debt is their raw material, capex is not reported): Damodaran's stable
  excess-return model, value = book equity + (ROE - cost of equity) x book / (cost - growth).
* REITs and utilities (regulated or pass-through payouts): a Gordon dividend discount model.
Any required input missing or implausible makes the model decline ("not rated"), never guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from stockdash.analysis.analysts._common import (
    NotRated,
    assumption,
    build_analysis,
    capm,
    fundamentals_quality,
    info,
    pct,
    plausibility_problem,
    scored,
    smooth,
)
from stockdash.analysis.context import MarketContext
from stockdash.analysis.metrics import StockMetrics, finite, mean
from stockdash.analysis.schemas import Analysis, DcfOverrides, Factor

VERSION = "dcf_math-3.1"
NOMINAL_MAX = 100.0
HIGH_GROWTH_YEARS = 5
FADE_YEARS = 5
GROWTH_FLOOR, GROWTH_CAP = -0.05, 0.25
MAX_TERMINAL_GROWTH = 0.025
MIN_SPREAD = 0.005  # discount rate must exceed terminal growth by this much for Gordon's formula
WEAK_INPUT_QUALITY = 0.8  # a fallback for beta, market value, debt, capex or growth
CASH_QUALITY = 0.9  # cash missing: counted as 0 in net debt (conservative)
SHORT_HISTORY_QUALITY = 0.9  # fewer than 3 years behind the normalised figure
ROE_YEARS = 5  # the excess-return model uses the mean ROE of the last 5 years
MODELS = {
    "general": ("fcff_dcf", "three-stage FCFF DCF on normalised free cash flow at a WACC"),
    "financial": (
        "excess_return",
        "bank/insurer: excess-return model on book equity and ROE (Damodaran); operating cash "
        "flow and capex do not measure what a lender or insurer can pay out",
    ),
    "reit": ("dividend_discount", "REIT: Gordon dividend discount model (REITs pay out most "
             "of their income)"),
    "utility": ("dividend_discount", "utility: Gordon dividend discount model (regulated, "
                "dividend-paying; capex is financed with debt)"),
}  # fmt: skip
BASE_FCF_TEXT = (
    "Normalised free cash flow: mean of the last {n} years' operating cash flow - capex, used as "
    "the proxy for free cash flow to the firm: it is after interest paid, so slightly "
    "conservative."
)
SCENARIO_WEIGHTS = {"bear": 0.25, "base": 0.50, "bull": 0.25}
GRID_DISCOUNT_STEPS = (-0.01, 0.0, 0.01)
GRID_TERMINAL_STEPS = (-0.005, 0.0, 0.005)
SCORED = (("Upside to base-case value", 50.0), ("Upside to probability-weighted value", 30.0),
          ("Bear-case downside", 20.0))  # fmt: skip
# Points follow ln(value / price) through a logistic: a value twice the price is as good as one
# half the price is bad, and no threshold saturates the score (docs/analysts.md).
UPSIDE_ANCHORS = (0.5, 2.0)
BEAR_ANCHORS = (0.5, 1.0)
UPSIDE_BENCHMARK = (
    "smooth logistic in ln(value / price): 12% of the points at value = 0.5x price, 50% at 1x, "
    "88% at 2x; 0 if the value is not positive"
)
BEAR_BENCHMARK = (
    "smooth logistic in ln(bear value / price): 12% of the points at 0.5x price, 50% at 0.71x, "
    "88% at 1x; 0 if the value is not positive"
)


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
    """What one valuation model produced: base inputs (None when it declined) and factors."""

    inputs: DcfInputs | None
    factors: list[Factor]
    quality: float
    problem: NotRated | None
    notes: list[str]
    details: dict[str, Any]


def _stage1_growth(m: StockMetrics, terminal: float) -> tuple[float, str, bool]:
    """(growth, source, is_fallback): revenue trend growth, else FCF's, else net income's."""
    for value, source in (
        (m.revenue_cagr, "revenue trend growth"),
        (m.fcf_cagr, "FCF trend growth"),
        (m.net_income_cagr, "net income trend growth"),
    ):
        if value is not None:
            clipped = min(max(value, GROWTH_FLOOR), GROWTH_CAP)
            return clipped, f"{source} {pct(value)} clipped to -5%..25%", False
    return terminal, "no growth history: stage-1 growth set to terminal growth", True


class _Quality:
    """Confidence multiplier plus the stated assumption behind each reduction."""

    def __init__(self, start: float) -> None:
        self.value = start
        self.notes: list[str] = []

    def lower(self, multiplier: float, text: str) -> None:
        """Apply one stated default."""
        self.value *= multiplier
        self.notes.append(assumption(text, multiplier))


def _equity_cost_factors(
    m: StockMetrics, ctx: MarketContext, quality: _Quality, unused: str
) -> tuple[float, list[Factor]]:
    """CAPM cost of equity and its inputs as factors (shared with the Buffett analyst)."""
    cost = capm(m, ctx)
    if cost.beta_is_fallback and not unused:
        quality.lower(WEAK_INPUT_QUALITY, "stock's own beta unknown; " + cost.beta_note)
    return cost.cost_of_equity, [
        info("Risk-free rate", ctx.risk_free_rate, "Setting RISK_FREE_RATE." + unused),
        info(
            "Equity risk premium", ctx.equity_risk_premium, "Setting EQUITY_RISK_PREMIUM." + unused
        ),
        info("Beta", cost.beta, cost.beta_note[:1].upper() + cost.beta_note[1:] + "." + unused),
        info("Cost of equity", cost.cost_of_equity, "CAPM: rf + beta x ERP." + unused),
    ]


def _capital(
    m: StockMetrics, ctx: MarketContext, quality: _Quality, overridden: bool
) -> tuple[CostOfCapital, list[Factor]]:
    """The WACC and every input of it as factors."""
    unused = " (not used: the discount rate is a user override)" if overridden else ""
    _, factors = _equity_cost_factors(m, ctx, quality, unused)
    beta = next(float(f.value) for f in factors if f.name == "Beta" and f.value is not None)
    capital = CostOfCapital(
        ctx.risk_free_rate, beta, ctx.equity_risk_premium, ctx.credit_spread, ctx.tax_rate,
        m.market_cap, m.total_debt,
    )  # fmt: skip
    if m.market_cap is None and not overridden:
        quality.lower(WEAK_INPUT_QUALITY, "market value of equity unknown; WACC = cost of equity")
    equity_text = (
        "Market capitalisation (quote, else profile)."
        if m.market_cap is not None
        else f"Missing ({m.why_missing('market_cap')}): weights 100% equity, WACC = cost of equity."
    )
    factors += [
        info("Credit spread", ctx.credit_spread, "Setting DCF_CREDIT_SPREAD." + unused),
        info("Cost of debt", capital.cost_of_debt, "Pre-tax: rf + credit spread." + unused),
        info("Tax rate", ctx.tax_rate, "Setting DCF_TAX_RATE (interest tax shield)." + unused),
        info("Market value of equity", m.market_cap, equity_text + unused),
        info("Total debt", m.total_debt, _debt_text(m) + unused),
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


def _debt_text(m: StockMetrics) -> str:
    if m.total_debt is None:
        return "Missing: total debt not reported (unknown, never taken as 0)."
    if m.debt_basis == "long_term_only":
        return (
            "Long-term debt only, latest fiscal year (book value): debt due within a year is not "
            "in the data, so this is a lower bound (data-quality warning)."
        )
    return "Total debt (short- plus long-term), latest fiscal year (book value)."


def _net_debt(m: StockMetrics, quality: _Quality) -> tuple[float | None, list[Factor]]:
    """Net debt from enterprise to equity value (None: unknown), with its inputs as factors."""
    cash_text = "Cash, latest fiscal year."
    if m.net_debt is None:
        return None, [info("Net debt", None, "Missing: total debt not reported.")]
    if m.debt_basis == "long_term_only":
        quality.lower(
            WEAK_INPUT_QUALITY,
            "only long-term debt is reported; net debt is a lower bound, the value an upper bound",
        )
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


def _shares(
    m: StockMetrics, quality: _Quality
) -> tuple[float | None, list[Factor], NotRated | None]:
    """Checked share count, else market cap / price (stated); refused counts are not rated."""
    if m.shares_outstanding is not None:
        text = "Latest reported diluted shares, checked against market cap / price"
        if m.shares_note:  # replaced after a split, derived from EPS, or not checkable
            quality.lower(SHORT_HISTORY_QUALITY, "share count: " + m.shares_note)
            text = m.shares_note[:1].upper() + m.shares_note[1:]
        return m.shares_outstanding, [info("Shares", m.shares_outstanding, text + ".")], None
    if m.shares_reported is not None:
        reason = m.shares_note or "reported share count refused"
        return None, [info("Shares", None, f"Refused: {reason}.")], ("shares_inconsistent", reason)
    implied = finite(m.market_cap / m.price) if m.market_cap and m.price else None
    if implied is not None:
        text = "Implied: market cap / price (no reported share count)."
        return implied, [info("Shares", implied, text)], None
    reason = "no share count and no market cap to imply one"
    return None, [info("Shares", None, f"Missing: {reason}.")], ("shares_unknown", reason)


def _terminal(ctx: MarketContext, o: DcfOverrides) -> tuple[float, Factor]:
    terminal = (
        o.terminal_growth
        if o.terminal_growth is not None
        else min(MAX_TERMINAL_GROWTH, ctx.risk_free_rate)
    )
    text = "User override." if o.terminal_growth is not None else "min(2.5%, risk-free rate)."
    return terminal, info("Terminal growth", terminal, text)


def _fcf_problem(m: StockMetrics) -> NotRated:
    """Why there is no normalised free cash flow."""
    latest = m.years[-1] if m.years else None
    if latest is not None and latest.operating_cash_flow is not None:
        return "capex_unknown", (
            "operating cash flow is reported but neither capex nor depreciation (its "
            "maintenance-capex fallback) is"
        )
    return "cash_flow_unknown", m.why_missing("fcf_normalised")


def _derive_fcff(m: StockMetrics, ctx: MarketContext, o: DcfOverrides) -> _Derived:
    """Collect every FCFF DCF parameter as a factor; `problem` says why it declines."""
    quality = _Quality(fundamentals_quality(len(m.years)))
    capital, factors = _capital(m, ctx, quality, o.discount_rate is not None)
    discount = o.discount_rate if o.discount_rate is not None else capital.wacc
    terminal, terminal_factor = _terminal(ctx, o)
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
        terminal_factor,
        info("Stage-1 growth", growth, growth_note[:1].upper() + growth_note[1:] + "."),
        info("High-growth years", float(HIGH_GROWTH_YEARS), "Years at stage-1 growth."),
        info(
            "Fade years", float(FADE_YEARS), "Years of linear fade from stage-1 to terminal growth."
        ),
    ]
    details = {"cost_of_capital": {
        "cost_of_equity": capital.cost_of_equity, "cost_of_debt": capital.cost_of_debt,
        "tax_rate": capital.tax_rate, "equity_weight": capital.equity_weight,
        "debt_weight": capital.debt_weight, "wacc": capital.wacc, "discount_rate": discount,
    }}  # fmt: skip

    def stop(problem: NotRated) -> _Derived:
        return _Derived(None, factors, quality.value, problem, quality.notes, details)

    if m.fcf_normalised is None:
        factors.append(info("Base FCF", None, f"Missing: {m.why_missing('fcf_normalised')}."))
        return stop(_fcf_problem(m))
    text = BASE_FCF_TEXT.format(n=m.fcf_normalised_years)
    if m.fcf_uses_depreciation:
        quality.lower(WEAK_INPUT_QUALITY, "capex unknown in some year; depreciation used as "
                      "maintenance capex (growth capex omitted)")  # fmt: skip
        text += " Where capex is unknown, depreciation stands in as maintenance capex."
    if m.fcf_normalised_years < 3:
        quality.lower(SHORT_HISTORY_QUALITY, f"FCF averaged over {m.fcf_normalised_years} year(s)")
    factors.append(info("Base FCF", m.fcf_normalised, text))
    if m.fcf_normalised <= 0:
        return stop(("negative_cash_flow", "normalised free cash flow is not positive"))
    net_debt, debt_factors = _net_debt(m, quality)
    shares, share_factors, share_problem = _shares(m, quality)
    factors += debt_factors + share_factors
    if net_debt is None:
        return stop(("debt_unknown", "total debt is not reported, so equity value is unknown"))
    if share_problem is not None or shares is None or shares <= 0:
        return stop(share_problem or ("shares_unknown", "no share count"))
    if discount - terminal < MIN_SPREAD:
        return stop(("not_computable", "discount rate does not exceed terminal growth by 0.5 pt"))
    inputs = DcfInputs(m.fcf_normalised, growth, terminal, discount, net_debt, shares)
    return _Derived(inputs, factors, quality.value, None, quality.notes, details)


def normalised_roe(m: StockMetrics) -> tuple[float | None, int]:
    """Mean ROE of the last 5 fiscal years with positive equity, and how many years."""
    roes = [y.roe for y in m.years[-ROE_YEARS:] if y.roe is not None]
    return (finite(mean(roes)), len(roes)) if roes else (None, 0)


def excess_return_value(
    book: float, roe: float, cost_of_equity: float, growth: float, shares: float
) -> float | None:
    """Per share: (book + (ROE - r) x book / (r - g)) / shares; None unless r > g."""
    if cost_of_equity <= growth or shares <= 0:
        return None
    return finite((book + (roe - cost_of_equity) * book / (cost_of_equity - growth)) / shares)


def dividend_discount_value(dps: float, cost_of_equity: float, growth: float) -> float | None:
    """Gordon: DPS x (1 + g) / (r - g); None unless r > g."""
    if cost_of_equity <= growth:
        return None
    return finite(dps * (1.0 + growth) / (cost_of_equity - growth))


@dataclass(frozen=True, slots=True)
class _EquityModel:
    """Inputs of the excess-return or dividend model: everything but the discount rate."""

    kind: str
    base: float  # book equity (excess return) or dividend per share (DDM)
    roe: float
    growth: float
    shares: float

    def per_share(self, rate: float) -> float | None:
        """Value per share at cost of equity `rate`."""
        if self.kind == "excess_return":
            return excess_return_value(self.base, self.roe, rate, self.growth, self.shares)
        return dividend_discount_value(self.base, rate, self.growth)


def _equity_model_inputs(
    m: StockMetrics, kind: str, quality: _Quality
) -> tuple[float | None, float, list[Factor], NotRated | None]:
    """(base, ROE, factors, problem) of the excess-return or dividend model."""
    latest = m.years[-1] if m.years else None
    if kind == "excess_return":
        book = latest.shareholders_equity if latest else None
        roe, years = normalised_roe(m)
        factors = [
            info("Book equity", book, "Shareholders' equity, latest fiscal year."),
            info("Normalised ROE", roe, f"Mean return on equity of the last {years} year(s)."),
        ]
        if book is None or book <= 0 or roe is None:
            return None, 0.0, factors, ("no_book_value", "no positive book equity and ROE")
        if years < 3:
            quality.lower(SHORT_HISTORY_QUALITY, f"ROE averaged over {years} year(s)")
        return book, roe, factors, None
    dps = latest.dividends_per_share if latest else None
    text = "Dividends per share, latest fiscal year."
    if (dps is None or dps <= 0) and m.dividend_yield and m.price:
        dps, text = m.dividend_yield * m.price, "Quote dividend yield x price (no filed DPS)."
    factors = [info("Dividend per share", dps, text if dps else "Missing: no dividend reported.")]
    if dps is None or dps <= 0:
        return None, 0.0, factors, ("no_dividend", "no dividend to discount")
    return dps, 0.0, [*factors, *_dividend_cover(m, dps, quality)], None


def _dividend_cover(m: StockMetrics, dps: float, quality: _Quality) -> list[Factor]:
    """How well earnings cover the discounted dividend: FFO for a REIT, EPS for a utility.

    A dividend the business does not earn cannot grow at the stable rate for long, so an
    uncovered (or uncheckable) dividend lowers confidence; it does not change the value.
    """
    latest = m.years[-1] if m.years else None
    if m.valuation_type == "reit":
        name, basis = "FFO per share", "FFO"
        ni = latest.net_income if latest else None
        da = latest.depreciation_amortization if latest else None
        shares = m.shares_outstanding
        earned = (
            finite((ni + da) / shares) if ni is not None and da is not None and shares else None
        )
        text = (
            "(net income + D&A) / shares, latest fiscal year: funds from operations; gains on "
            "property sales are not in the data, so they are not subtracted (an upper bound)."
        )
        gap = "depreciation & amortisation" if da is None else "net income or a checked share count"
    else:
        name, basis = "EPS", "earnings"
        earned = latest.eps if latest else None
        text = "Diluted EPS, latest fiscal year."
        gap = "diluted EPS"
    if earned is None:
        reason = f"{gap} not in the data, so the dividend's {basis} cover cannot be checked"
        quality.lower(WEAK_INPUT_QUALITY, reason)
        return [info(name, None, f"Missing: {reason}.")]
    payout = finite(dps / earned) if earned > 0 else None
    cover = info(
        f"Dividend / {basis}",
        payout,
        f"Dividend per share / {name}: {pct(payout)} of {basis} paid out."
        if payout is not None
        else f"Missing: {basis} per share is zero or negative, so nothing covers the dividend.",
        f"covered at <= 100% of {basis}",
    )
    if payout is None or payout > 1.0:
        quality.lower(WEAK_INPUT_QUALITY, f"the dividend is not covered by {basis} per share")
    return [info(name, earned, text), cover]


def _derive_equity_model(
    m: StockMetrics, ctx: MarketContext, o: DcfOverrides, kind: str
) -> tuple[_Derived, _EquityModel | None, float]:
    """Excess-return or dividend discount model inputs, every one a factor."""
    quality = _Quality(fundamentals_quality(len(m.years)))
    overridden = o.discount_rate is not None
    unused = " (not used: the discount rate is a user override)" if overridden else ""
    cost, factors = _equity_cost_factors(m, ctx, quality, unused)
    rate = o.discount_rate if o.discount_rate is not None else cost
    terminal, terminal_factor = _terminal(ctx, o)
    growth = o.growth if o.growth is not None else terminal
    factors += [
        info("Discount rate", rate, "User override." if overridden else "The cost of equity."),
        terminal_factor,
        info("Stable growth", growth, "User override." if o.growth is not None
             else "The terminal growth: a mature lender, insurer, REIT or utility."),
    ]  # fmt: skip
    base, roe, model_factors, problem = _equity_model_inputs(m, kind, quality)
    factors += model_factors
    shares: float | None = 1.0
    if kind == "excess_return":
        shares, share_factors, share_problem = _shares(m, quality)
        factors += share_factors
        problem = problem or share_problem
    details: dict[str, Any] = {"cost_of_equity": cost, "discount_rate": rate, "model": kind}
    if problem is None and rate - growth < MIN_SPREAD:
        problem = ("not_computable", "cost of equity does not exceed growth by 0.5 pt")
    if problem is not None or base is None or shares is None:
        derived = _Derived(None, factors, quality.value, problem, quality.notes, details)
        return derived, None, rate
    model = _EquityModel(kind, base, roe, growth, shares)
    return _Derived(None, factors, quality.value, None, quality.notes, details), model, rate


def _scenarios(inputs: DcfInputs) -> dict[str, DcfInputs]:
    """Bear: growth x0.5 (x1.5 if < 0), r +2 pt; bull: growth x1.5 (x0.5 if < 0), r -1 pt."""
    g, r = inputs.growth, inputs.discount_rate
    bull_rate = max(r - 0.01, inputs.terminal_growth + 0.01)
    return {
        "bear": replace(inputs, growth=g * 0.5 if g > 0 else g * 1.5, discount_rate=r + 0.02),
        "base": inputs,
        "bull": replace(inputs, growth=g * 1.5 if g > 0 else g * 0.5, discount_rate=bull_rate),
    }


def _equity_rates(rate: float, growth: float) -> dict[str, float]:
    """Bear: cost of equity +2 pt; bull: -1 pt (at least growth + 1 pt)."""
    return {"bear": rate + 0.02, "base": rate, "bull": max(rate - 0.01, growth + 0.01)}


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


def upside_fraction(value: float, price: float, low: float, high: float) -> float:
    """Smooth share of the points in ln(value / price), anchored at value = low x / high x price."""
    ratio = value / price
    if not ratio > 0:
        # No equity value left for shareholders, or so little next to the price that the
        # ratio underflows to zero: the same bottom of the scale either way.
        return 0.0
    return smooth(math.log(ratio), math.log(low), math.log(high))


def _upside_factor(name: str, max_points: float, value: float, price: float, why: str) -> Factor:
    upside = finite(value / price - 1.0)
    if upside is None:
        return info(name, None, "Not scored: value / price not representable.")
    if name == "Bear-case downside":
        return scored(
            name,
            upside,
            BEAR_BENCHMARK,
            upside_fraction(value, price, *BEAR_ANCHORS),
            max_points,
            f"Bear-case value {value:.2f} is {pct(upside)} vs price {price:.2f}.",
        )
    return scored(
        name,
        upside,
        UPSIDE_BENCHMARK,
        upside_fraction(value, price, *UPSIDE_ANCHORS),
        max_points,
        f"Value {value:.2f} per share is {pct(upside)} vs price {price:.2f}: {why}.",
    )


@dataclass(frozen=True, slots=True)
class _Valued:
    """Per-share values of the chosen model: base, scenarios and the weighted value."""

    base: float
    scenarios: dict[str, float]
    weighted: float | None
    factors: list[Factor]
    details: dict[str, Any]


def _weighted(values: dict[str, float]) -> float | None:
    return sum(SCENARIO_WEIGHTS[k] * v for k, v in values.items()) if len(values) == 3 else None


def _value_fcff(inputs: DcfInputs) -> _Valued | None:
    base = discounted_cash_flow(inputs)
    if base is None:
        return None
    scenarios = _scenarios(inputs)
    results = {k: discounted_cash_flow(v) for k, v in scenarios.items()}
    values = {k: r.per_share for k, r in results.items() if r is not None}
    factors = _result_factors(inputs, base)
    for key, scenario in scenarios.items():
        if key != "base" and key in values:
            factors.append(info(
                f"{key.capitalize()} scenario value", values[key],
                f"Growth {scenario.growth!r}, discount rate {scenario.discount_rate!r}, "
                f"weight {SCENARIO_WEIGHTS[key]:.0%}.",
            ))  # fmt: skip
    weighted = _weighted(values)
    if weighted is not None:
        factors.append(
            info("Probability-weighted value", weighted, "25% bear + 50% base + 25% bull.")
        )
    grid = _grid(inputs)
    factors.append(info("Sensitivity grid", _grid_text(grid), "Per-share value; rows discount "
                        "rate -1/0/+1 pt, columns terminal growth -0.5/0/+0.5 pt."))  # fmt: skip
    details = {
        "sensitivity": grid,
        "scenarios": {
            k: {"growth": s.growth, "discount_rate": s.discount_rate,
                "weight": SCENARIO_WEIGHTS[k], "per_share": values.get(k)}
            for k, s in scenarios.items()
        },
        "probability_weighted": weighted,
        "growth_path": list(base.growth_path),
    }  # fmt: skip
    return _Valued(base.per_share, values, weighted, factors, details)


def _value_equity(model: _EquityModel, rate: float) -> _Valued | None:
    rates = _equity_rates(rate, model.growth)
    values = {k: v for k, r in rates.items() if (v := model.per_share(r)) is not None}
    if "base" not in values:
        return None
    formula = (
        "(book + (ROE - r) x book / (r - g)) / shares"
        if model.kind == "excess_return"
        else "DPS x (1 + g) / (r - g)"
    )
    factors = [info("Value per share", values["base"], f"{formula} at r = the discount rate.")]
    for key in ("bear", "bull"):
        if key in values:
            factors.append(info(f"{key.capitalize()} scenario value", values[key],
                f"Discount rate {rates[key]!r}, weight {SCENARIO_WEIGHTS[key]:.0%}."))  # fmt: skip
    weighted = _weighted(values)
    if weighted is not None:
        factors.append(
            info("Probability-weighted value", weighted, "25% bear + 50% base + 25% bull.")
        )
    details = {
        "scenarios": {
            k: {"discount_rate": r, "weight": SCENARIO_WEIGHTS[k], "per_share": values.get(k)}
            for k, r in rates.items()
        },
        "probability_weighted": weighted,
    }
    return _Valued(values["base"], values, weighted, factors, details)


def _why(m: StockMetrics, model: str, valued: _Valued) -> str:
    """One clause on what drives the value, for the upside factor."""
    if model == "fcff_dcf":
        return "normalised FCF grown and discounted at the WACC, less net debt"
    if model == "excess_return":
        return "book equity plus the present value of ROE above the cost of equity"
    return "the dividend growing at the stable rate, discounted at the cost of equity"


def _derive(
    m: StockMetrics, ctx: MarketContext, o: DcfOverrides
) -> tuple[str, _Derived, _Valued | None]:
    """Run the model suited to the company: (model name, derivation, values or None)."""
    model = MODELS[m.valuation_type][0]
    if model == "fcff_dcf":
        derived = _derive_fcff(m, ctx, o)
        if derived.inputs is None:
            return model, derived, None
        valued = _value_fcff(derived.inputs)
    else:
        derived, equity, rate = _derive_equity_model(m, ctx, o, model)
        if equity is None:
            return model, derived, None
        valued = _value_equity(equity, rate)
    if valued is None:
        problem: NotRated = ("not_computable", "value not computable with these inputs")
        return model, replace(derived, problem=problem), None
    return model, derived, valued


def analyse(m: StockMetrics, ctx: MarketContext, overrides: DcfOverrides | None = None) -> Analysis:
    """Value the company with the model its sector calls for and score the upside."""
    o = overrides or DcfOverrides()
    model, derived, valued = _derive(m, ctx, o)
    factors = [info("Valuation model", model, MODELS[m.valuation_type][1][:1].upper()
                    + MODELS[m.valuation_type][1][1:] + ".")]  # fmt: skip
    factors += derived.factors
    problem = derived.problem
    details: dict[str, Any] | None = None
    if m.price is None and problem is None:
        problem = ("no_price", m.why_missing("price"))
    if valued is not None and problem is None:
        factors += valued.factors
        details = {**derived.details, **valued.details, "model": model}
        implausible = plausibility_problem(valued.base, m.price) if m.price else None
        if implausible:
            problem = ("implausible_value", implausible)
        else:
            factors += _scored_factors(m, valued, _why(m, model, valued))
    return build_analysis(
        model="dcf_math",
        label="DCF analyst",
        symbol=m.symbol,
        factors=factors,
        nominal_max=NOMINAL_MAX,
        data_quality=derived.quality,
        inputs_as_of=m.as_of,
        methodology_version=VERSION,
        notes=derived.notes,
        details=details,
        not_rated=problem,
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


def _scored_factors(m: StockMetrics, valued: _Valued, why: str) -> list[Factor]:
    assert m.price is not None  # checked by the caller
    values = {
        "Upside to base-case value": valued.base,
        "Upside to probability-weighted value": valued.weighted,
        "Bear-case downside": valued.scenarios.get("bear"),
    }
    factors = []
    for name, points in SCORED:
        value = values.get(name)
        if value is None:
            factors.append(
                info(name, None, f"Not scored ({points:g} points excluded): value not computable.")
            )
        else:
            factors.append(_upside_factor(name, points, value, m.price, why))
    return factors
