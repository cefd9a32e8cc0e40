"""Running a unit of work again when its transaction failed transiently.

On MongoDB two transactions that write the same document conflict: one of them fails with
PyMongo's `TransientTransactionError` label (a failover does too), and the whole unit of work
must run again from the start, as PyMongo's `with_transaction` does with its callback. SQL never
raises such an error here (row locks serialise the writers), so there the work runs once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
    deadline = time.monotonic() + RETRY_SECONDS
    tries = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() > deadline:
                raise
        tries += 1
        # Jitter spreads the conflicting writers apart, so one of them gets through each round.
        pause = min(BACKOFF_MAX, BACKOFF_INITIAL * 1.5**tries)
        await asyncio.sleep(random.uniform(0, pause))  # noqa: S311 (jitter, not a secret)


async def transact(storage: Storage, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in a writing unit and commit it, from the start again while the transaction
    fails transiently; what `work` returned."""

    async def once() -> T:
        async with storage.unit() as unit:
            result = await work(unit)
            await unit.commit()
        return result

    return await retry_transient(once)
