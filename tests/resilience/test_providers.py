"""A failing market-data provider: the user gets the snapshot copy within the deadline, the
circuit breaker stops the calls after repeated failures, and Retry-After holds across calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from stockdash.core.config import Settings
from stockdash.jobs.refresh import run_refresh_cycle
from tests.conftest import UserFactory, WatchlistFactory
from tests.resilience.stub import FAULTS, HANG, StubProvider

DEADLINE = 1.0
# The deadline plus a generous allowance for two loaded cores (a hang would take a minute).
SLACK = DEADLINE + 3.0
BREAKER_FAILURES = 3
# Symbols the snapshot holds (it answers while the provider fails).
SYMBOLS = ["AAPL", "MSFT", "JPM", "KO", "PG", "WMT", "XOM", "V"]


@pytest.fixture
def stub() -> Iterator[StubProvider]:
    """A running stub provider."""
    server = StubProvider()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, stub: StubProvider) -> Settings:
    """The app on Polygon, pointed at the stub by POLYGON_BASE_URL."""
    return settings.model_copy(
        update={
            "market_data_provider": "polygon",
            "polygon_api_key": "stub-key",
            "polygon_base_url": stub.url,
            "polygon_requests_per_minute": 100_000,
            "provider_deadline_seconds": DEADLINE,
            "provider_breaker_failures": BREAKER_FAILURES,
            "provider_breaker_reset_seconds": 600,
        }
    )


async def _stale_quote(client: httpx.AsyncClient, symbol: str, headers: dict[str, str]) -> None:
    started = time.monotonic()
    r = await client.get(f"/api/v1/stocks/{symbol}", headers=headers)
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    body = r.json()
    # Stale (the last good copy), or the snapshot's where the provider lacks the symbol.
    assert body["price"] is not None and body["source"] != "polygon", body
    assert body["stale"] or body["source"] == "snapshot", body
    assert elapsed < SLACK, elapsed


@pytest.mark.parametrize("fault", [*FAULTS, HANG])
async def test_provider_fault_serves_the_snapshot_in_time(
    client: httpx.AsyncClient, make_user: UserFactory, stub: StubProvider, fault: str
) -> None:
    stub.fault = fault
    user = await make_user()
    for symbol in SYMBOLS:
        await _stale_quote(client, symbol, user.headers)
    assert stub.calls >= 1


@pytest.mark.parametrize("fault", ["status_500", HANG])
async def test_breaker_opens_after_repeated_failures(
    client: httpx.AsyncClient, make_user: UserFactory, stub: StubProvider, fault: str
) -> None:
    """After BREAKER_FAILURES failed calls the provider is not called at all."""
    stub.fault = fault
    user = await make_user()
    for symbol in SYMBOLS[: BREAKER_FAILURES + 1]:
        await _stale_quote(client, symbol, user.headers)
    opened_at = stub.calls
    for symbol in SYMBOLS[BREAKER_FAILURES + 1 :]:
        await _stale_quote(client, symbol, user.headers)
    assert stub.calls == opened_at, (opened_at, stub.calls)


async def test_retry_after_holds_across_requests(
    client: httpx.AsyncClient, make_user: UserFactory, stub: StubProvider
) -> None:
    """A 429 with Retry-After: 2 stops every call for two seconds (users get the snapshot)."""
    stub.fault = "status_429"
    user = await make_user()
    await _stale_quote(client, SYMBOLS[0], user.headers)
    after_first = stub.calls
    assert after_first == 1
    for symbol in SYMBOLS[1:4]:
        await _stale_quote(client, symbol, user.headers)
    assert stub.calls == after_first


@pytest.mark.parametrize("fault", ["wrong_shape", "wrong_types", "status_500"])
async def test_refresh_records_failures_and_backs_off(
    app: Any,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    stub: StubProvider,
    fault: str,
) -> None:
    """A failing provider fails the refresh's batches (no exception); once the breaker is open
    the next cycle makes no upstream call at all."""
    user = await make_user("expert")
    await fill_watchlist(user, SYMBOLS[:5])
    stub.fault = fault
    container = app.state.container
    cycle = partial(run_refresh_cycle, container.sessionmaker, container.market, None, batch_size=1)
    first = await cycle()
    # Before, a payload of the wrong shape raised AttributeError out of the cycle.
    assert "AAPL" in first.failed, first
    if fault != "status_500":
        return
    calls = stub.calls
    second = await cycle()
    assert set(second.failed) == set(SYMBOLS[:5]), second
    assert stub.calls == calls, (calls, stub.calls)
