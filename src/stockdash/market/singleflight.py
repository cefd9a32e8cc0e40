"""Collapse concurrent calls for the same key into one upstream call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """While a call for a key is in flight, later callers await the same result."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[T]] = {}

    async def do(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run fn once per key at a time; share its result or exception."""
        existing = self._inflight.get(key)
        if existing is not None:
            return await asyncio.shield(existing)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await fn()
        except BaseException as exc:
            future.set_exception(exc)
            # Mark retrieved so an unawaited failure does not log "exception never retrieved".
            future.exception()
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]

    def in_flight(self) -> int:
        """How many keys are being fetched right now."""
        return len(self._inflight)
