"""Redis server-assisted client-side caching: copies of Redis values kept in this process, dropped
the moment Redis says their key changed.

One connection per process speaks RESP3 and turns on `CLIENT TRACKING … BCAST` for a few key
prefixes; Redis then pushes the name of every key under them that any client changes, or that
expires or is evicted. Pushes are handled in the protocol's `data_received`, in the event loop's
I/O phase, before any request task started in the same loop pass runs. Redis writes broadcast
invalidations in the same pass of its own loop as the writer's reply (`beforeSleep` sends them
just before it flushes pending replies), so a request that reaches this process after the writer
answered its client finds the copy already dropped.

While the connection is not set up (starting, reconnecting, Redis down, or a heartbeat left
unanswered) `live` is False and every copy has been dropped: callers read Redis as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import hiredis

from stockdash.core.metrics import REDIS_TRACKING_LIVE, REDIS_TRACKING_PUSHES

logger = logging.getLogger(__name__)

# Told the keys (without the subscriber's prefix) that changed, or None: drop everything.
Invalidate = Callable[[list[str] | None], None]
_INVALIDATE = b"invalidate"
# The connection's name in `CLIENT LIST`, so an operator can tell what it is for.
TRACKING_CLIENT_NAME = "stockdash-tracking"


class TrackingRefused(Exception):
    """Redis answered the setup with an error (too old for RESP3, ACL, bad prefixes)."""


def _command(*args: str) -> bytes:
    """One command in the Redis protocol's request form."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Protocol(asyncio.Protocol):
    """The tracking connection: pushes go straight to the tracker, other replies to a queue."""

    def __init__(self, tracker: RedisTracking) -> None:
        self.tracker = tracker
        self.reader = hiredis.Reader()
        self.replies: asyncio.Queue[object] = asyncio.Queue()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.lost_reason: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio's.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                if isinstance(reply, list) and reply and reply[0] == _INVALIDATE:
                    self.tracker.invalidated(reply[1])
                else:
                    self.replies.put_nowait(reply)
        except hiredis.ProtocolError as exc:
            self._lose(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lose(exc or ConnectionError("connection closed"))

    def _lose(self, exc: Exception) -> None:
        # Nothing read after a broken reply can be trusted: drop the copies now, not later.
        self.tracker.drop_all()
        if not self.lost.done():
            self.lost_reason = exc
            self.lost.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def send(self, *args: str) -> None:
        assert self.transport is not None
        self.transport.write(_command(*args))

    async def reply(self, within: float) -> object:
        """The next non-push reply; an error reply raises; a lost connection or silence too."""
        getter: asyncio.Future[object] = asyncio.ensure_future(self.replies.get())
        waited: set[asyncio.Future[Any]] = {getter, self.lost}
        try:
            done, _ = await asyncio.wait(waited, timeout=within)
        finally:
            getter.cancel()
        if getter in done:
            reply = getter.result()
            if isinstance(reply, hiredis.ReplyError):
                raise TrackingRefused(str(reply))
            return reply
        if self.lost in done:
            raise ConnectionError(f"redis tracking connection lost: {self.lost_reason}")
        raise TimeoutError(f"redis did not answer within {within} s")


class RedisTracking:
    """One process's tracking connection and the copies it keeps honest.

    Subscribers register a prefix and an `Invalidate` callback. `generation` moves on every push
    and every drop, so a caller that read Redis can tell whether its answer may be kept: only
    when tracking was live and the generation did not move while it waited.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float,
        heartbeat_seconds: float = 1.0,
        retry_seconds: float = 1.0,
    ) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "rediss"
        # Only TCP URLs are tracked; anything else leaves `live` False (plain Redis reads).
        self._supported = parts.scheme in ("redis", "rediss") and bool(parts.hostname)
        self._host = parts.hostname or ""
        self._port = parts.port or 6379
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._connect_timeout = connect_timeout
        self._heartbeat = heartbeat_seconds
        self._retry = retry_seconds
        self._subscribers: list[tuple[bytes, Invalidate]] = []
        self._task: asyncio.Task[None] | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._closed = False
        self._warned = False
        self.live = False
        self.generation = 0

    def subscribe(self, prefix: str, invalidate: Invalidate) -> None:
        """Be told about keys under `prefix` (a full Redis key prefix)."""
        self._subscribers.append((prefix.encode(), invalidate))

    def ensure_running(self) -> None:
        """Start the connection in the background (once; from inside the running loop)."""
        if self._task is None and self._supported and self._subscribers and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-tracking")

    def reading(self) -> int:
        """Call before a Redis read whose answer may be kept: starts the connection if need be;
        pass what it returns to `vouches` once the answer is in."""
        self.ensure_running()
        return self.generation

    def vouches(self, since: int) -> bool:
        """Whether an answer read since `reading()` returned `since` may be kept as a tracked
        copy: tracking is live and no push (it may have named that key) or drop came meanwhile."""
        return self.live and self.generation == since

    def invalidated(self, keys: list[bytes] | None) -> None:
        """A push from Redis: these keys changed (None: all of them, e.g. FLUSHALL)."""
        self.generation += 1
        REDIS_TRACKING_PUSHES.inc()
        for prefix, invalidate in self._subscribers:
            if keys is None:
                invalidate(None)
                continue
            mine = [k[len(prefix) :].decode() for k in keys if k.startswith(prefix)]
            if mine:
                invalidate(mine)

    def drop_all(self) -> None:
        """Stop trusting every copy (tracking is down or just came up)."""
        self.live = False
        REDIS_TRACKING_LIVE.set(0)
        self.generation += 1
        for _, invalidate in self._subscribers:
            invalidate(None)

    async def close(self) -> None:
        """Close the connection and stop reconnecting."""
        self._closed = True
        self.drop_all()
        if self._transport is not None:
            self._transport.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Keep a tracking connection up; between attempts copies are not trusted."""
        while not self._closed:
            try:
                await self._session()
            except Exception as exc:  # whatever broke: reconnect, never die silently
                if not self._warned:
                    logger.warning(
                        "redis client-side caching unavailable (%s: %s); reading Redis instead",
                        type(exc).__name__,
                        exc,
                    )
                    self._warned = True
            self.drop_all()
            await asyncio.sleep(self._retry)

    async def _session(self) -> None:
        """One connection: set up tracking, then heartbeat until it fails or `close` is called."""
        loop = asyncio.get_running_loop()
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands just
        # as the connection completes, and `close` would then wait on a live session.
        async with asyncio.timeout(self._connect_timeout):
            transport, protocol = await loop.create_connection(
                lambda: _Protocol(self), self._host, self._port, ssl=self._tls or None
            )
        self._transport = transport
        try:
            for command in (self._hello(), ["CLIENT", "SETNAME", TRACKING_CLIENT_NAME]):
                protocol.send(*command)
                await protocol.reply(self._connect_timeout)
            protocol.send("CLIENT", "TRACKING", "ON", "BCAST", *self._prefix_args())
            await protocol.reply(self._connect_timeout)
            # Copies made before this point may have missed pushes.
            self.drop_all()
            self.live = not self._closed
            REDIS_TRACKING_LIVE.set(int(self.live))
            if self._warned:
                logger.warning("redis client-side caching is live again")
                self._warned = False
            while not self._closed:
                await asyncio.sleep(self._heartbeat)
                protocol.send("PING")
                await protocol.reply(self._heartbeat + self._connect_timeout)
        finally:
            self.drop_all()
            transport.close()
            self._transport = None

    def _hello(self) -> list[str]:
        args = ["HELLO", "3"]
        if self._password is not None:
            args += ["AUTH", self._username or "default", self._password]
        return args

    def _prefix_args(self) -> list[str]:
        args: list[str] = []
        for prefix in dict.fromkeys(p for p, _ in self._subscribers):
            args += ["PREFIX", prefix.decode()]
        return args


def build_tracking(
    url: str | None, *, enabled: bool, connect_timeout: float | None
) -> RedisTracking | None:
    """The process's tracking connection when Redis is configured and tracking is on."""
    if not url or not enabled:
        return None
    return RedisTracking(url, connect_timeout=connect_timeout or 5.0)
