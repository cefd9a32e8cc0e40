"""The event bus, in this process and on a real Redis: topics, replay by id exactly once,
trimmed logs reported, live fan-out to subscribers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from stockdash.events.bus import (
    EventBus,
    EventDraft,
    ProcessLocalEventBus,
    RedisEventBus,
    symbol_topic,
    user_topic,
)
from tests.conftest import REDIS_URL

WAIT = 30.0  # generous: a loaded machine


@pytest.fixture(params=["process-local", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    """Each test on both implementations (a small log, to see trimming)."""
    if request.param == "process-local":
        yield ProcessLocalEventBus(maxlen=50)
        return
    prefix = f"stockdash-test-{uuid.uuid4().hex[:12]}:"
    client = aioredis.from_url(REDIS_URL)
    reader = aioredis.from_url(REDIS_URL)
    redis_bus = RedisEventBus(client, reader, prefix=prefix, maxlen=50)
    yield redis_bus
    await redis_bus.aclose()
    await client.delete(redis_bus.key)
    await client.aclose()


def draft(symbol: str, n: int) -> EventDraft:
    return EventDraft(symbol_topic(symbol), "symbol.update", {"symbol": symbol, "n": n})


async def test_subscribers_get_only_their_topics_live(bus: EventBus) -> None:
    aapl = bus.subscribe({symbol_topic("AAPL"), user_topic(1)})
    msft = bus.subscribe({symbol_topic("MSFT")})
    async with aapl, msft:
        ids = await bus.publish([draft("AAPL", 1), draft("MSFT", 2), draft("AAPL", 3)])
        assert len(ids) == 3
        got = [await aapl.next(WAIT), await aapl.next(WAIT)]
        assert [e.data["n"] for e in got if e] == [1, 3]
        assert [e.id for e in got if e] == [ids[0], ids[2]]
        other = await msft.next(WAIT)
        assert other is not None and other.data["n"] == 2
        assert await aapl.next(0.2) is None  # nothing else for AAPL


async def test_replay_after_an_id_gives_each_later_event_once(bus: EventBus) -> None:
    ids = await bus.publish([draft("AAPL", n) for n in range(5)] + [draft("MSFT", 9)])
    replay = await bus.replay(ids[1], {symbol_topic("AAPL")})
    assert replay.complete
    assert [e.data["n"] for e in replay.events] == [2, 3, 4]
    assert [e.id for e in replay.events] == ids[2:5]
    assert await bus.latest_id() == ids[-1]


async def test_replay_reports_a_log_trimmed_past_the_clients_last_id(bus: EventBus) -> None:
    first = await bus.publish([draft("AAPL", 0)])
    await bus.publish([draft("AAPL", n) for n in range(1, 400)])
    replay = await bus.replay(first[0], {symbol_topic("AAPL")})
    assert not replay.complete
    recent = await bus.replay(await bus.latest_id(), {symbol_topic("AAPL")})
    assert recent.complete and recent.events == []


async def test_a_subscriber_that_falls_behind_is_closed_without_holding_up_others(
    bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr("stockdash.events.bus.SUBSCRIBER_QUEUE", 3)
        slow = bus.subscribe({symbol_topic("AAPL")})
    fast = bus.subscribe({symbol_topic("AAPL")})
    async with slow, fast:
        await bus.publish([draft("AAPL", n) for n in range(5)])
        got = []
        for _ in range(5):
            event = await fast.next(WAIT)
            assert event is not None
            got.append(event.data["n"])
        assert got == [0, 1, 2, 3, 4]
        assert slow.overflowed
        seen = []
        while (event := await slow.next(WAIT)) is not None:
            seen.append(event.data["n"])
        # It ends (None) after what it could hold; its client reconnects and is replayed.
        assert len(seen) < 5
