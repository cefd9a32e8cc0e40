"""Redis helpers for the tests: a round-trip counter and a wait for client-side caching."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio.connection import Connection


class RoundTrips:
    """Counts the writes this process sends to one Redis server through redis-py: a command, a
    pipeline or a script is one write and one answer, so one round trip."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
        self.count = 0
        self.port = port
        original = Connection.send_packed_command
        trips = self

        async def counting(conn: Connection, command: Any, check_health: bool = True) -> None:
            if conn.port == trips.port:
                trips.count += 1
            await original(conn, command, check_health)

        monkeypatch.setattr(Connection, "send_packed_command", counting)


def port_of(url: str) -> int:
    """The port of a redis:// URL."""
    return int(url.rsplit(":", 1)[1].split("/")[0])


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait (bounded) until `condition()` holds; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def until_tracking_is_live(container: Any, seconds: float = 10.0) -> None:
    """Wait (bounded) until the container's Redis client-side caching is set up."""
    tracking = container.tracking
    assert tracking is not None, "client-side caching is off"
    tracking.ensure_running()
    await until(lambda: tracking.live, seconds)
