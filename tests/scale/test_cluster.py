"""Scale-out behaviour of a real deployment: 2 API instances behind nginx, 2 workers, 2
schedulers, PostgreSQL, Redis and a broker (RabbitMQ or Redis streams), all as subprocesses.

The tests share one cluster per broker (see conftest.py) and run in this order: shared state
first (tokens, watchlist limit, login limits), then an API instance is killed under load (and
restarted), the refresh schedule is checked over the cluster's whole life, and the last tests
kill a worker mid-batch and the active scheduler.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import POPULAR_SYMBOLS
from tests.scale.cluster import (
    SCHEDULER_ACTIVE,
    ApiUser,
    Cluster,
    ClusterError,
    cycle_slot,
    login,
    make_user,
    tracked_symbols,
    wait_for,
)

pytestmark = pytest.mark.xdist_group("scale")

API = "/api/v1"
FREE_LIMIT = 5
WRONG_PASSWORD = "not-the-password-1"
# Transport-level failures a request in flight on a killed instance may end with.
CONNECTION_FAILURES = {
    502,
    "RemoteProtocolError",
    "ReadError",
    "ConnectError",
    "WriteError",
    "ReadTimeout",
}


def population(cluster: Cluster) -> ApiUser:
    """An expert user tracking 14 symbols (7 batches per cycle), created once per cluster."""
    if "population" not in cluster.cache:
        cluster.cache["population"] = make_user(
            cluster.nginx_url, tier="expert", symbols=POPULAR_SYMBOLS[:14]
        )
    user: ApiUser = cluster.cache["population"]
    return user


def latest_cycle(cluster: Cluster) -> dict[str, Any] | None:
    rows = cluster.db.fetch(
        "SELECT * FROM jobs WHERE kind = 'refresh_cycle' ORDER BY created_at DESC LIMIT 1"
    )
    return rows[0] if rows else None


def batches_of(cluster: Cluster, cycle: dict[str, Any]) -> list[dict[str, Any]]:
    return cluster.jobs("refresh_batch", parent_id=cycle["id"])


def cycle_done(cluster: Cluster, cycle: dict[str, Any]) -> bool:
    """The cycle fanned out all its batches and every one of them succeeded."""
    current = cluster.jobs("refresh_cycle", id=cycle["id"])[0]
    if current["status"] != "succeeded":
        return False
    batches = batches_of(cluster, current)
    return len(batches) == current["result"]["batches"] and all(
        b["status"] == "succeeded" for b in batches
    )


def each_history_expired_once(
    cluster: Cluster, previous: dict[str, Any], cycle: dict[str, Any]
) -> bool:
    """Whether one fetch per symbol is what `cycle` must have done: each symbol's history,
    cached by `previous`, had expired when its batch began, and no batch ran longer than
    CACHE_TTL (a slower one may fetch again for the analysis, which is right)."""
    ttl = float(cluster.setting("CACHE_TTL"))
    cached_until = {
        symbol: batch["finished_at"]
        for batch in batches_of(cluster, previous)
        for symbol in batch["params"]["symbols"]
    }
    for batch in batches_of(cluster, cycle):
        if (batch["finished_at"] - batch["started_at"]).total_seconds() >= ttl:
            return False
        for symbol in batch["params"]["symbols"]:
            if symbol in cached_until and (
                (batch["started_at"] - cached_until[symbol]).total_seconds() <= ttl
            ):
                return False
    return True


def history_fetches(cluster: Cluster) -> float:
    return cluster.metric(cluster.metrics(), "stockdash_provider_fetches_total", endpoint="history")


# -- shared state across instances ---------------------------------------------------------


def test_a_token_issued_by_one_instance_works_on_the_other(cluster: Cluster) -> None:
    user = make_user(cluster.api_url(0))
    issued = login(cluster.api_url(0), user.username, user.password)
    assert issued.status_code == 200, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}

    for base in (cluster.api_url(1), cluster.nginx_url):
        me = httpx.get(f"{base}{API}/users/me", headers=headers, timeout=30)
        assert me.status_code == 200, (base, me.text)
        assert me.json()["username"] == user.username


def test_parallel_watchlist_adds_over_both_instances_store_exactly_the_limit(
    cluster: Cluster,
) -> None:
    user = make_user(cluster.nginx_url)
    symbols = POPULAR_SYMBOLS[:30]
    start = threading.Barrier(len(symbols))

    def add(i: int) -> httpx.Response:
        with httpx.Client(base_url=cluster.api_url(i % 2), timeout=60) as client:
            start.wait(timeout=30)
            return client.post(
                f"{API}/watchlist", json={"symbol": symbols[i]}, headers=user.headers
            )

    with ThreadPoolExecutor(len(symbols)) as pool:
        responses = list(pool.map(add, range(len(symbols))))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: FREE_LIMIT, 403: len(symbols) - FREE_LIMIT}, [
        (r.status_code, r.text[:120]) for r in responses if r.status_code not in (201, 403)
    ]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 403} == {
        "watchlist_limit_reached"
    }
    added = {r.json()["symbol"] for r in responses if r.status_code == 201}
    listed = httpx.get(f"{cluster.nginx_url}{API}/watchlist", headers=user.headers, timeout=30)
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == FREE_LIMIT
    assert {item["symbol"] for item in listed.json()["data"]} == added


def test_failed_logins_are_counted_across_instances(cluster: Cluster) -> None:
    limit = int(cluster.setting("RATE_LIMIT_LOGIN_ACCOUNT").split("/")[0])
    user = make_user(cluster.nginx_url)

    statuses = [
        login(cluster.api_url(i % 2), user.username, WRONG_PASSWORD).status_code
        for i in range(limit)
    ]
    assert statuses == [401] * limit

    for base in (cluster.api_url(0), cluster.api_url(1), cluster.nginx_url):
        refused = login(base, user.username, WRONG_PASSWORD)
        assert refused.status_code == 429, (base, refused.text)
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"


# -- an API instance dies under load --------------------------------------------------------


def test_killing_an_api_instance_under_load_fails_no_request(cluster: Cluster) -> None:
    user = population(cluster)
    victim = cluster.apis[0]
    victim_upstream = f"upstream=127.0.0.1:{cluster.api_ports[0]}"
    access_log = cluster.runtime / "access.log"
    concurrency = 4
    outcomes: list[int | str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=cluster.nginx_url, headers=user.headers, timeout=15) as http:
            while not stop.is_set():
                try:
                    outcome: int | str = http.get(f"{API}/watchlist").status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        # Load is flowing and the victim is taking its share of it.
        wait_for(
            lambda: len(outcomes) >= 40 and victim_upstream in access_log.read_text(),
            "requests through nginx to reach both instances",
            timeout=30,
        )
        victim.signal(signal.SIGKILL)
        killed_at = len(outcomes)
        wait_for(
            lambda: len(outcomes) >= killed_at + 100, "100 requests after the kill", timeout=30
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    victim.kill()  # reap it

    failures = [o for o in outcomes if o != 200]
    print(f"\n{len(outcomes)} requests, {len(failures)} failed: {Counter(failures)}")
    assert set(failures) <= CONNECTION_FAILURES, Counter(failures)
    assert len(failures) <= concurrency, Counter(failures)

    cluster.restart(victim)
    me = httpx.get(f"{cluster.api_url(0)}{API}/users/me", headers=user.headers, timeout=30)
    assert me.status_code == 200, me.text


# -- the refresh schedule ---------------------------------------------------------------------


def test_one_refresh_cycle_per_interval_and_one_fetch_per_tracked_symbol(cluster: Cluster) -> None:
    population(cluster)
    interval = cluster.interval
    slack = 1.0  # a tick sent at the end of a slot is recorded within this

    # The window: every whole interval slot since the cluster came up (or since a worker or
    # scheduler an earlier test killed came back), at least 4 of them.
    first = int(cluster.schedule_steady_since // interval) + 1
    wait_for(
        lambda: time.time() >= (first + 4) * interval + slack,
        "4 whole intervals since the cluster started",
        timeout=6 * interval,
        interval=0.2,
    )
    last = int((time.time() - slack) // interval) - 1
    expected = last - first + 1

    def window_cycles() -> list[dict[str, Any]] | None:
        # A tick is stamped with the time it was sent, but its cycle row appears only when a
        # worker runs it: on a loaded machine that can be seconds later. Wait for the rows.
        found = cluster.jobs("refresh_cycle")
        in_window = {cycle_slot(c) for c in found} & set(range(first, last + 1))
        return found if len(in_window) >= expected - 1 else None

    try:
        cycles = wait_for(
            window_cycles, "the window's cycles to be recorded", timeout=4 * interval, interval=0.2
        )
    except ClusterError:  # the assertions below say what is missing
        cycles = cluster.jobs("refresh_cycle")
    slots = [cycle_slot(c) for c in cycles]
    assert len(slots) == len(set(slots)), "two refresh cycles for one interval slot"
    assert {str(c["dedup_key"]).split(":")[1] for c in cycles} == {f"{interval:g}"}
    window = sorted(s for s in slots if first <= s <= last)
    missing = sorted(set(range(first, last + 1)) - set(window))
    assert expected - 1 <= len(window) <= expected + 1, (expected, window)
    assert len(missing) <= 1, f"slots without a cycle: {missing} of {first}..{last}"

    # Every tick that created a cycle was counted, in whichever worker ran it.
    def ticks_and_cycles() -> tuple[float, int] | None:
        before = len(cluster.jobs("refresh_cycle"))
        ticks = cluster.metric(
            cluster.metrics(), "stockdash_scheduler_ticks_total", outcome="enqueued"
        )
        return (ticks, before) if len(cluster.jobs("refresh_cycle")) == before else None

    ticks, created = wait_for(ticks_and_cycles, "a stable tick count", timeout=2 * interval)
    assert ticks == created

    # One cycle = one history fetch per distinct tracked symbol (CACHE_TTL < the interval), in
    # whichever worker ran each batch: measured between two quiet moments around one cycle.
    tracked = tracked_symbols(cluster.db)
    # Generous: on a loaded machine a cycle (fetches, analyses, dashboard cards) can run into
    # the next interval several times before a quiet one comes.
    deadline = time.monotonic() + 30 * interval
    while True:
        assert time.monotonic() < deadline, "no quiet cycle to measure (machine overloaded?)"
        before_cycle = latest_cycle(cluster)
        if before_cycle is None or not cycle_done(cluster, before_cycle):
            time.sleep(0.05)
            continue
        before = history_fetches(cluster)
        if latest_cycle(cluster)["id"] != before_cycle["id"]:  # type: ignore[index]
            continue  # the next cycle began while we read the counter

        def next_cycle_done() -> dict[str, Any] | None:
            cycle = latest_cycle(cluster)
            if cycle is None or cycle["id"] == before_cycle["id"]:  # noqa: B023
                return None
            return cycle if cycle_done(cluster, cycle) else None

        cycle = wait_for(next_cycle_done, "the next cycle to finish", timeout=3 * interval)
        after = history_fetches(cluster)
        if latest_cycle(cluster)["id"] != cycle["id"]:  # type: ignore[index]
            continue
        warmups = cluster.db.fetchval(
            "SELECT count(*) FROM jobs WHERE kind = 'warm_analysis' "
            "AND (finished_at IS NULL OR finished_at > $1)",
            before_cycle["created_at"],
        )
        if warmups == 0 and each_history_expired_once(cluster, before_cycle, cycle):
            break
    batches = batches_of(cluster, cycle)
    assert cycle["result"]["symbols"] == len(tracked)
    assert sorted(s for b in batches for s in b["params"]["symbols"]) == sorted(tracked)
    assert sum(len(b["result"]["refreshed"]) + len(b["result"]["failed"]) for b in batches) == len(
        tracked
    )
    assert after - before == len(tracked), (after - before, len(tracked))


# -- a worker and a scheduler die -------------------------------------------------------------


def test_kill_9_of_a_worker_mid_batch_loses_no_job(cluster: Cluster) -> None:
    population(cluster)
    worker = cluster.workers[0]
    name = cluster.worker_name(worker)
    duplicates_before = cluster.metric(
        cluster.metrics(), "stockdash_jobs_total", outcome="duplicate"
    )

    def caught_running() -> dict[str, Any] | None:
        rows = cluster.db.fetch(
            "SELECT * FROM jobs WHERE kind = 'refresh_batch' AND status = 'running' "
            "AND worker = $1 ORDER BY started_at DESC LIMIT 1",
            name,
        )
        if not rows:
            return None
        worker.signal(signal.SIGSTOP)
        again = cluster.jobs(id=rows[0]["id"])[0]
        if again["status"] == "running" and again["worker"] == name:
            return again
        worker.signal(signal.SIGCONT)  # it finished meanwhile: try the next one
        return None

    job = wait_for(
        caught_running,
        f"a batch running on {worker.name}",
        timeout=8 * cluster.interval,
        interval=0.005,
    )
    worker.kill()
    cycle = cluster.jobs("refresh_cycle", id=job["parent_id"])[0]

    wait_for(
        lambda: cycle_done(cluster, cycle),
        "every batch of the cycle to succeed",
        timeout=10 * cluster.interval,
        on_timeout=lambda: repr(
            [
                (b["id"], b["status"], b["worker"], b["deliveries"])
                for b in batches_of(cluster, cycle)
            ]
        ),
    )
    done = cluster.jobs(id=job["id"])[0]
    assert done["status"] == "succeeded"
    assert done["deliveries"] >= 2, done
    assert done["worker"] != name
    assert done["result"]["symbols"] == len(job["params"]["symbols"])
    assert cluster.jobs(status="dead") == []
    duplicates = cluster.metric(cluster.metrics(), "stockdash_jobs_total", outcome="duplicate")
    assert duplicates == duplicates_before, "a job completed twice"


def test_killing_the_active_scheduler_hands_over_within_one_lock_period(cluster: Cluster) -> None:
    interval, lock = cluster.interval, cluster.lock_seconds
    active = wait_for(cluster.active_scheduler, "an active scheduler", timeout=3 * lock)
    (standby,) = [s for s in cluster.schedulers if s is not active]
    before = standby.output().count(SCHEDULER_ACTIVE)
    # Kill right after a cycle was created, the worst moment for the next one.
    last = latest_cycle(cluster)
    wait_for(
        lambda: (c := latest_cycle(cluster)) is not None and c["id"] != (last or {}).get("id"),
        "a new cycle",
        timeout=3 * interval,
    )
    active.signal(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    active.kill()

    wait_for(
        lambda: standby.output().count(SCHEDULER_ACTIVE) > before,
        f"{standby.name} to become active",
        timeout=lock + interval,
    )
    took_over = datetime.now(UTC)

    # When each cycle's tick was sent: the schedulers' doing. (A row appears when a worker runs
    # the tick, seconds later on a loaded machine, so created_at would time the workers.)
    def sent(cycle: dict[str, Any]) -> float:
        return float(cycle["params"]["sent_at"])

    kill_time = killed_at.timestamp()

    def two_cycles_after_the_kill() -> list[dict[str, Any]] | None:
        after = [c for c in cluster.jobs("refresh_cycle") if sent(c) > kill_time]
        return after if len(after) >= 2 else None

    wait_for(two_cycles_after_the_kill, "two cycles after the kill", timeout=4 * (interval + lock))
    cycles = sorted(cluster.jobs("refresh_cycle"), key=sent)
    last_before = max(i for i, c in enumerate(cycles) if sent(c) <= kill_time)
    gaps = [sent(b) - sent(a) for a, b in itertools.pairwise(cycles[last_before:])]
    print(
        f"\ntakeover {(took_over - killed_at).total_seconds():.1f}s after the kill; "
        f"gaps between cycles {[round(g, 1) for g in gaps]}"
    )
    assert max(gaps) <= interval + lock + 1.5, gaps
    assert cluster.active_scheduler() is standby
