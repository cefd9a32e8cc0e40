"""Single-flight: one call per key at a time, shared by every caller; a caller that goes away
stops waiting without taking the call (and everyone else's answer) with it."""

from __future__ import annotations

import asyncio

import pytest

from stockdash.market.singleflight import SingleFlight


class Gate:
    """A call that waits for the test to open it, counting how often it ran."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.opened = asyncio.Event()
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        self.started.set()
        await self.opened.wait()
        return 42


async def test_cancelling_the_first_caller_leaves_the_others_their_answer() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate = Gate()
    first = asyncio.create_task(flight.do("AAPL", gate))
    await gate.started.wait()
    others = [asyncio.create_task(flight.do("AAPL", gate)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    gate.opened.set()
    assert await asyncio.gather(*others) == [42, 42, 42]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert gate.calls == 1


async def test_a_call_every_caller_left_still_lands_and_the_next_one_starts_afresh() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate = Gate()
    caller = asyncio.create_task(flight.do("KO", gate))
    await gate.started.wait()
    landing = flight._inflight["KO"]
    caller.cancel()
    gate.opened.set()
    assert await landing == 42
    assert not flight.in_flight()
    assert await flight.do("KO", gate) == 42
    assert gate.calls == 2


async def test_a_failure_reaches_every_caller() -> None:
    flight: SingleFlight[int] = SingleFlight()
    opened = asyncio.Event()

    started = asyncio.Event()

    async def failing() -> int:
        started.set()
        await opened.wait()
        raise RuntimeError("provider down")

    callers = [asyncio.create_task(flight.do("MSFT", failing)) for _ in range(3)]
    await started.wait()
    opened.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert not flight.in_flight()


async def test_a_bounded_wait_gives_up_while_the_call_goes_on() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate = Gate()
    first = asyncio.create_task(flight.do("JPM", gate))
    await gate.started.wait()
    with pytest.raises(TimeoutError):
        await flight.do("JPM", gate, wait=0.01)
    gate.opened.set()
    assert await first == 42
    assert gate.calls == 1
