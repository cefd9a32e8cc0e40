"""Sentry: with SENTRY_DSN pointing at a local HTTP stub, a forced error in a request arrives
there as an event; without it, nothing is initialised."""

from __future__ import annotations

import asyncio
import gzip
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sentry_sdk
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.monitoring.sentry import init_sentry


class _Collector(BaseHTTPRequestHandler):
    """Stands in for Sentry's ingest endpoint: keeps every envelope it is sent."""

    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def sentry_stub() -> Iterator[tuple[str, list[bytes]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/42", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        sentry_sdk.init()  # no DSN: Sentry off again for the rest of this process


async def test_a_forced_error_reaches_sentry(
    settings: Settings, snapshot: SnapshotProvider, sentry_stub: tuple[str, list[bytes]]
) -> None:
    dsn, received = sentry_stub
    app = create_app(settings.model_copy(update={"sentry_dsn": dsn}), snapshot=snapshot)

    async def boom() -> None:
        raise RuntimeError("forced failure for the Sentry test")

    app.add_api_route("/boom", boom)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
        ) as client,
    ):
        r = await client.get(
            "/boom", headers={"Authorization": "Bearer sekrit-bearer-1", "Cookie": "sid=sekrit-2"}
        )
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    sentry_sdk.flush(timeout=5)
    deadline = time.monotonic() + 10
    while not any(b"forced failure for the Sentry test" in body for body in received):
        assert time.monotonic() < deadline, f"no event reached the stub ({len(received)} posts)"
        await asyncio.sleep(0.05)
    event = next(body for body in received if b"forced failure" in body)
    assert b"RuntimeError" in event and b'"environment":"test"' in event.replace(b" ", b"")
    leaked = [m.start() for m in re.finditer(b"sekrit", event)]
    assert not leaked, [event[max(0, i - 150) : i + 30] for i in leaked]


def test_no_dsn_means_no_sentry(settings: Settings) -> None:
    assert init_sentry(settings.model_copy(update={"sentry_dsn": ""}), "serve") is False
    assert sentry_sdk.get_client().transport is None  # nothing could be sent anywhere
