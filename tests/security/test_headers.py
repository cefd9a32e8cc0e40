"""Security headers on every response, HSTS only over HTTPS, and the request size limit."""

from __future__ import annotations

import re
from typing import Any

import httpx

from stockdash.core.config import Settings
from stockdash.core.middleware import CSP, RequestSizeLimitMiddleware, SecurityHeadersMiddleware
from tests.conftest import assert_error


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/api/v1/subscriptions/tiers", "/api/v1/users/me", "/nope"):
        r = await client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert r.headers["Content-Security-Policy"] == CSP
        assert "Strict-Transport-Security" not in r.headers
    for directive in (
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in CSP


async def test_api_docs_load_nothing_from_elsewhere_and_run_under_the_csp(
    client: httpx.AsyncClient,
) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200
        assert r.headers["Content-Security-Policy"] == CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
        assert scripts and all(not body.strip() for _, body in scripts)  # no inline code
        for url in re.findall(r'(?:src|href|spec-url)="([^"]+)"', r.text):
            assert url.startswith("/"), url  # no CDN
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url


async def test_hsts_only_over_https(client: httpx.AsyncClient) -> None:
    https = httpx.AsyncClient(transport=client._transport, base_url="https://test")
    async with https:
        r = await https.get("/healthz")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    spoofed = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers  # proxy headers are not trusted


async def test_forwarded_proto_counts_when_proxy_headers_are_trusted(settings: Settings) -> None:
    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    wrapped = SecurityHeadersMiddleware(app, trust_proxy_headers=True, hsts_max_age=600)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/", headers={"X-Forwarded-Proto": "https"})
        assert r.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
        assert "Strict-Transport-Security" not in (await c.get("/")).headers


async def test_oversized_bodies_get_413(client: httpx.AsyncClient, make_user: object) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = await client.post(
        "/api/v1/auth/register", content=big, headers={"Content-Type": "application/json"}
    )
    error = assert_error(r, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 1024 * 1024}
    assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_streamed_bodies_past_the_limit_get_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 32768

    r = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")


async def test_size_limit_passes_small_bodies() -> None:
    received: list[bytes] = []

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
        message = await receive()
        received.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    transport = httpx.ASGITransport(app=RequestSizeLimitMiddleware(app, max_bytes=2048))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.post("/", content=b"a" * 2048)).status_code == 200
        assert (await c.post("/", content=b"a" * 2049)).status_code == 413
    assert received == [b"a" * 2048]


async def test_unexpected_500s_carry_the_security_headers(app: Any) -> None:
    """Starlette answers unhandled errors outside user middleware; the headers must wrap it too."""

    async def boom() -> None:
        raise RuntimeError("an unexpected failure")

    app.add_api_route("/test-only/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/test-only/boom")
    error = assert_error(r, 500, "internal_error")
    assert "unexpected failure" not in error["message"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Content-Security-Policy"] == CSP
