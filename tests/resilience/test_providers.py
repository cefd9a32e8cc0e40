"""A failing market-data provider: the user gets the snapshot copy within the deadline, the
circuit breaker stops the calls after repeated failures, and Retry-After holds across calls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from stockdash.core.config import Settings
from stockdash.jobs.refresh import run_refresh_cycle
from stockdash.market.factory import build_market
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


@pytest.mark.parametrize("path", ["history", "fundamentals"])
@pytest.mark.parametrize("fault", ["status_500", "wrong_types", HANG])
async def test_series_wait_at_most_the_deadline(
    client: httpx.AsyncClient, make_user: UserFactory, stub: StubProvider, fault: str, path: str
) -> None:
    """History and fundamentals on a user request: the snapshot's copy within the deadline."""
    stub.fault = fault
    user = await make_user()
    for symbol in SYMBOLS[:2]:
        started = time.monotonic()
        r = await client.get(f"/api/v1/stocks/{symbol}/{path}", headers=user.headers)
        elapsed = time.monotonic() - started
        assert r.status_code == 200, r.text
        body = r.json()
        # The snapshot's copy: stale, or current where the provider lacks the data (wrong
        # types in a financials payload read as no statements).
        assert body["source"] == "snapshot", body
        assert body["stale"] or fault == "wrong_types", body
        assert elapsed < SLACK, elapsed
    assert stub.calls >= 1


async def test_search_never_waits_for_the_provider(
    client: httpx.AsyncClient, make_user: UserFactory, stub: StubProvider
) -> None:
    """Search reads the shipped directory: a hanging provider is never asked."""
    stub.fault = HANG
    user = await make_user()
    r = await client.get("/api/v1/stocks/search", params={"q": "APP"}, headers=user.headers)
    assert r.status_code == 200, r.text
    assert any(hit["symbol"] == "AAPL" for hit in r.json()["data"]), r.json()
    assert stub.calls == 0


@pytest.mark.parametrize("fault", ["wrong_shape", "wrong_types", "status_500"])
async def test_refresh_records_failures_and_backs_off(
    app: Any,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    stub: StubProvider,
    fault: str,
) -> None:
    """A failing provider fails the refresh's batches (no exception); the next cycle backs off
    without a single upstream call."""
    user = await make_user("expert")
    await fill_watchlist(user, SYMBOLS[:5])
    stub.fault = fault
    container = app.state.container
    cycle = partial(run_refresh_cycle, container.storage, container.market, None, batch_size=1)
    first = await cycle()
    # Before, a payload of the wrong shape raised AttributeError out of the cycle.
    assert set(first.failed) == set(SYMBOLS[:5]), first
    calls = stub.calls
    second = await cycle()
    assert second.skipped and second.backoff > 0, second
    assert stub.calls == calls, (calls, stub.calls)


@pytest.fixture
def quick_backoff(settings: Settings) -> Settings:
    """A one-second refresh backoff and breaker reset, so a test sees both pass."""
    return settings.model_copy(
        update={"refresh_backoff_seconds": 1.0, "provider_breaker_reset_seconds": 1.0}
    )


async def _until_no_backoff(market: Any) -> None:
    """Wait (generously) until the refresh may call the provider again."""
    end = time.monotonic() + 30
    while await market.refresh_wait() > 0:
        assert time.monotonic() < end, "the backoff never ended"
        await asyncio.sleep(0.1)


async def test_refresh_backoff_doubles_while_the_provider_keeps_failing(
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    stub: StubProvider,
    quick_backoff: Settings,
    snapshot: Any,
    app: Any,
) -> None:
    """Failed cycles back off 1 s, then 2 s; once the backoff is over the provider is asked
    again (the breaker half-opened meanwhile)."""
    user = await make_user("expert")
    await fill_watchlist(user, SYMBOLS[:3])
    stub.fault = "status_500"
    container = app.state.container
    market = build_market(quick_backoff, None, snapshot=snapshot, storage=container.storage)
    cycle = partial(run_refresh_cycle, container.storage, market, None, batch_size=1)
    try:
        assert (await cycle()).failed
        assert market.guard is not None and await market.guard.refresh_failures() == 1
        calls = stub.calls
        assert (await cycle()).skipped
        assert stub.calls == calls
        await _until_no_backoff(market)
        third = await cycle()
        assert not third.skipped and third.failed, third
        assert stub.calls > calls, "after the backoff the provider is asked again"
        assert await market.guard.refresh_failures() == 2
        assert await market.refresh_wait() > 1.0  # doubled (less what has passed since)
    finally:
        await market.close()


async def test_retry_after_holds_across_refresh_cycles(
    app: Any, make_user: UserFactory, fill_watchlist: WatchlistFactory, stub: StubProvider
) -> None:
    """A 429 asking for 3000 s (met here by the first warm-up): one upstream call, then no call
    from any request, warm-up or refresh cycle before then; the cycle says why it skipped."""
    stub.fault = "status_429_long"
    user = await make_user("expert")
    await fill_watchlist(user, SYMBOLS[:3])
    assert stub.calls == 1, stub.calls
    container = app.state.container
    cycle = partial(run_refresh_cycle, container.storage, container.market, None, batch_size=1)
    for _ in range(2):
        report = await cycle()
        assert report.skipped and report.backoff > 2900, report
    assert stub.calls == 1, stub.calls


@pytest.mark.parametrize("fault", ["status_500", "wrong_shape", HANG])
async def test_yahoo_from_its_base_url_fails_over_to_the_snapshot(
    settings: Settings, snapshot: Any, stub: StubProvider, fault: str
) -> None:
    """MARKET_DATA_PROVIDER=yahoo calls YAHOO_BASE_URL (the stub): quote, history and
    fundamentals answer from the snapshot within the deadline, and the breaker opens."""
    yahoo = settings.model_copy(
        update={
            "market_data_provider": "yahoo",
            "yahoo_base_url": stub.url,
            "yahoo_cookie_url": stub.url,
            "yahoo_requests_per_minute": 100_000,
        }
    )
    stub.fault = fault
    market = build_market(yahoo, None, snapshot=snapshot)
    try:
        for symbol in SYMBOLS:
            started = time.monotonic()
            view = await market.stock(symbol)
            history = await market.history_view(symbol)
            fundamentals = await market.fundamentals_view(symbol)
            assert time.monotonic() - started < 3 * SLACK
            assert view.quote.price > 0 and view.stale
            assert history.source == fundamentals.source == "snapshot"
        assert stub.calls >= 1
        opened_at = stub.calls
        await market.history_view("KO")
        assert stub.calls == opened_at, "the open breaker makes no call"
    finally:
        await market.close()


async def test_a_user_request_does_not_wait_out_a_background_fetch(
    settings: Settings, snapshot: Any, stub: StubProvider
) -> None:
    """The refresh fetching a symbol from a hanging provider (no deadline): a user request for
    the same symbol joins that fetch for at most the deadline, then gets the snapshot's copy;
    the background fetch goes on."""
    stub.fault = HANG
    market = build_market(settings, None, snapshot=snapshot)

    async def refresh(symbol: str) -> None:
        with market.in_background():
            await market.history_view(symbol)
            await market.stock(symbol)

    background = asyncio.create_task(refresh("AAPL"))
    try:
        end = time.monotonic() + 30
        while stub.calls == 0:  # the background fetch is in flight
            assert time.monotonic() < end, "the background fetch never reached the provider"
            await asyncio.sleep(0.05)
        started = time.monotonic()
        history = await market.history_view("AAPL")
        assert history.stale and history.source == "snapshot"
        assert time.monotonic() - started < SLACK
        assert not background.done()
    finally:
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background
        await market.close()
