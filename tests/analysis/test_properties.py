"""Property tests: bounded scores, monotone Buffett ROE and DCF discount rate, never NaN/inf."""

from __future__ import annotations

import json
import re
from datetime import date

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stockdash.analysis.analysts import run_all, run_analyst
from stockdash.analysis.analysts.dcf_math import DcfInputs, discounted_cash_flow
from stockdash.analysis.context import MarketContext
from stockdash.analysis.schemas import DcfOverrides
from stockdash.market.types import FundamentalsYear, Quote
from tests.analysis.analysis_builders import AS_OF, make_bars, make_stock, make_year

CTX = MarketContext(sector_pe_median={"Technology": 20.0}, as_of=AS_OF)
NASTY = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e308, -1e308, 1e-300, 5e-324]),
    st.floats(min_value=-1e12, max_value=1e12),
)
FIELDS = (
    "revenue", "gross_profit", "operating_income", "net_income", "eps_diluted",
    "operating_cash_flow", "capital_expenditure", "free_cash_flow", "depreciation_amortization",
    "total_debt", "cash", "shareholders_equity", "shares_outstanding", "dividends_per_share",
)  # fmt: skip


@st.composite
def nasty_year(draw: st.DrawFn, year: int) -> FundamentalsYear:
    values = {name: draw(NASTY) for name in FIELDS}
    return FundamentalsYear(
        fiscal_year=year,
        period_end=date(year, 12, 31),
        filed=date(year + 1, 3, 1),
        filed_estimated=False,
        **values,
    )


@st.composite
def nasty_stock(draw: st.DrawFn) -> tuple[object, MarketContext]:
    n_years = draw(st.integers(0, 6))
    years = [draw(nasty_year(2018 + i)) for i in range(n_years)]
    closes = draw(
        st.lists(
            st.one_of(
                st.floats(min_value=1e-6, max_value=1e9),
                st.sampled_from([0.0, -5.0, 5e-324, 1e-300, 1e308, float("nan"), float("inf")]),
            ),
            max_size=300,
        )
    )
    stock = make_stock(closes=[], years=years)
    stock.history = make_bars(closes) if closes else []
    q = stock.quote
    stock.quote = Quote(
        symbol=q.symbol, price=draw(NASTY) or 0.0, previous_close=None, change=None,
        change_percent=None, volume=None, market_cap=draw(NASTY), pe_ratio=draw(NASTY),
        eps=draw(NASTY), dividend_yield=draw(NASTY), week52_high=draw(NASTY),
        week52_low=draw(NASTY), ebitda=None, price_to_sales=None, price_to_book=draw(NASTY),
        as_of=AS_OF,
    )  # fmt: skip
    index = {b.date: draw(st.floats(-0.2, 0.2)) for b in stock.history[: draw(st.integers(0, 300))]}
    ctx = MarketContext(
        sector_pe_median={"Technology": draw(st.floats(0.1, 500))},
        index_returns=index,
        risk_free_rate=draw(st.floats(-0.01, 0.10)),
        equity_risk_premium=draw(st.floats(0.0, 0.12)),
        as_of=AS_OF,
    )
    return stock, ctx


NON_FINITE_WORD = re.compile(r"\b(nan|inf)\b", re.IGNORECASE)


def _reject_constant(token: str) -> None:
    raise AssertionError(f"non-finite number {token} in JSON")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nasty_stock())
def test_arbitrary_inputs_give_valid_finite_analyses(case: tuple[object, MarketContext]) -> None:
    stock, ctx = case
    for analysis in run_all(stock, ctx).values():  # type: ignore[arg-type]
        if analysis.score is None:
            assert analysis.signal == "not_rated" and analysis.confidence == 0
            assert analysis.not_rated_reason is not None
        else:
            assert 0 <= analysis.score <= 100
        assert 0 <= analysis.confidence <= 1
        json.loads(analysis.model_dump_json(), parse_constant=_reject_constant)
        texts = [analysis.summary, analysis.reasoning]
        texts += [f"{f.explanation} {f.value}" for f in analysis.factors]
        assert not NON_FINITE_WORD.search(" ".join(texts)), analysis.model


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(1.0, 1000.0), min_size=5, max_size=5),
    st.floats(1.0, 10.0),
)
def test_higher_roe_never_lowers_buffett_score(net_income: list[float], factor: float) -> None:
    def score(scale: float) -> float:
        years = [make_year(i, net_income=ni * 1e6 * scale) for i, ni in enumerate(net_income)]
        analysis = run_analyst("warren_buffett", make_stock(years=years), CTX)
        assert analysis.score is not None
        # Past the plausibility ceiling the margin of safety is refused, not scored (tested
        # elsewhere); monotonicity holds below it.
        assume("Data-quality warning" not in analysis.reasoning)
        return analysis.score

    assert score(factor) >= score(1.0) - 1e-9


RATES = st.floats(0.01, 0.30)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(1.0, 1e12),
    st.floats(-0.5, 1.0),
    st.floats(-0.02, 0.05),
    RATES,
    RATES,
    st.floats(-1e12, 1e12),
)
def test_higher_discount_rate_never_raises_dcf_value(
    fcf: float, growth: float, terminal: float, r1: float, r2: float, net_debt: float
) -> None:
    low, high = sorted((r1, r2))
    a = discounted_cash_flow(DcfInputs(fcf, growth, terminal, low, net_debt, 1e6))
    b = discounted_cash_flow(DcfInputs(fcf, growth, terminal, high, net_debt, 1e6))
    if a is not None and b is not None:
        assert b.per_share <= a.per_share + 1e-9 * abs(a.per_share)


@settings(max_examples=60, deadline=None)
@given(RATES, RATES)
def test_discount_override_monotone_through_analyst(r1: float, r2: float) -> None:
    low, high = sorted((r1, r2))
    stock = make_stock()

    def per_share(rate: float) -> float | None:
        a = run_analyst("dcf_math", stock, CTX, DcfOverrides(discount_rate=rate))
        value = {f.name: f.value for f in a.factors}.get("Value per share")
        return value if isinstance(value, float) else None

    a, b = per_share(low), per_share(high)
    if a is not None and b is not None:
        assert b <= a + 1e-9 * abs(a)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1.0, 1000.0), min_size=5, max_size=5), st.floats(1.0, 10.0))
def test_higher_latest_roe_never_lowers_buffett_score(net_income: list[float], k: float) -> None:
    def score(scale: float) -> float:
        scaled = [*net_income[:-1], net_income[-1] * scale]
        years = [make_year(i, net_income=ni * 1e6) for i, ni in enumerate(scaled)]
        analysis = run_analyst("warren_buffett", make_stock(years=years), CTX)
        assert analysis.score is not None
        # Past the plausibility ceiling the margin of safety is refused, not scored (tested
        # elsewhere); monotonicity holds below it.
        assume("Data-quality warning" not in analysis.reasoning)
        return analysis.score

    assert score(k) >= score(1.0) - 1e-9
