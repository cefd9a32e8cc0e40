"""Collapse concurrent calls for the same key into one upstream call.

Inside a process the callers share one task; across processes (when a shared `Locks` is
given) the one caller per process that goes ahead first takes a Redis lock for the key, so the
loader, which re-reads the shared cache before fetching, finds what another process fetched.

The call runs in a task of its own, which every caller (the first included) awaits through
`asyncio.shield`: a caller that goes away (a client that disconnected, a request that timed out)
stops waiting, but the call goes on for the others. Before, the first caller ran the call itself,
and cancelling it cancelled everyone waiting on it, whose requests then ended without an answer.
The task starts from a copy of the first caller's context, so its context variables (the
refresh's write batch, the background flag) are the ones that caller had.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from stockdash.core.locks import Locks

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """While a call for a key is in flight, later callers await the same result."""

    def __init__(
        self, locks: Locks | None = None, *, name: str = "", lock_seconds: float = 30.0
    ) -> None:
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self._locks = locks if locks is not None and locks.shared else None
        self._name = name
        self._lock_seconds = lock_seconds

    async def do(self, key: str, fn: Callable[[], Awaitable[T]], *, wait: float | None = None) -> T:
        """Run fn once per key at a time; share its result or exception. `wait` bounds how long
        a caller waits for someone else's call (TimeoutError; that call goes on), and for the
        cross-process lock (then it runs fn itself); None: as long as they take."""
        flight = self._inflight.get(key)
        if flight is not None:
            async with asyncio.timeout(wait):
                return await asyncio.shield(flight)
        flight = asyncio.ensure_future(self._across_processes(key, fn, wait))
        self._inflight[key] = flight
        flight.add_done_callback(functools.partial(self._landed, key))
        return await asyncio.shield(flight)

    def _landed(self, key: str, flight: asyncio.Future[T]) -> None:
        """The call for `key` ended: the next caller starts a new one."""
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        # Retrieved here, so a failure that every caller left behind is not logged as
        # "exception never retrieved" (the callers still awaiting get it as before).
        if not flight.cancelled():
            flight.exception()

    async def _across_processes(
        self, key: str, fn: Callable[[], Awaitable[T]], wait: float | None
    ) -> T:
        if self._locks is None:
            return await fn()
        # Whether or not the lock is won within the wait, the loader runs (it re-checks the
        # cache first): a slow or lost holder must not leave users without data.
        async with self._locks.hold(
            f"flight:{self._name}:{key}",
            ttl=self._lock_seconds,
            wait=self._lock_seconds if wait is None else wait,
        ):
            return await fn()

    def in_flight(self) -> int:
        """How many keys are being fetched right now."""
        return len(self._inflight)
