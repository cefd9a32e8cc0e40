"""/metrics after a scripted session: the user, system and business families with the values the
session produced, and label sets that stay bounded whatever users do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families

from stockdash.analysis.performance import load_report
from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import UserFactory, WatchlistFactory

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample on /metrics, keyed by name and label set."""
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value, 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    """The label sets of one sample name."""
    return [dict(labels) for (n, labels) in samples if n == name]


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    """How much a counter grew between two scrapes (counters are per process, not per test)."""
    return value(after, name, **labels) - value(before, name, **labels)


async def test_a_scripted_session_shows_in_every_family(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    before = await scrape(client)

    user = await make_user()  # a registration and a login
    bad = await client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": "wrong-password-1"}
    )
    assert bad.status_code == 401
    up = await client.put("/api/v1/subscriptions/me", json={"tier": "pro"}, headers=user.headers)
    assert up.status_code == 200
    await fill_watchlist(user, ["AAPL"])
    created = await client.post("/api/v1/api-keys", json={"name": "sheet"}, headers=user.headers)
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert (await client.get("/api/v1/watchlist", headers=key)).status_code == 200
    assert (
        await client.get("/api/v1/watchlist", headers={"X-API-Key": "sdk_nope_x"})
    ).status_code == 401
    analysis = await client.get("/api/v1/stocks/AAPL/analysis", headers=user.headers)
    assert analysis.status_code == 200, analysis.text

    after = await scrape(client)

    # User family.
    assert delta(after, before, "stockdash_user_registrations_total") == 1
    assert delta(after, before, "stockdash_user_logins_total", outcome="success") == 1
    assert delta(after, before, "stockdash_user_logins_total", outcome="failure") == 1
    upgrade = {"direction": "upgrade", "from_tier": "free", "to_tier": "pro"}
    assert delta(after, before, "stockdash_subscription_changes_total", **upgrade) == 1
    assert value(after, "stockdash_users", tier="pro") == 1
    assert value(after, "stockdash_users", tier="free") == 0
    for window in ("1h", "24h", "7d", "30d"):
        assert value(after, "stockdash_active_users", window=window) == 1

    # System family: the request histogram by route template and status class, no 5xx at all.
    add = {"handler": "/api/v1/watchlist", "method": "POST", "status": "2xx"}
    assert delta(after, before, "http_requests_total", **add) == 1
    assert delta(after, before, "http_request_duration_seconds_count", **add) == 1
    analysis_route = {
        "handler": "/api/v1/stocks/{symbol}/analysis",
        "method": "GET",
        "status": "2xx",
    }
    assert delta(after, before, "http_requests_total", **analysis_route) == 1
    five_xx = [s for s in series(after, "http_requests_total") if s["status"] == "5xx"]
    assert not [s for s in five_xx if delta(after, before, "http_requests_total", **s)]
    assert delta(after, before, "stockdash_db_query_seconds_count", operation="insert") >= 3
    assert value(after, "stockdash_http_requests_in_flight") == 1  # the scrape itself
    assert value(after, "stockdash_metrics_db_up") == 1
    assert {s["kind"] for s in series(after, "stockdash_queue_depth")} >= {
        "refresh_cycle",
        "refresh_batch",
        "warm_analysis",
        "send_email",
        "backtest",
    }

    # Business family.
    assert delta(after, before, "stockdash_api_key_requests_total", outcome="accepted") == 1
    assert delta(after, before, "stockdash_api_key_requests_total", outcome="rejected") == 1
    assert delta(after, before, "stockdash_watchlist_adds_total", tier="pro") == 1
    assert value(after, "stockdash_watchlist_symbol_watchers", symbol="AAPL") == 1
    served = json.loads(analysis.text)["analyses"]
    for model in served:
        assert delta(after, before, "stockdash_analyses_served_total", model=model) == 1
    for model in load_report().models:  # "AI model performance", from the stored backtest
        assert value(after, "stockdash_model_backtest_rank_ic", model=model.model) == pytest.approx(
            model.rank_ic
        )
        assert value(
            after, "stockdash_model_backtest_hit_rate", model=model.model
        ) == pytest.approx(model.hit_rate)


async def test_label_sets_stay_bounded(
    settings: Settings,
    snapshot: SnapshotProvider,
) -> None:
    """Many symbols and many unknown URLs add no series beyond the top N and the route templates."""
    app = create_app(settings.model_copy(update={"metrics_top_symbols": 3}), snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        headers = await _expert(client)
        for symbol in ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL"):
            r = await client.post("/api/v1/watchlist", json={"symbol": symbol}, headers=headers)
            assert r.status_code == 201, r.text
        for n in range(5):
            assert (await client.get(f"/api/v1/no-such-route-{n}")).status_code == 404
            assert (await client.get(f"/api/v1/stocks/ZZZZ{n}", headers=headers)).status_code == 404
        samples = await scrape(client)

    assert len(series(samples, "stockdash_watchlist_symbol_watchers")) == 3
    handlers = {s["handler"] for s in series(samples, "http_requests_total")}
    assert not [h for h in handlers if re.search(r"no-such-route|ZZZZ", h)], handlers
    assert "/api/v1/stocks/{symbol}" in handlers
    assert {s["tier"] for s in series(samples, "stockdash_watchlist_adds_total")} <= {
        "free",
        "pro",
        "expert",
    }


async def _expert(client: httpx.AsyncClient) -> dict[str, str]:
    """A new expert user's auth header."""
    body = {"username": "bounded", "email": "bounded@example.com", "password": "correct-horse-9"}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    login = await client.post(
        "/api/v1/auth/login", data={"username": "bounded", "password": body["password"]}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = await client.put("/api/v1/subscriptions/me", json={"tier": "expert"}, headers=headers)
    assert r.status_code == 200
    return headers


async def test_metrics_answer_when_the_database_is_down(
    tmp_path: Path, snapshot: SnapshotProvider
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        jwt_secret_key="x" * 40,
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        data_dir=tmp_path,
        frontend_dist=tmp_path / "none",
        refresh_interval_seconds=0,
        warm_analysis_context=False,
        readiness_timeout_seconds=1,
    )
    app = create_app(settings, snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        samples = await scrape(client)
    assert value(samples, "stockdash_metrics_db_up") == 0
    assert ("stockdash_refresh_interval_seconds", frozenset()) in samples


def test_dashboards_and_alerts_only_use_metrics_that_exist() -> None:
    """Every metric a Grafana panel or an alert rule queries is one stockdash exports (or a
    recording rule, or Prometheus' own `up`)."""
    exported = _exported_names()
    texts = [p.read_text() for p in (ROOT / "deploy/grafana/dashboards").glob("*.json")]
    texts.append((ROOT / "deploy/prometheus/rules/stockdash.yml").read_text())
    used = {m for text in texts for m in re.findall(r"\b(?:stockdash_|http_)[a-z_]+", text)}
    missing = {m for m in used if _family(m) not in exported}
    assert not missing, missing


def _family(name: str) -> str:
    return re.sub(r"_(bucket|count|sum|total|created)$", "", name)


def _exported_names() -> set[str]:
    """Family names defined in the code (process metrics, scrape-time gauges, instrumentator)."""
    names = {"http_requests", "http_request_duration_seconds"}
    for path in (ROOT / "src/stockdash").rglob("*.py"):
        names |= {_family(n) for n in re.findall(r'"(stockdash_[a-z_]+)"', path.read_text())}
    return names


def test_a_worker_serves_its_own_metrics() -> None:
    """`stockdash worker`/`scheduler` with METRICS_PORT: job outcomes and refresh figures are
    scraped from the role's own port (it serves no API)."""
    from stockdash.core.metrics import JOBS
    from stockdash.monitoring.instrument import serve_metrics
    from tests.conftest import free_port

    port = free_port()
    serve_metrics(port)
    JOBS.labels("send_email", "succeeded").inc()
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    assert value(samples, "stockdash_jobs_total", kind="send_email", outcome="succeeded") >= 1
    assert ("stockdash_refresh_last_success_timestamp_seconds", frozenset()) in samples
