"""Universe-wide data-quality checks over the whole offline snapshot (every symbol x model)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from stockdash.analysis.analysts import run_analyst
from stockdash.analysis.analysts._common import PLAUSIBLE_VALUE_RATIO
from stockdash.analysis.context import build_market_context
from stockdash.analysis.metrics import SHARES_TOLERANCE, StockMetrics, compute_metrics
from stockdash.analysis.schemas import MODEL_NAMES, Analysis, ModelName
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import StockData

Results = dict[str, tuple[StockData, StockMetrics, dict[ModelName, Analysis]]]
MAX_EXTREME_SHARE = 0.10


@pytest.fixture(scope="module")
def results() -> Results:
    snapshot = SnapshotProvider()

    async def load() -> list[StockData]:
        quotes, profiles = snapshot.universe_quotes(), snapshot.universe_profiles()
        return [
            StockData(
                profile=profiles[s],
                quote=quotes[s],
                history=await snapshot.history(s, None, None),
                fundamentals=await snapshot.fundamentals(s),
            )
            for s in sorted(quotes)
        ]

    stocks = asyncio.run(load())
    ctx = build_market_context(stocks, as_of=snapshot.as_of())
    out: Results = {}
    for data in stocks:
        m = compute_metrics(data, ctx.index_returns)
        out[data.profile.symbol] = (
            data, m, {model: run_analyst(model, data, ctx, None, m) for model in MODEL_NAMES}
        )  # fmt: skip
    return out


def analyses(results: Results) -> Iterator[tuple[str, StockMetrics, Analysis]]:
    for symbol, (_, m, by_model) in results.items():
        for a in by_model.values():
            yield symbol, m, a


def test_no_score_without_factors_and_no_invented_score(results: Results) -> None:
    assert len(results) == 503
    for symbol, _, a in analyses(results):
        if a.score is None:
            assert a.signal == "not_rated" and a.confidence == 0 and a.not_rated_reason, symbol
            continue
        assert any(f.max_points > 0 for f in a.factors), (symbol, a.model)
        assert a.not_rated_reason is None


def test_no_score_when_a_required_input_is_unknown(results: Results) -> None:
    for symbol, m, a in analyses(results):
        if a.score is None:
            continue
        assert m.price is not None or a.model in ("warren_buffett", "peter_lynch"), symbol
        if a.model in ("warren_buffett", "peter_lynch"):
            assert m.years, symbol
        if a.model == "dcf_math":
            values = {f.name: f.value for f in a.factors}
            assert isinstance(values["Value per share"], float), symbol
            if values["Valuation model"] == "fcff_dcf":
                assert m.net_debt is not None and m.fcf_normalised is not None, symbol
                assert isinstance(values["Shares"], float), symbol
                assert m.shares_reported is None or m.shares_outstanding is not None, symbol
            elif values["Valuation model"] == "excess_return":
                book, roe = values["Book equity"], values["Normalised ROE"]
                assert isinstance(book, float) and book > 0 and isinstance(roe, float), symbol
                assert isinstance(values["Shares"], float), symbol
            else:
                dps = values["Dividend per share"]
                assert isinstance(dps, float) and dps > 0, symbol


def test_no_value_above_the_plausibility_ceiling_without_a_warning(results: Results) -> None:
    for symbol, m, a in analyses(results):
        values = {f.name: f.value for f in a.factors}
        if a.model == "dcf_math" and a.score is not None:
            assert m.price is not None
            value = values["Value per share"]
            assert isinstance(value, float) and value <= PLAUSIBLE_VALUE_RATIO * m.price, symbol
        if a.model == "warren_buffett":
            margin = next(f for f in a.factors if f.name == "Margin of safety")
            per_share = values.get("Intrinsic value per share")
            if isinstance(per_share, float) and m.price and per_share > 3 * m.price:
                assert margin.max_points == 0 and "plausibility" in margin.explanation, symbol
                assert "Data-quality warning" in a.reasoning, symbol


def test_shares_times_price_matches_the_market_cap_or_is_flagged(results: Results) -> None:
    flagged = 0
    for symbol, (_, m, _) in results.items():
        if m.shares_reported is None or m.price is None or m.market_cap is None:
            continue
        ratio = m.shares_reported * m.price / m.market_cap
        if 1 / SHARES_TOLERANCE <= ratio <= SHARES_TOLERANCE:
            assert m.shares_outstanding == m.shares_reported, symbol
            continue
        flagged += 1
        assert m.shares_note, symbol  # replaced (a split) or refused, with the reason
        if m.shares_outstanding is not None:
            used = m.shares_outstanding * m.price / m.market_cap
            assert used == pytest.approx(1.0), symbol
    assert flagged >= 1  # BKNG, HON, DVN ... were really off


def test_scores_do_not_saturate(results: Results) -> None:
    for model in MODEL_NAMES:
        scores = [
            a.score for _, _, a in analyses(results) if a.model == model and a.score is not None
        ]
        extreme = sum(1 for s in scores if s in (0.0, 100.0))
        assert scores and extreme <= MAX_EXTREME_SHARE * len(scores), (model, extreme, len(scores))


def test_financials_reits_and_utilities_get_their_own_model(results: Results) -> None:
    for symbol in ("JPM", "PGR", "ALL", "STT", "O", "DUK"):
        by_model = results[symbol][2]
        model = next(f.value for f in by_model["dcf_math"].factors if f.name == "Valuation model")
        assert model in ("excess_return", "dividend_discount"), (symbol, model)


def test_banks_and_insurers_are_scored_on_equity_to_assets_and_roa(results: Results) -> None:
    financials = 0
    for symbol, (_, m, by_model) in results.items():
        if m.valuation_type != "financial" or not m.years:
            continue
        financials += 1
        for model in ("warren_buffett", "peter_lynch"):
            factors = {f.name: f for f in by_model[model].factors}
            assert "Debt/equity" not in factors, (symbol, model)
            assert factors["Equity/assets"].max_points > 0, (symbol, model)
            assert factors["Return on assets"].max_points > 0, (symbol, model)
    assert financials >= 50  # 52 banks, insurers, brokers and asset managers in the snapshot


def test_52_week_figures_come_from_a_year_of_data(results: Results) -> None:
    data, m, _ = results["ADSK"]
    assert m.week52_source == "quote" and m.week52_high == data.quote.week52_high
    for symbol, (data, m, _) in results.items():
        if m.week52_source == "bars":
            assert data.history[0].date.toordinal() <= m.as_of.toordinal() - 358, symbol
