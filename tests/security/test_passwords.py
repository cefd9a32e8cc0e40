"""bcrypt runs in a worker thread: a slow hash never stalls the other requests on the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from stockdash.core.security import hash_password, verify_password

ROUNDS = 12  # the production cost: ~250 ms per hash on one core


async def _loop_ticks_during(work: Awaitable[Any]) -> tuple[Any, int, float]:
    """Run `work` beside a 5 ms heartbeat; the result, the beats that happened, the elapsed time."""
    beats = 0
    done = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal beats
        while not done.is_set():
            await asyncio.sleep(0.005)
            beats += 1

    beat_task = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)  # let the heartbeat start
    beats, started = 0, time.perf_counter()
    try:
        result = await work
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        await beat_task
    return result, beats, elapsed


async def test_hashing_and_verifying_leave_the_event_loop_free() -> None:
    stored, beats, elapsed = await _loop_ticks_during(hash_password("correct horse", rounds=ROUNDS))
    # On the loop, bcrypt would block it for the whole hash: not one beat could happen.
    assert beats >= 5, (beats, elapsed)
    for candidate, expected in (("correct horse", True), ("wrong horse", False)):
        ok, beats, elapsed = await _loop_ticks_during(
            verify_password(candidate, stored, rounds=ROUNDS)
        )
        assert ok is expected
        assert beats >= 5, (beats, elapsed)


async def test_unknown_users_pay_a_hash_too_off_the_loop() -> None:
    await verify_password("warm-up", None, rounds=ROUNDS)  # the dummy hash is made once
    ok, beats, elapsed = await _loop_ticks_during(verify_password("guess", None, rounds=ROUNDS))
    assert ok is False
    # A real bcrypt check happened (~250 ms), and beside it the loop kept running.
    assert elapsed > 0.05 and beats >= 5, (beats, elapsed)


async def test_odd_passwords_hash_instead_of_raising() -> None:
    """A lone surrogate is refused at the edge; the hash itself must not turn it into a 500."""
    stored = await hash_password("pass\ud800word", rounds=4)
    assert await verify_password("pass\ud800word", stored, rounds=4)
    assert not await verify_password("pass\ud801word", stored, rounds=4)
    assert not await verify_password("anything", "not-a-bcrypt-hash", rounds=4)
