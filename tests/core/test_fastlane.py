"""The fast lane answers hot reads with exactly what the full stack answers (status, headers,
body), counts and logs them the same way, and hands every request it should not answer on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.core.metrics import REGISTRY
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import UserFactory, UserHandle, WatchlistFactory, assert_error

HOT_READS = [
    "/api/v1/dashboard",
    "/api/v1/dashboard?view=summary",
    "/api/v1/dashboard?view=full",
    "/api/v1/watchlist",
    "/api/v1/stocks/AAPL",
    "/api/v1/stocks/aapl",
    "/api/v1/stocks/BRK.B",
    "/api/v1/stocks/AAPL/history",
    "/api/v1/stocks/AAPL/history?range=5y",
    "/api/v1/stocks/AAPL/analysis",
    "/api/v1/stocks/JPM/analysis",
]
# Requests a lane route's template matches that the lane must not answer itself, or answers
# with the app's own error handlers.
OTHER_REQUESTS = [
    ("GET", "/api/v1/stocks/search?q=AA", {}),  # an earlier route takes this path
    ("GET", "/api/v1/stocks/sources", {}),
    ("GET", "/api/v1/stocks/NOPE", {}),  # 404 from the app's handler
    ("GET", "/api/v1/stocks/AAPL/history?range=2y", {}),  # the full stack's 422
    ("GET", "/api/v1/dashboard?view=tiny", {}),
    ("GET", "/api/v1/dashboard?view=summary&view=full", {}),
    ("GET", "/api/v1/watchlist/", {}),  # the redirect
    ("GET", "/api/v1/watchlist", {"Origin": "http://evil.example"}),  # CORS decides
    ("HEAD", "/api/v1/watchlist", {}),
    ("GET", "/api/v1/stocks/AAPL/analysis?discount_rate=0.12", {}),  # overrides: checked there
    ("GET", "/api/v1/stocks/AAPL/analysis?discount_rate=0.5", {}),
    ("GET", "/api/v1/stocks/NOPE/analysis", {}),
]
IGNORED_HEADERS = {"x-request-id", "date"}


@pytest.fixture
async def full_stack(
    settings: Settings, snapshot: SnapshotProvider
) -> AsyncIterator[httpx.AsyncClient]:
    """The same database behind an app with the lane off: every request takes the full stack."""
    app = create_app(settings.model_copy(update={"fast_lane_enabled": False}), snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


@pytest.fixture
async def expert(make_user: UserFactory, fill_watchlist: WatchlistFactory) -> UserHandle:
    user = await make_user("expert")
    await fill_watchlist(user, ["AAPL", "BRK.B", "JPM"])
    return user


def _lane(outcome: str) -> float:
    value = REGISTRY.get_sample_value("stockdash_fast_lane_requests_total", {"outcome": outcome})
    return value or 0.0


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in IGNORED_HEADERS]
    return response.status_code, headers, response.content


async def _both(
    lane: httpx.AsyncClient, full: httpx.AsyncClient, method: str, path: str, headers: Any
) -> tuple[httpx.Response, httpx.Response]:
    ours = await lane.request(method, path, headers=headers)
    theirs = await full.request(method, path, headers=headers)
    return ours, theirs


@pytest.mark.parametrize("path", HOT_READS)
async def test_the_lane_answers_exactly_as_the_full_stack(
    client: httpx.AsyncClient, expert: UserHandle, path: str
) -> None:
    """Same app, same caches: a parameter FastAPI ignores but the lane does not know sends the
    second request down the full stack."""
    await client.get(path, headers=expert.headers)  # warm: both answers come from the caches
    answered, handed_on = _lane("answered"), _lane("handed_on")
    ours = await client.get(path, headers=expert.headers)
    assert _lane("answered") == answered + 1
    theirs = await client.get(
        f"{path}{'&' if '?' in path else '?'}via=full", headers=expert.headers
    )
    assert _lane("handed_on") == handed_on + 1
    assert ours.status_code == 200
    assert _comparable(ours) == _comparable(theirs)
    assert len(ours.headers["x-request-id"]) == 32


@pytest.mark.parametrize(("method", "path", "extra"), OTHER_REQUESTS)
async def test_other_requests_get_the_full_stacks_answer(
    client: httpx.AsyncClient,
    full_stack: httpx.AsyncClient,
    expert: UserHandle,
    method: str,
    path: str,
    extra: dict[str, str],
) -> None:
    ours, theirs = await _both(client, full_stack, method, path, {**expert.headers, **extra})
    assert _comparable(ours) == _comparable(theirs)


async def test_an_unknown_symbol_is_the_apps_404_in_the_error_shape(
    client: httpx.AsyncClient, expert: UserHandle
) -> None:
    before = _lane("answered")
    r = await client.get("/api/v1/stocks/NOPE", headers=expert.headers)
    assert_error(r, 404)
    assert _lane("answered") == before + 1


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x.y.z"],
)
async def test_tokens_the_lane_cannot_accept_get_the_full_stacks_401(
    client: httpx.AsyncClient, full_stack: httpx.AsyncClient, authorization: str
) -> None:
    headers = {"Authorization": authorization}
    ours, theirs = await _both(client, full_stack, "GET", "/api/v1/watchlist", headers)
    assert_error(ours, 401)
    assert _comparable(ours) == _comparable(theirs)


async def test_lane_answers_are_counted_as_the_routes_they_stand_for(
    client: httpx.AsyncClient, expert: UserHandle
) -> None:
    labels = {"handler": "/api/v1/stocks/{symbol}", "method": "GET", "status": "2xx"}

    def served() -> float:
        return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0

    before = served()
    for _ in range(3):
        assert (await client.get("/api/v1/stocks/MSFT", headers=expert.headers)).status_code == 200
    assert served() == before + 3


async def test_a_users_change_reaches_the_lanes_next_answer(
    client: httpx.AsyncClient, expert: UserHandle
) -> None:
    assert (await client.get("/api/v1/watchlist", headers=expert.headers)).json()["count"] == 3
    assert (await client.delete("/api/v1/watchlist/JPM", headers=expert.headers)).status_code == 204
    assert (await client.get("/api/v1/watchlist", headers=expert.headers)).json()["count"] == 2
    r = await client.put("/api/v1/subscriptions/me", json={"tier": "pro"}, headers=expert.headers)
    assert r.status_code == 200
    board = (await client.get("/api/v1/dashboard?view=summary", headers=expert.headers)).json()
    assert board["max_stocks"] == 10


async def test_the_lane_counts_requests_against_the_rate_limit(
    settings: Settings, snapshot: SnapshotProvider
) -> None:
    """A plan's request limit holds in the lane, and its 429 is the full stack's."""
    limited = settings.model_copy(update={"rate_limit_api_free": "3/minute"})
    app = create_app(limited, snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        creds = {"username": "lanelimit", "email": "lanelimit@example.com"}
        password = "correct-horse-9"
        assert (
            await c.post("/api/v1/auth/register", json={**creds, "password": password})
        ).status_code == 201
        login = await c.post(
            "/api/v1/auth/login", data={"username": "lanelimit", "password": password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        answers = [await c.get("/api/v1/watchlist", headers=headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert_error(answers[-1], 429)
    assert "retry-after" in answers[-1].headers
