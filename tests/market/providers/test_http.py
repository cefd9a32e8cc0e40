"""ResilientHttp and TokenBucket: retries, Retry-After, backoff, metrics, rate limiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from stockdash.market.providers.http import (
    ResilientHttp,
    RetryPolicy,
    TokenBucket,
    parse_retry_after,
)
from stockdash.market.types import ProviderError

from .conftest import FakeTime, request_count

BASE = "https://upstream.test"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_http(provider: str, fake_time: FakeTime, **kwargs: object) -> ResilientHttp:
    return ResilientHttp(
        provider,
        base_url=BASE,
        sleep=fake_time.sleep,
        jitter=lambda: 1.0,
        now=lambda: NOW,
        **kwargs,  # type: ignore[arg-type]
    )


@respx.mock
async def test_429_with_retry_after_seconds_waits_exactly_that_long(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/data").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    http = make_http("t-retry-after", fake_time)

    assert await http.get_json("/data", endpoint="data") == {"ok": True}

    assert fake_time.sleeps == [7.0]
    assert route.call_count == 2
    assert request_count("t-retry-after", "data", "429") == 1
    assert request_count("t-retry-after", "data", "200") == 1


@respx.mock
async def test_retry_after_http_date_is_converted_to_seconds(fake_time: FakeTime) -> None:
    when = (NOW + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    respx.get(f"{BASE}/data").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": when}),
            httpx.Response(200, json=[]),
        ]
    )
    await make_http("t-http-date", fake_time).get_json("/data", endpoint="data")
    assert fake_time.sleeps == [30.0]


@respx.mock
async def test_5xx_exhaustion_raises_provider_error_with_status(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/data").mock(return_value=httpx.Response(503))
    http = make_http("t-5xx", fake_time, retry=RetryPolicy(max_attempts=4, backoff_base=0.5))

    with pytest.raises(ProviderError) as caught:
        await http.get_json("/data", endpoint="data")

    assert caught.value.status == 503
    assert caught.value.provider == "t-5xx"
    assert route.call_count == 4
    assert fake_time.sleeps == [0.5, 1.0, 2.0]  # exponential; jitter pinned to its maximum
    assert request_count("t-5xx", "data", "503") == 4


@respx.mock
async def test_backoff_uses_full_jitter_and_is_capped(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/data").mock(return_value=httpx.Response(500))
    http = ResilientHttp(
        "t-jitter",
        base_url=BASE,
        retry=RetryPolicy(max_attempts=5, backoff_base=1.0, backoff_cap=3.0),
        sleep=fake_time.sleep,
        jitter=lambda: 0.5,
    )
    with pytest.raises(ProviderError):
        await http.get("/data", endpoint="data")
    assert fake_time.sleeps == [0.5, 1.0, 1.5, 1.5]


@respx.mock
async def test_transport_error_is_retried_and_counted(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/data").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"a": 1})]
    )
    result = await make_http("t-transport", fake_time).get_json("/data", endpoint="data")
    assert result == {"a": 1}
    assert len(fake_time.sleeps) == 1
    assert request_count("t-transport", "data", "error") == 1
    assert request_count("t-transport", "data", "200") == 1


@respx.mock
async def test_transport_error_exhaustion_raises(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/data").mock(side_effect=httpx.ReadTimeout("slow"))
    http = make_http("t-timeout", fake_time, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ProviderError) as caught:
        await http.get("/data", endpoint="data")
    assert caught.value.status is None
    assert request_count("t-timeout", "data", "error") == 2


@respx.mock
async def test_client_errors_are_not_retried(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/data").mock(return_value=httpx.Response(404))
    with pytest.raises(ProviderError) as caught:
        await make_http("t-404", fake_time).get("/data", endpoint="data")
    assert caught.value.status == 404
    assert route.call_count == 1
    assert fake_time.sleeps == []


@respx.mock
async def test_excessive_retry_after_fails_fast(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/data").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(ProviderError) as caught:
        await make_http("t-long-wait", fake_time).get("/data", endpoint="data")
    assert caught.value.status == 429
    assert fake_time.sleeps == []


@respx.mock
async def test_invalid_json_is_a_provider_error(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/data").mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(ProviderError, match="invalid JSON"):
        await make_http("t-json", fake_time).get_json("/data", endpoint="data")


@respx.mock
async def test_absolute_urls_and_headers_are_used(fake_time: FakeTime) -> None:
    route = respx.get("https://other.test/x").mock(return_value=httpx.Response(200, json={}))
    http = make_http("t-abs", fake_time, headers={"X-Key": "k"})
    await http.get_json("https://other.test/x", endpoint="x")
    assert route.calls.last.request.headers["X-Key"] == "k"


async def test_token_bucket_spaces_calls_at_the_configured_rate(fake_time: FakeTime) -> None:
    bucket = TokenBucket(5, clock=fake_time.clock, sleep=fake_time.sleep)
    started: list[float] = []
    for _ in range(4):
        await bucket.acquire()
        started.append(fake_time.now)
    assert started == pytest.approx([0.0, 12.0, 24.0, 36.0])


async def test_token_bucket_allows_a_burst_up_to_capacity(fake_time: FakeTime) -> None:
    bucket = TokenBucket(60, capacity=3, clock=fake_time.clock, sleep=fake_time.sleep)
    started: list[float] = []
    for _ in range(5):
        await bucket.acquire()
        started.append(fake_time.now)
    assert started == pytest.approx([0.0, 0.0, 0.0, 1.0, 2.0])


async def test_token_bucket_refills_while_idle(fake_time: FakeTime) -> None:
    bucket = TokenBucket(5, clock=fake_time.clock, sleep=fake_time.sleep)
    await bucket.acquire()
    fake_time.now += 20.0
    await bucket.acquire()
    assert fake_time.sleeps == []


@respx.mock
async def test_limiter_is_applied_to_every_request(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/data").mock(return_value=httpx.Response(200, json={}))
    limiter = TokenBucket(5, clock=fake_time.clock, sleep=fake_time.sleep)
    http = make_http("t-limited", fake_time, limiter=limiter)
    for _ in range(3):
        await http.get("/data", endpoint="data")
    assert fake_time.sleeps == pytest.approx([12.0, 12.0])


def test_token_bucket_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(5, capacity=0.5)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("12", 12.0),
        ("soon", None),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # already past
        ("Sat, 01 Mar 2025 12:01:00 GMT", 60.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected
