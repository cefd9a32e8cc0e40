"""The multi-AI service: cache keys cover every parameter, the context follows the snapshot,
and the narrator runs the per-model calls concurrently."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import date, timedelta

import httpx
import respx

from stockdash.analysis.analysts import METHODOLOGY_VERSIONS
from stockdash.analysis.narrator import Narrator
from stockdash.analysis.service import analysis_cache_key
from stockdash.market.cache import MemoryCache
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.analysis.analysis_builders import factor_values
from tests.conftest import analysis_service

LLM = "http://llm.test/v1"
VOICE = "A plain-words view of the business, told from its own factors."


class MovingSnapshot(SnapshotProvider):
    """The shipped snapshot whose as-of date can be moved (as a rebuilt snapshot would)."""

    shift = timedelta(0)

    def as_of(self) -> date:
        return super().as_of() + self.shift


async def test_parameters_are_part_of_the_cache_key(snapshot: SnapshotProvider) -> None:
    """Two services with different rates share one cache but never each other's results."""
    market = MarketService(snapshot, snapshot, cache=MemoryCache())
    first = await analysis_service(market, risk_free_rate=0.042).analyse("KO", ["dcf_math"])
    second = await analysis_service(market, risk_free_rate=0.03, dcf_credit_spread=0.02).analyse(
        "KO", ["dcf_math"]
    )
    assert factor_values(first["dcf_math"])["Risk-free rate"] == 0.042
    assert factor_values(second["dcf_math"])["Risk-free rate"] == 0.03
    assert factor_values(second["dcf_math"])["Credit spread"] == 0.02
    again = await analysis_service(market, risk_free_rate=0.042).analyse("KO", ["dcf_math"])
    assert again == first  # same parameters: served from the cache


async def test_cache_key_names_symbol_model_as_of_version_and_hashes_parameters(
    snapshot: SnapshotProvider,
) -> None:
    market = MarketService(snapshot, snapshot, cache=MemoryCache())
    analysis = analysis_service(market)
    data = await market.stock_data("KO")
    ctx = await analysis.context()
    key = analysis_cache_key("dcf_math", data, ctx)
    assert key.startswith(f"analysis:v2:KO:dcf_math:{data.quote.as_of.isoformat()}:")
    assert METHODOLOGY_VERSIONS["dcf_math"] in key
    variants = {
        analysis_cache_key("dcf_math", data, dataclasses.replace(ctx, **{name: value}))
        for name, value in (("risk_free_rate", 0.01), ("equity_risk_premium", 0.07),
                            ("credit_spread", 0.03), ("tax_rate", 0.3),
                            ("as_of", ctx.as_of + timedelta(days=1)))
    }  # fmt: skip
    assert key not in variants and len(variants) == 5


async def test_context_is_rebuilt_when_the_snapshot_changes() -> None:
    snapshot = MovingSnapshot()
    market = MarketService(snapshot, snapshot, cache=MemoryCache())
    analysis = analysis_service(market)
    first = await analysis.context()
    assert await analysis.context() is first  # built once per snapshot
    snapshot.shift = timedelta(days=1)
    moved = await analysis.context()
    assert moved is not first and moved.as_of == first.as_of + timedelta(days=1)
    market.snapshot = SnapshotProvider()  # a rebuilt snapshot replaces the old one
    assert await analysis.context() is not moved


async def test_narrator_calls_run_concurrently(snapshot: SnapshotProvider) -> None:
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        content = json.dumps({"reasoning": VOICE})
        return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})

    market = MarketService(snapshot, snapshot, cache=MemoryCache())
    narrator = Narrator(base_url=LLM, api_key=None, model="local", timeout=5.0)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{LLM}/chat/completions").mock(side_effect=slow)
        result = await analysis_service(market, narrator=narrator).for_tier("KO", "expert")
    assert route.call_count == 4
    assert peak == 4  # all four per-model calls were in flight together
    assert {a.reasoning for a in result.analyses.values()} == {VOICE}
