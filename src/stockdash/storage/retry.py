"""Running a unit of work again when its transaction failed transiently.

On MongoDB two transactions that write the same document conflict: one of them fails with
PyMongo's `TransientTransactionError` label (a failover does too), and the whole unit of work
must run again from the start, as PyMongo's `with_transaction` does with its callback. SQL never
raises such an error here (row locks serialise the writers), so there the work runs once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_random_exponential

from stockdash.core.mongo import is_transient
from stockdash.storage.base import Storage, UnitOfWork

T = TypeVar("T")
# How long a unit is tried again (PyMongo's with_transaction allows 120 s; a request should
# answer well before a client gives up), and the backoff between attempts.
RETRY_SECONDS = 10.0
BACKOFF_INITIAL = 0.005
BACKOFF_MAX = 0.5


async def retry_transient(attempt: Callable[[], Awaitable[T]]) -> T:
    """Await `attempt()` again, after a jittered backoff, while it fails transiently."""
    # The first attempt is awaited directly: every request on the API routers comes through here
    # and nearly all succeed at once (on SQL all do), and a tenacity run costs some 25 us.
    try:
        return await attempt()
    except Exception as exc:
        if not is_transient(exc):
            raise
    # Full jitter spreads the conflicting writers apart, so one of them gets through each round;
    # this first pause is the one tenacity would take after a first failure (2 x the multiplier).
    await asyncio.sleep(random.uniform(0, 2 * BACKOFF_INITIAL))  # noqa: S311 (jitter, not a secret)
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(RETRY_SECONDS),
        wait=wait_random_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX),
        reraise=True,
    )

    async def again() -> T:
        # A coroutine function, so tenacity awaits it (a lambda's awaitable would be returned).
        return await attempt()

    return await retrying(again)


async def transact(storage: Storage, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in a writing unit and commit it, from the start again while the transaction
    fails transiently; what `work` returned."""

    async def once() -> T:
        async with storage.unit() as unit:
            result = await work(unit)
            await unit.commit()
        return result

    return await retry_transient(once)
