"""The multi-AI API: tier gating, overrides, the dashboard, and every snapshot symbol analysed."""

from __future__ import annotations

import math
import re
from collections import Counter

import httpx
import pytest

from stockdash.analysis.analysts import run_all
from stockdash.analysis.analysts.peter_lynch import classify
from stockdash.analysis.context import build_market_context
from stockdash.analysis.metrics import compute_metrics
from stockdash.analysis.schemas import Analysis
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import StockData
from tests.conftest import UserFactory, WatchlistFactory, assert_error


@pytest.mark.parametrize(
    ("tier", "visible", "locked"),
    [
        ("free", ["basic"], {"warren_buffett": "pro", "peter_lynch": "pro", "dcf_math": "expert"}),
        ("pro", ["basic", "warren_buffett", "peter_lynch"], {"dcf_math": "expert"}),
        ("expert", ["basic", "warren_buffett", "peter_lynch", "dcf_math"], {}),
    ],
)
async def test_tier_decides_which_analysts_run(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    tier: str,
    visible: list[str],
    locked: dict[str, str],
) -> None:
    user = await make_user(tier)
    r = await client.get("/api/v1/stocks/KO/analysis", headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body["analyses"]) == visible
    assert {m["model"]: m["required_tier"] for m in body["locked_models"]} == locked
    for analysis in body["analyses"].values():
        factors = analysis["factors"]
        expected = sum(f["points"] for f in factors) / sum(f["max_points"] for f in factors) * 100
        assert analysis["score"] == pytest.approx(expected, abs=0.01)
    analyses = body["analyses"].values()
    weight = sum(a["confidence"] for a in analyses)
    assert body["consensus"]["score"] == pytest.approx(
        sum(a["confidence"] * a["score"] for a in analyses) / weight, abs=0.01
    )
    assert body["consensus"]["weights"] == pytest.approx(
        {m: a["confidence"] / weight for m, a in body["analyses"].items()}
    )


async def test_dcf_overrides_are_applied_and_validated(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user("expert")
    base = (await client.get("/api/v1/stocks/KO/analysis", headers=user.headers)).json()
    custom = (
        await client.get(
            "/api/v1/stocks/KO/analysis?discount_rate=0.15&terminal_growth=0.01",
            headers=user.headers,
        )
    ).json()
    assert custom["analyses"]["dcf_math"] != base["analyses"]["dcf_math"]
    assert custom["analyses"]["basic"] == base["analyses"]["basic"]
    text = str(custom["analyses"]["dcf_math"]["factors"])
    assert "0.15" in text
    r = await client.get(
        "/api/v1/stocks/KO/analysis?discount_rate=0.05&terminal_growth=0.05", headers=user.headers
    )
    assert_error(r, 422)
    assert_error(
        await client.get("/api/v1/stocks/KO/analysis?discount_rate=abc", headers=user.headers), 422
    )


async def test_unknown_symbol_and_auth(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    assert_error(await client.get("/api/v1/stocks/NOPE/analysis", headers=user.headers), 404)
    assert_error(await client.get("/api/v1/stocks/KO/analysis"), 401)


async def test_dashboard_in_one_request(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL", "JPM", "BRK.B"])
    r = await client.get("/api/v1/dashboard", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3 and body["max_stocks"] == 10
    for item in body["data"]:
        assert item["error"] is None
        assert item["quote"]["price"] > 0
        assert sorted(item["analysis"]["analyses"]) == ["basic", "peter_lynch", "warren_buffett"]
        assert len(item["sparkline"]) == 30
    other = await make_user()
    assert (await client.get("/api/v1/dashboard", headers=other.headers)).json()["count"] == 0


SUMMARY_FIELDS = {
    "model",
    "score",
    "signal",
    "confidence",
    "not_rated_reason",
    "summary",
    "inputs_as_of",
    "methodology_version",
}


async def test_dashboard_summary_view_is_the_full_view_without_the_detail(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL", "JPM", "BRK.B"])
    default = await client.get("/api/v1/dashboard", headers=user.headers)
    full = await client.get("/api/v1/dashboard?view=full", headers=user.headers)
    summary = await client.get("/api/v1/dashboard?view=summary", headers=user.headers)
    assert default.status_code == full.status_code == summary.status_code == 200
    assert default.json() == full.json()  # full stays the default
    assert len(summary.content) * 4 < len(full.content)
    full_body, summary_body = full.json(), summary.json()
    assert {k: v for k, v in summary_body.items() if k != "data"} == {
        k: v for k, v in full_body.items() if k != "data"
    }
    for whole, short in zip(full_body["data"], summary_body["data"], strict=True):
        assert all(a["factors"] and a["reasoning"] for a in whole["analysis"]["analyses"].values())
        assert {k: v for k, v in short.items() if k != "analysis"} == {
            k: v for k, v in whole.items() if k != "analysis"
        }
        assert set(short["analysis"]) == {
            "symbol",
            "as_of",
            "analyses",
            "locked_models",
            "consensus",
        }
        for key in ("symbol", "as_of", "locked_models", "consensus"):
            assert short["analysis"][key] == whole["analysis"][key]
        assert list(short["analysis"]["analyses"]) == ["basic", "warren_buffett", "peter_lynch"]
        for model, brief in short["analysis"]["analyses"].items():
            assert set(brief) == SUMMARY_FIELDS
            assert brief == {k: whole["analysis"]["analyses"][model][k] for k in SUMMARY_FIELDS}
    assert [lm["model"] for lm in summary_body["data"][0]["analysis"]["locked_models"]] == [
        "dcf_math"
    ]


async def test_dashboard_view_must_be_full_or_summary(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    for bad in ("compact", "SUMMARY", ""):
        r = await client.get(f"/api/v1/dashboard?view={bad}", headers=user.headers)
        assert_error(r, 422, "validation_error")


async def universe(snapshot: SnapshotProvider) -> dict[str, StockData]:
    """Every snapshot symbol with history and fundamentals."""
    quotes, profiles = snapshot.universe_quotes(), snapshot.universe_profiles()
    return {
        s: StockData(
            profile=profiles[s],
            quote=quotes[s],
            history=await snapshot.history(s, None, None),
            fundamentals=await snapshot.fundamentals(s),
        )
        for s in sorted(quotes)
    }


async def test_lynch_categories_are_plausible_over_the_snapshot(
    snapshot: SnapshotProvider,
) -> None:
    """No category swallows the index (47% were 'cyclical', NVDA/JPM/VZ/T/NEE among them)."""
    stocks = await universe(snapshot)
    ctx = build_market_context(stocks.values(), as_of=snapshot.as_of())
    category = {s: classify(compute_metrics(d, ctx.index_returns))[0] for s, d in stocks.items()}
    counts = Counter(category.values())
    assert max(counts.values()) <= 0.40 * len(stocks), counts
    assert counts["cyclical"] <= 0.25 * len(stocks), counts
    assert len(counts) >= 6, counts
    assert not {category[s] for s in ("NVDA", "JPM", "VZ", "T", "NEE", "KO")} & {"cyclical"}
    assert {category[s] for s in ("XOM", "F", "GM", "NUE", "DAL", "FCX")} == {"cyclical"}


async def test_every_snapshot_symbol_gets_four_valid_analyses(snapshot: SnapshotProvider) -> None:
    stocks = await universe(snapshot)
    ctx = build_market_context(stocks.values(), as_of=snapshot.as_of())
    assert len(stocks) == 503
    unpriced: set[str] = set()
    for symbol, data in stocks.items():
        results = run_all(data, ctx)
        assert sorted(results) == ["basic", "dcf_math", "peter_lynch", "warren_buffett"], symbol
        for analysis in results.values():
            again = Analysis.model_validate_json(analysis.model_dump_json())
            if again.score is None:
                assert again.signal == "not_rated" and again.confidence == 0, symbol
                assert again.not_rated_reason and "does not rate" in again.summary, symbol
            else:
                assert 0 <= again.score <= 100 and 0 <= again.confidence <= 1, symbol
            for factor in again.factors:
                if isinstance(factor.value, float):
                    assert math.isfinite(factor.value), (symbol, factor.name)
                assert not re.search(r"\b(nan|inf)\b", factor.explanation, re.I), symbol
        if data.quote.price is None or data.quote.source == "demo":  # no real price
            unpriced.add(symbol)
            assert results["dcf_math"].score is None, symbol
            assert results["basic"].not_rated_reason == "no_price", symbol
            margin = {f.name: f for f in results["warren_buffett"].factors}["Margin of safety"]
            assert margin.max_points == 0 or margin.value is None, symbol
    assert unpriced  # the snapshot has symbols without a real price; they were checked
