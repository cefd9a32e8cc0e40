"""The built frontend at /: SPA fallback for client routes, backend routes untouched, no traversal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core import spa
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import assert_error

INDEX = "<!doctype html><title>stockdash test build</title><div id=root></div>"
ASSET = "console.log('hashed asset');"
SECRET = "not for the web"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A minimal build (index.html, a hashed asset, a public file) with a secret beside it."""
    root = tmp_path / "build" / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text(ASSET)
    (root / "robots.txt").write_text("User-agent: *\n")
    (tmp_path / "build" / "secret.txt").write_text(SECRET)
    return root


@pytest.fixture
def settings(settings: Settings, dist: Path) -> Settings:
    """The usual settings, serving `dist` through the FRONTEND_DIST setting."""
    return settings.model_copy(update={"frontend_dist": dist})


async def raw_get(app: Any, raw_path: bytes) -> tuple[int, bytes]:
    """GET with the path exactly as given: HTTP clients normalise dot segments before sending."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path.decode()),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }
    sent: list[dict[str, Any]] = []
    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the client stays connected until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def _is_index(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.text == INDEX


@pytest.mark.parametrize(
    "path", ["/", "/login", "/stocks/AAPL", "/plans", "/admin", "/verify-email?token=x", "/a/b/c"]
)
async def test_client_routes_get_index_html_uncached(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert _is_index(response), (response.status_code, response.text[:80])
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


async def test_built_files_are_served_hashed_assets_cached_forever(
    client: httpx.AsyncClient,
) -> None:
    asset = await client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.text == ASSET
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    robots = await client.get("/robots.txt")
    assert robots.status_code == 200 and robots.text.startswith("User-agent")
    assert robots.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v1", "/api/v1/nope", "/api/v2/stocks"])
async def test_api_paths_never_get_the_spa(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(path), 404)


async def test_api_routes_still_answer(client: httpx.AsyncClient) -> None:
    tiers = await client.get("/api/v1/subscriptions/tiers")
    assert tiers.status_code == 200
    assert [t["tier"] for t in tiers.json()["data"]] == ["free", "pro", "expert"]
    assert_error(await client.get("/api/v1/users/me"), 401)


async def test_docs_openapi_metrics_and_health_untouched(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert not _is_index(docs)
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200 and "redoc" in redoc.text.lower()
    schema = await client.get("/openapi.json")
    assert schema.status_code == 200 and "/api/v1/dashboard" in schema.json()["paths"]
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and not _is_index(metrics)
    assert "# TYPE" in metrics.text
    assert (await client.get("/healthz")).json()["status"] == "ok"
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize("path", ["/docs/nope", "/metrics/x", "/healthz/x", "/openapi.json/x"])
async def test_unknown_paths_under_backend_segments_are_404_not_the_spa(
    client: httpx.AsyncClient, path: str
) -> None:
    assert_error(await client.get(path), 404)


async def test_only_whole_segments_are_reserved(client: httpx.AsyncClient) -> None:
    # A client route that merely starts with a reserved word is the SPA's.
    assert _is_index(await client.get("/apis-explained"))
    assert _is_index(await client.get("/docsearch"))


@pytest.mark.parametrize(
    "raw_path",
    [
        b"/../secret.txt",
        b"/assets/../../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/assets/%2e%2e/%2e%2e/secret.txt",
        b"/..%2fsecret.txt",
        b"//etc/passwd",
    ],
)
async def test_path_traversal_is_refused(app: Any, raw_path: bytes) -> None:
    status, body = await raw_get(app, raw_path)
    assert SECRET.encode() not in body
    assert b"root:" not in body
    assert status == 404, (raw_path, status, body[:80])


async def test_raw_get_reaches_the_spa(app: Any) -> None:
    # The helper itself works: a plain client route through it is the SPA.
    assert await raw_get(app, b"/stocks/AAPL") == (200, INDEX.encode())


def test_default_dist_is_the_checkout_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = Path(__file__).resolve().parents[2]
    assert repo / "frontend" / "dist" == spa.CHECKOUT_DIST


async def test_no_build_means_no_spa_route(
    settings: Settings, snapshot: SnapshotProvider, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"frontend_dist": tmp_path}), snapshot=snapshot)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            assert_error(await c.get("/stocks/AAPL"), 404)
            assert (await c.get("/healthz")).status_code == 200


async def test_an_explicit_dist_argument_wins(
    settings: Settings, snapshot: SnapshotProvider, dist: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    app = create_app(
        settings.model_copy(update={"frontend_dist": other}), snapshot=snapshot, frontend_dist=dist
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            assert _is_index(await c.get("/plans"))
