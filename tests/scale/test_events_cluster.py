"""Live updates across a real cluster: two API instances, a worker and a scheduler sharing Redis.

A client streaming from instance B receives the update a worker's refresh published (the event
goes through the Redis Stream, not through B); reconnecting with `Last-Event-ID` after missing
an update replays it exactly once. Through nginx, the stream passes unbuffered.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.scale.cluster import ApiUser, Cluster, ClusterSpec, make_user, service_problems, wait_for

WAIT = 90.0  # several refresh cycles on a loaded machine


@pytest.fixture(scope="module")
def events_cluster() -> Iterator[Cluster]:
    """2 API instances, 1 worker, 1 scheduler on PostgreSQL, Redis and a Redis broker."""
    problems = service_problems("redis")
    if problems:
        pytest.skip(f"the events cluster needs: {'; '.join(problems)}")
    running = Cluster(
        ClusterSpec(
            broker="redis", apis=2, workers=1, schedulers=1, env={"EVENTS_HEARTBEAT_SECONDS": "1"}
        )
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


class SseReader:
    """Reads one SSE stream on a thread; events (and heartbeat comments) land in a queue."""

    def __init__(self, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
        self.items: queue.Queue[dict[str, str]] = queue.Queue()
        self.status = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, params, headers), daemon=True)
        self._thread.start()

    def _run(self, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
        try:
            self._read(url, params, headers)
        except httpx.HTTPError as exc:  # the cluster stopped under a stream left open
            self.items.put({"closed": str(exc)})

    def _read(self, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(10.0, read=WAIT)
        with httpx.stream("GET", url, params=params, headers=headers, timeout=timeout) as r:
            self.status = r.status_code
            fields: dict[str, str] = {}
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if not line:
                    if fields:
                        self.items.put(fields)
                    fields = {}
                elif line.startswith(":"):
                    self.items.put({"comment": line[1:].strip()})
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        self.items.put({"closed": "1"})

    def until(self, wanted: Callable[[dict[str, str]], bool]) -> list[dict[str, str]]:
        """Everything read up to and including the first item `wanted` accepts."""
        seen = []
        while True:
            item = self.items.get(timeout=WAIT)
            seen.append(item)
            if "closed" in item:
                raise AssertionError(f"the stream closed before the wanted item: {seen}")
            if wanted(item):
                return seen

    def close(self) -> None:
        """Stop reading (the connection closes when the thread leaves the with block)."""
        self._stop.set()


def open_stream(base: str, user: ApiUser, last_event_id: str | None = None) -> SseReader:
    r = httpx.post(f"{base}/api/v1/events/token", headers=user.headers, timeout=30)
    assert r.status_code == 200, r.text
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    return SseReader(f"{base}/api/v1/events", {"token": r.json()["token"]}, headers)


def updates_of(items: list[dict[str, str]], symbol: str) -> list[dict[str, str]]:
    return [
        i
        for i in items
        if i.get("event") == "symbol.update" and f'"symbol": "{symbol}"' in i["data"]
    ]


def published(cluster: Cluster, symbol: str) -> bool:
    """Whether the log holds an update of the symbol (read from Redis, not through an API)."""
    entries: Any = cluster.redis().xrange(f"{cluster.key_prefix}:events", "-", "+")
    return any(fields.get(b"topic") == f"symbol:{symbol}".encode() for _, fields in entries)


def test_a_client_on_b_gets_the_workers_update_and_a_reconnect_replays_once(
    events_cluster: Cluster,
) -> None:
    a, b = events_cluster.api_url(0), events_cluster.api_url(1)
    user = make_user(a, tier="pro")
    # Where the log stands before anything of this user's is published.
    first = open_stream(b, user)
    start = first.until(lambda i: i.get("event") == "ready")[-1]["id"]
    first.close()

    add = httpx.post(f"{a}/api/v1/watchlist", json={"symbol": "AAPL"}, headers=user.headers)
    assert add.status_code == 201, add.text
    stream = open_stream(b, user, last_event_id=start)
    items = stream.until(lambda i: bool(updates_of([i], "AAPL")))
    assert stream.status == 200
    aapl = updates_of(items, "AAPL")
    assert len(aapl) == 1 and aapl[0]["id"]
    stream.close()

    # Missed while disconnected: MSFT's first update (published by the worker, seen in Redis).
    add = httpx.post(f"{a}/api/v1/watchlist", json={"symbol": "MSFT"}, headers=user.headers)
    assert add.status_code == 201, add.text
    wait_for(lambda: published(events_cluster, "MSFT"), "MSFT's update", timeout=WAIT)

    again = open_stream(b, user, last_event_id=aapl[0]["id"])
    replayed = again.until(lambda i: i.get("event") == "ready")
    assert len(updates_of(replayed, "MSFT")) == 1
    assert updates_of(replayed, "AAPL") == []  # already seen: not sent again
    # A few heartbeats (each one second, several refresh cycles in all) bring no repeat.
    later: list[dict[str, str]] = []
    for _ in range(3):
        later += again.until(lambda i: i.get("comment") == "heartbeat")
    assert updates_of(later, "MSFT") == [] and updates_of(later, "AAPL") == []
    again.close()


def test_the_stream_passes_through_nginx_unbuffered(events_cluster: Cluster) -> None:
    user = make_user(events_cluster.api_url(0))
    stream = open_stream(events_cluster.nginx_url, user)
    # Read while the response is still open: buffering would hold these back.
    stream.until(lambda i: i.get("event") == "ready")
    stream.until(lambda i: i.get("comment") == "heartbeat")
    assert stream.status == 200
    stream.close()
