"""A local stand-in for a market-data provider that fails on demand, counting every request."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port
from tests.resilience.servers import DEADLINE_SECONDS

# Each fault: status, headers, body (bytes), or "hang" (no answer for a minute).
FAULTS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "status_500": (500, {}, b'{"error": "internal"}'),
    "status_429": (429, {"Retry-After": "2"}, b'{"status": "ERROR"}'),
    # Longer than any retry within one call waits (RetryPolicy.max_retry_after): fails at once.
    "status_429_long": (429, {"Retry-After": "3000"}, b'{"status": "ERROR"}'),
    "truncated_json": (200, {"content-type": "application/json"}, b'{"results": [{"T": "AA'),
    "html": (200, {"content-type": "text/html"}, b"<html><body>Maintenance</body></html>"),
    "wrong_shape": (200, {"content-type": "application/json"}, b'["not", "an", "object"]'),
    "wrong_types": (
        200,
        {"content-type": "application/json"},
        b'{"results": [{"T": "AAPL", "c": "n/a", "t": "yesterday"}], "status": "OK"}',
    ),
}
HANG = "hang"


class StubProvider:
    """A real HTTP server on a free loopback port; `fault` picks what every request gets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.fault = "status_500"
        self.calls = 0
        app = Starlette(routes=[Route("/{path:path}", self._answer)])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to configure as the provider's."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in a thread until `stop`, once it accepts requests."""
        self._thread.start()
        end = time.monotonic() + DEADLINE_SECONDS
        while not self._server.started:
            if time.monotonic() > end:
                raise RuntimeError("the stub provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Shut the server down."""
        self._server.should_exit = True
        self._server.force_exit = True  # a hanging request must not hold the shutdown
        self._thread.join(timeout=DEADLINE_SECONDS)

    async def _answer(self, request: Request) -> Any:
        self.calls += 1
        if self.fault == HANG:
            await asyncio.sleep(60)
        status, headers, body = FAULTS[self.fault]
        return Response(body, status_code=status, headers=headers)
