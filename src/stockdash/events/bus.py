"""The event bus: what the refresh and the alerts publish, and what the live streams read.

One ordered, bounded log of events (each with an id that orders it), and per process one hub
that hands new events to the local subscribers whose topics match. A subscriber that comes back
with the id of the last event it saw gets the events after it replayed first, then the live
ones, each exactly once (live events at or before the replayed ones are skipped).

Two implementations:

- `ProcessLocalEventBus`: the log is a deque in this process (the embedded default is one
  process, so this is everything there is).
- `RedisEventBus`: the log is a Redis Stream trimmed to about `maxlen` entries (`XADD MAXLEN ~`).
  A stream rather than pub/sub because it gives both at once: every instance's hub reads it
  (`XREAD BLOCK`, fan-out across instances) and a reconnecting client is replayed from its
  `Last-Event-ID` (`XRANGE`), which pub/sub cannot do. Its ids ("ms-seq") are the SSE ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis

from stockdash.core.redis import REDIS_FAILURES, RedisOutage

logger = logging.getLogger(__name__)

# How long one blocking read of the Redis stream waits before it asks again.
BLOCK_MS = 5_000
# What a subscriber may have queued before it is dropped (a client that reads nothing).
SUBSCRIBER_QUEUE = 1_000


def symbol_topic(symbol: str) -> str:
    """The topic of one symbol's updates."""
    return f"symbol:{symbol}"


def user_topic(user_id: int) -> str:
    """The topic of one user's own events (notifications)."""
    return f"user:{user_id}"


def parse_id(event_id: str) -> tuple[int, int]:
    """An event id ("ms-seq") as a comparable pair; ValueError when it is not one."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before the bus gave it an id."""

    topic: str
    type: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """One published event."""

    id: str
    topic: str
    type: str
    data: dict[str, Any]

    @property
    def key(self) -> tuple[int, int]:
        """The id as a comparable pair."""
        return parse_id(self.id)


@dataclass(slots=True)
class Replay:
    """What a subscriber missed: the events after its last id, and whether the log still held
    everything after it (False: some were trimmed away, the client should reload)."""

    events: list[Event]
    complete: bool


class EventBus(Protocol):
    """Publishes events and hands them to subscribers."""

    async def publish(self, drafts: list[EventDraft]) -> list[str]:
        """Append the events to the log (in order); their ids ([] when the bus is down)."""
        ...

    def subscribe(self, topics: set[str]) -> Subscription:
        """A subscription to live events on these topics (use it as an async context manager)."""
        ...

    async def replay(self, after: str, topics: set[str]) -> Replay:
        """The logged events after id `after` on these topics."""
        ...

    async def latest_id(self) -> str:
        """The id of the newest logged event ("0-0" when there is none)."""
        ...

    async def aclose(self) -> None:
        """Stop the hub and close connections."""
        ...


@dataclass(eq=False)
class Subscription:
    """One subscriber's queue of live events; the hub fills it."""

    topics: set[str]
    hub: Hub
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE)
    )
    overflowed: bool = False

    async def __aenter__(self) -> Subscription:
        await self.hub.add(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.hub.remove(self)

    def offer(self, event: Event) -> None:
        """Queue an event; a subscriber that fell too far behind is closed, not blocking others."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def next(self, wait_seconds: float) -> Event | None:
        """The next live event, or None after `wait_seconds` (or when closed for overflow)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                return await self.queue.get()
        return None


class Hub:
    """This process's subscribers by topic; `dispatch` hands an event to the matching ones."""

    def __init__(self, on_add: Callable[[], Awaitable[None]] | None = None) -> None:
        self._by_topic: dict[str, set[Subscription]] = {}
        self._on_add = on_add
        self.count = 0

    async def add(self, sub: Subscription) -> None:
        """Register a subscriber."""
        if self._on_add is not None:
            await self._on_add()
        for topic in sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        self.count += 1

    def remove(self, sub: Subscription) -> None:
        """Forget a subscriber."""
        for topic in sub.topics:
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_topic[topic]
        self.count -= 1

    def retopic(self, sub: Subscription, topics: set[str]) -> None:
        """Move a subscriber to other topics (its user's watchlist changed)."""
        self.remove(sub)
        sub.topics = set(topics)
        for topic in sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        self.count += 1

    def dispatch(self, event: Event) -> None:
        """Hand an event to every subscriber of its topic."""
        for sub in self._by_topic.get(event.topic, ()):
            sub.offer(event)


class ProcessLocalEventBus:
    """The log and the hub in this process (the single-process embedded default)."""

    def __init__(self, *, maxlen: int) -> None:
        self._log: deque[Event] = deque(maxlen=maxlen)
        self._last = (0, 0)
        self._dropped = False
        self.hub = Hub()

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        last_ms, seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(self, drafts: list[EventDraft]) -> list[str]:
        """Append and dispatch the events."""
        ids = []
        for draft in drafts:
            if len(self._log) == self._log.maxlen:
                self._dropped = True
            event = Event(self._next_id(), draft.topic, draft.type, draft.data)
            self._log.append(event)
            self.hub.dispatch(event)
            ids.append(event.id)
        return ids

    def subscribe(self, topics: set[str]) -> Subscription:
        """A subscription to live events on these topics."""
        return Subscription(set(topics), self.hub)

    async def replay(self, after: str, topics: set[str]) -> Replay:
        """The logged events after `after` on these topics."""
        key = parse_id(after)
        # Complete unless events were dropped and the oldest kept is newer than the client's.
        complete = not self._dropped or (bool(self._log) and self._log[0].key <= key)
        events = [e for e in self._log if e.key > key and e.topic in topics]
        return Replay(events, complete)

    async def latest_id(self) -> str:
        """The newest event's id."""
        return self._log[-1].id if self._log else "0-0"

    async def aclose(self) -> None:
        """Nothing to close."""


class RedisEventBus:
    """The log in a bounded Redis Stream; one reader task per process feeds the local hub."""

    def __init__(
        self,
        client: aioredis.Redis,
        reader: aioredis.Redis,
        *,
        prefix: str,
        maxlen: int,
        retry_seconds: float = 5.0,
    ) -> None:
        self._redis = client
        # Its own connection: a blocking XREAD holds it for up to BLOCK_MS.
        self._reader = reader
        self.key = f"{prefix}events"
        self._maxlen = maxlen
        self.hub = Hub(on_add=self.ensure_reader)
        self.outage = RedisOutage("events", retry_seconds=retry_seconds)
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._retry_seconds = retry_seconds

    async def publish(self, drafts: list[EventDraft]) -> list[str]:
        """XADD every event (one pipelined round trip); [] when Redis is down (logged)."""
        if not drafts:
            return []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for d in drafts:
                    fields = {"topic": d.topic, "type": d.type, "data": json.dumps(d.data)}
                    pipe.xadd(self.key, fields, maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
                ids = await pipe.execute()
        except REDIS_FAILURES as exc:
            self.outage.failed(exc)
            return []
        self.outage.succeeded()
        return [_text(i) for i in ids]

    def subscribe(self, topics: set[str]) -> Subscription:
        """A subscription to live events on these topics (starts the reader if needed)."""
        return Subscription(set(topics), self.hub)

    async def replay(self, after: str, topics: set[str]) -> Replay:
        """XRANGE after `after`, filtered by topic; incomplete when the stream was trimmed past it."""
        key = parse_id(after)
        first: Any = await self._redis.xrange(self.key, "-", "+", count=1)
        entries: Any = await self._redis.xrange(self.key, f"({key[0]}-{key[1]}", "+")
        # Complete unless the oldest entry still kept is newer than the client's last one.
        complete = not first or parse_id(_text(first[0][0])) <= key
        events = [_event(i, f) for i, f in entries]
        return Replay([e for e in events if e.topic in topics], complete)

    async def latest_id(self) -> str:
        """The newest entry's id (XREVRANGE, one entry)."""
        newest: Any = await self._redis.xrevrange(self.key, "+", "-", count=1)
        return _text(newest[0][0]) if newest else "0-0"

    async def ensure_reader(self) -> None:
        """Start this process's reader once, from the newest entry now: a subscriber registered
        after this returns gets every later entry live, and replays any earlier one it needs."""
        async with self._starting:
            if self._task is None or self._task.done():
                start = await self.latest_id()
                self._task = asyncio.create_task(self._read_forever(start), name="events-reader")

    async def _read_forever(self, last: str) -> None:
        """Read new entries and dispatch them to the local hub; retries while Redis is down."""
        while True:
            try:
                found: Any = await self._reader.xread({self.key: last}, count=500, block=BLOCK_MS)
            except asyncio.CancelledError:
                raise
            except REDIS_FAILURES as exc:
                self.outage.failed(exc)
                await asyncio.sleep(self._retry_seconds)
                continue
            self.outage.succeeded()
            for _, entries in found or ():
                for entry_id, fields in entries:
                    last = _text(entry_id)
                    self.hub.dispatch(_event(entry_id, fields))

    async def aclose(self) -> None:
        """Stop the reader and close its connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self._reader.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event(entry_id: bytes | str, fields: dict[Any, Any]) -> Event:
    values = {_text(k): _text(v) for k, v in fields.items()}
    data: dict[str, Any] = json.loads(values.get("data", "{}"))
    return Event(_text(entry_id), values.get("topic", ""), values.get("type", ""), data)


def topics_of(user_id: int, symbols: Iterable[str]) -> set[str]:
    """What one user's live stream listens to: their symbols and their own events."""
    return {user_topic(user_id), *(symbol_topic(s) for s in symbols)}
