"""Live updates: what the refresh publishes per symbol, and one user's live stream.

The refresh hands its snapshots to `LiveUpdates.refreshed` once per refreshed symbol and cycle;
it compares them with the last published state (in the shared cache, so every worker agrees) and
publishes a `symbol.update` naming what changed: `quote`, `scores`, `signal`.

`stream` is one user's Server-Sent Events: the events after their `Last-Event-ID` replayed once,
then live events for their watchlist's symbols and their own notifications, a heartbeat when
quiet; it ends within one heartbeat of the user's login session or tokens being revoked.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sse_starlette import ServerSentEvent

from stockdash.events.bus import (
    Event,
    EventBus,
    EventDraft,
    Subscription,
    parse_id,
    symbol_topic,
    topics_of,
    user_topic,
)
from stockdash.events.snapshots import SymbolSnapshot
from stockdash.market.cache import Cache
from stockdash.subscriptions import tiers

logger = logging.getLogger(__name__)

SYMBOL_UPDATE = "symbol.update"
# On the user's own topic: their watchlist changed (their streams follow at once; other tabs
# of theirs reload it).
WATCHLIST_CHANGED = "watchlist.changed"
# How long the last published state of a symbol is kept to diff the next one against.
STATE_SECONDS = 7 * 24 * 3600


def snapshot_json(snap: SymbolSnapshot) -> dict[str, Any]:
    """A snapshot as the event's data (every tier's view; `for_user` keeps the reader's)."""
    return {
        "symbol": snap.symbol,
        "quote": snap.quote_json(),
        "tiers": {str(t): v.as_json() for t, v in snap.views.items()},
    }


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What differs between two published states: quote, scores, signal."""
    if before is None:
        return ["quote", "scores", "signal"]
    out = []
    if before.get("quote") != after["quote"]:
        out.append("quote")
    old, new = before.get("tiers", {}), after["tiers"]
    if any(old.get(t, {}).get("scores") != v["scores"] for t, v in new.items()):
        out.append("scores")
    if any(
        old.get(t, {}).get("consensus", {}).get("signal") != v["consensus"]["signal"]
        for t, v in new.items()
    ):
        out.append("signal")
    return out


class LiveUpdates:
    """Publishes what changed per refreshed symbol (a refresh listener)."""

    def __init__(self, bus: EventBus, state: Cache) -> None:
        self.bus = bus
        self.state = state

    async def refreshed(self, snapshots: Mapping[str, SymbolSnapshot]) -> None:
        """Publish one `symbol.update` per symbol whose quote, scores or signal changed."""
        if not snapshots:
            return
        symbols = sorted(snapshots)
        keys = [f"events:last:{s}" for s in symbols]
        previous = await self.state.get_many(keys)
        drafts, remember = [], {}
        for symbol, key, before in zip(symbols, keys, previous, strict=True):
            data = snapshot_json(snapshots[symbol])
            changed = changes(json.loads(before) if before else None, data)
            if changed:
                drafts.append(
                    EventDraft(symbol_topic(symbol), SYMBOL_UPDATE, data | {"changed": changed})
                )
                remember[key] = json.dumps(data)
        if drafts and await self.bus.publish(drafts):
            # Only what was published becomes the state to diff against.
            await self.state.set_many(remember, STATE_SECONDS)


async def watchlist_changed(bus: EventBus, user_id: int, live: bool) -> None:
    """Tell the user's streams (every instance) that their watchlist changed."""
    if live:
        await bus.publish([EventDraft(user_topic(user_id), WATCHLIST_CHANGED, {})])


def for_user(event: Event, tier: str) -> dict[str, Any]:
    """An event's data as one user may see it: a symbol update keeps only their tier's view."""
    if event.type != SYMBOL_UPDATE:
        return event.data
    data = dict(event.data)
    views: dict[str, Any] = data.pop("tiers", {})
    order = [str(t) for t in tiers.TIER_ORDER[: tiers.TIER_ORDER.index(tiers.Tier(tier)) + 1]]
    data["analysis"] = next((views[t] for t in reversed(order) if t in views), None)
    return data


def sse(event: Event, tier: str) -> ServerSentEvent:
    """One event as SSE, its id the bus's."""
    return ServerSentEvent(data=json.dumps(for_user(event, tier)), event=event.type, id=event.id)


@dataclass(frozen=True, slots=True)
class StreamUser:
    """What a live stream needs to know about its reader, re-read at every heartbeat."""

    user_id: int
    tier: str
    symbols: frozenset[str]


# Re-reads the reader: None once their session or tokens were revoked (the stream then ends).
Recheck = Callable[[], Awaitable[StreamUser | None]]


async def stream(
    bus: EventBus,
    reader: StreamUser,
    recheck: Recheck,
    *,
    last_event_id: str | None,
    heartbeat: float,
) -> AsyncIterator[ServerSentEvent]:
    """One user's live events (see the module docstring)."""
    # A first connection starts at the log's newest event and goes the same way as a reconnect:
    # subscribe, then replay what came after the start (so nothing in between is lost), then
    # live events newer than the last one sent.
    start = last_event_id if last_event_id is not None else await bus.latest_id()
    cursor = parse_id(start)
    sub = bus.subscribe(topics_of(reader.user_id, reader.symbols))
    async with sub:
        replay = await bus.replay(start, sub.topics)
        if not replay.complete:
            # Some missed events were trimmed from the log: the client reloads instead.
            yield ServerSentEvent(data="{}", event="resync", id=start)
        for event in replay.events:
            yield sse(event, reader.tier)
            cursor = event.key
        yield ServerSentEvent(data="{}", event="ready", id=f"{cursor[0]}-{cursor[1]}")
        async for item in _live(sub, reader, recheck, cursor, heartbeat):
            yield item


async def _live(
    sub: Subscription,
    reader: StreamUser,
    recheck: Recheck,
    cursor: tuple[int, int],
    heartbeat: float,
) -> AsyncIterator[ServerSentEvent]:
    """Live events after `cursor`, heartbeats and rechecks; ends when the reader is revoked."""
    checked = time.monotonic()
    while True:
        wait = max(0.0, heartbeat - (time.monotonic() - checked))
        event = await sub.next(wait)
        if event is None and sub.overflowed:
            return  # too far behind: the client reconnects and is replayed from its last id
        recheck_now = False
        if event is not None and event.key > cursor:
            cursor = event.key
            yield sse(event, reader.tier)
            recheck_now = event.type == WATCHLIST_CHANGED
        if recheck_now or time.monotonic() - checked >= heartbeat:
            checked = time.monotonic()
            current = await recheck()
            if current is None:
                yield ServerSentEvent(data="{}", event="revoked")
                return
            if current.symbols != reader.symbols:
                sub.hub.retopic(sub, topics_of(current.user_id, current.symbols))
            reader = current
            yield ServerSentEvent(comment="heartbeat")
