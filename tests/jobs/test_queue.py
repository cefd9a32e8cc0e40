"""The job queue: idempotent jobs, retries with backoff, dead letters, the admin API, both brokers."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from taskiq.acks import AcknowledgeType
from taskiq.api import run_receiver_task

from stockdash.container import Container, build_container
from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.jobs.handlers import cycle_dedup_key, refresh_tick
from stockdash.jobs.models import JobRow
from stockdash.jobs.roles import RefreshSchedule
from stockdash.jobs.runner import JobContext, JobRunner
from stockdash.jobs.store import JobKind, JobStatus
from tests.admin.helpers import make_admin  # noqa: F401 - a fixture
from tests.conftest import REDIS_URL, UserFactory, assert_error

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


def container_of(app: Any) -> Container:
    """The app's container."""
    container: Container = app.state.container
    return container


def runner_with(container: Container, handler: Any, *, lease: float = 60.0) -> JobRunner:
    """The container's runner with every kind handled by `handler`."""
    return JobRunner(
        container.jobs,
        dict.fromkeys(JobKind, handler),
        max_attempts=container.settings.job_max_attempts,
        backoff_seconds=0,
        lease_seconds=lease,
    )


def record_runs(container: Container) -> list[str]:
    """Have every job succeed with {} and note its id; the list of ids run, in order."""
    calls: list[str] = []

    async def handler(ctx: JobContext) -> dict[str, Any]:
        calls.append(ctx.job.id)
        return {}

    container.runner = runner_with(container, handler)
    return calls


async def test_an_embedded_job_runs_in_process_and_succeeds(app: Any) -> None:
    container = container_of(app)
    calls: list[str] = []

    async def handler(ctx: JobContext) -> dict[str, Any]:
        calls.append(ctx.job.id)
        return {"ok": True}

    container.runner = runner_with(container, handler)
    job = await container.queue.enqueue(JobKind.WARM_ANALYSIS, {"symbol": "AAPL", "tier": "free"})
    done = await container.jobs.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert done.result == {"ok": True} and done.attempts == 1 and done.deliveries == 1
    assert calls == [job.id]


async def test_a_dedup_key_gives_one_job(app: Any) -> None:
    container = container_of(app)
    calls = record_runs(container)
    first, created = await container.queue.submit(JobKind.WARM_ANALYSIS, dedup_key="k-1")
    again, created_again = await container.queue.submit(JobKind.WARM_ANALYSIS, dedup_key="k-1")
    assert created and not created_again and first.id == again.id
    assert calls == [first.id]


async def test_a_failing_job_is_retried_then_succeeds(app: Any) -> None:
    container = container_of(app)
    attempts: list[int] = []

    async def flaky(ctx: JobContext) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("upstream hiccup")
        return {"attempt": len(attempts)}

    container.runner = runner_with(container, flaky)
    job = await container.queue.enqueue(JobKind.WARM_ANALYSIS)
    done = await container.jobs.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert done.attempts == 2 and done.result == {"attempt": 2} and done.error is None


async def test_a_job_that_keeps_failing_is_a_dead_letter_listed_by_the_admin_api(
    app: Any,
    client: httpx.AsyncClient,
    make_admin: Any,  # noqa: F811
    make_user: UserFactory,
) -> None:
    container = container_of(app)

    async def broken(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("always fails")

    admin = await make_admin()
    user = await make_user()
    container.runner = runner_with(container, broken)
    job = await container.queue.enqueue(JobKind.WARM_ANALYSIS, {"symbol": "MSFT"})
    r = await client.get("/api/v1/admin/jobs?status=dead&kind=warm_analysis", headers=admin.headers)
    assert r.status_code == 200, r.text
    dead = r.json()["data"]
    assert [d["id"] for d in dead] == [job.id]
    assert dead[0]["attempts"] == container.settings.job_max_attempts
    assert dead[0]["error"] == "RuntimeError: always fails"
    one = await client.get(f"/api/v1/admin/jobs/{job.id}", headers=admin.headers)
    assert one.status_code == 200 and one.json()["status"] == "dead"
    assert_error(await client.get("/api/v1/admin/jobs/nope", headers=admin.headers), 404)
    assert_error(await client.get("/api/v1/admin/jobs", headers=user.headers), 403)


async def test_a_redelivered_finished_job_does_nothing(app: Any) -> None:
    container = container_of(app)
    calls = record_runs(container)
    job = await container.queue.enqueue(JobKind.WARM_ANALYSIS)
    await container.queue.send(job)  # the broker delivers the same message again
    await container.runner.run(job.id)
    assert calls == [job.id]
    done = await container.jobs.get(job.id)
    assert done is not None and done.deliveries == 1


async def _age_heartbeat(container: Container, job_id: str, seconds: float) -> None:
    """Make a job's last heartbeat `seconds` old (no API does: straight into SQL or MongoDB)."""
    stale = utcnow() - timedelta(seconds=seconds)
    storage = container.storage
    if storage.backend == "mongodb":
        jobs = storage.db["jobs"]  # type: ignore[attr-defined]
        await jobs.update_one({"_id": job_id}, {"$set": {"updated_at": stale}})
        return
    async with container.sessionmaker() as session:
        await session.execute(update(JobRow).where(JobRow.id == job_id).values(updated_at=stale))
        await session.commit()


async def test_a_redelivery_waits_for_a_live_run_and_takes_over_a_silent_one(app: Any) -> None:
    container = container_of(app)
    calls: list[str] = []

    async def handler(ctx: JobContext) -> dict[str, Any]:
        calls.append(ctx.job.id)
        return {"by": "second delivery"}

    container.runner = runner_with(container, handler, lease=2.0)
    job, _ = await container.jobs.create(JobKind.WARM_ANALYSIS, {})
    # A first delivery claimed it and its worker died (no heartbeat since).
    claimed = await container.jobs.claim(job.id, "dead-worker:1", stale_after=2.0)
    assert claimed is not None and claimed.status is JobStatus.RUNNING
    # While its heartbeat is fresh, a second delivery does not run it.
    second = asyncio.create_task(container.runner.run(job.id))
    await asyncio.sleep(0)
    assert calls == []
    await _age_heartbeat(container, job.id, 10)  # the heartbeat goes stale
    await asyncio.wait_for(second, timeout=10)
    done = await container.jobs.get(job.id)
    assert calls == [job.id]
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.deliveries == 2


async def test_refresh_ticks_in_one_interval_enqueue_one_cycle(app: Any) -> None:
    container = container_of(app)
    container.settings.refresh_interval_seconds = 3600
    await refresh_tick(container)
    await refresh_tick(container)  # a second scheduler, or a redelivered tick
    cycles, total = await container.jobs.list(kind=JobKind.REFRESH_CYCLE)
    assert total == 1 and cycles[0].status is JobStatus.SUCCEEDED
    assert cycles[0].dedup_key == cycle_dedup_key(3600, cycles[0].created_at.timestamp())
    assert cycles[0].params["sent_at"] <= time.time()


async def test_a_late_tick_counts_for_the_interval_it_was_sent_in(app: Any) -> None:
    container = container_of(app)
    container.settings.refresh_interval_seconds = 60
    sent = time.time() - 600  # queued ten intervals ago behind a busy worker
    await refresh_tick(container, sent)
    await refresh_tick(container)  # this interval's own tick
    cycles, total = await container.jobs.list(kind=JobKind.REFRESH_CYCLE)
    assert total == 2
    assert {c.dedup_key for c in cycles} == {
        cycle_dedup_key(60, sent),
        cycle_dedup_key(60, time.time()),
    }


async def test_the_schedule_stamps_each_tick_with_its_send_time() -> None:
    schedule = RefreshSchedule(30)
    (task,) = await schedule.get_schedules()
    before = time.time()
    schedule.pre_send(task)
    assert before <= task.kwargs["sent_at"] <= time.time()


async def test_a_cycle_fans_out_into_batches_that_refresh_every_tracked_symbol(
    app: Any, make_user: UserFactory, fill_watchlist: Any
) -> None:
    container = container_of(app)
    container.settings.refresh_batch_size = 2
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL", "MSFT", "KO", "JPM", "PG"])
    cycle = await container.queue.enqueue(JobKind.REFRESH_CYCLE)
    batches, total = await container.jobs.list(kind=JobKind.REFRESH_BATCH, parent_id=cycle.id)
    assert total == 3
    assert all(b.status is JobStatus.SUCCEEDED for b in batches)
    refreshed = sorted(s for b in batches for s in (b.result or {})["refreshed"])
    assert refreshed == ["AAPL", "JPM", "KO", "MSFT", "PG"]
    done = await container.jobs.get(cycle.id)
    assert done is not None and done.result == {
        "symbols": 5,
        "batches": 3,
        "purged_jobs": 0,
        "digests": 0,
    }


async def test_an_admin_backtest_reports_progress_and_its_result(
    app: Any,
    client: httpx.AsyncClient,
    make_admin: Any,  # noqa: F811
) -> None:
    admin = await make_admin()
    bad = await client.post(
        "/api/v1/admin/jobs/backtest",
        json={"start": "2024-01-01", "end": "2023-01-01"},
        headers=admin.headers,
    )
    assert_error(bad, 422)
    r = await client.post(
        "/api/v1/admin/jobs/backtest",
        json={"start": "2025-01-01", "end": "2025-04-30", "cost_bps": 5},
        headers=admin.headers,
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    again = await client.post("/api/v1/admin/jobs/backtest", json={}, headers=admin.headers)
    assert assert_error(again, 409, "backtest_running")["details"] == {"job_id": job_id}
    # On the in-process queue the job runs in a task of the server process.
    done = await _finished(client, job_id, admin.headers)
    assert done["status"] == "succeeded", done
    assert done["progress"]["stage"] == "done"
    assert done["progress"]["done"] == done["progress"]["total"] == done["result"]["rebalances"]
    assert {m["model"] for m in done["result"]["models"]} == {
        "basic",
        "warren_buffett",
        "peter_lynch",
        "dcf_math",
    }


async def _finished(client: httpx.AsyncClient, job_id: str, headers: Any) -> Any:
    """The job once it has finished (polled, with a deadline generous for a loaded machine)."""
    async with asyncio.timeout(240):
        while True:
            job = (await client.get(f"/api/v1/admin/jobs/{job_id}", headers=headers)).json()
            if job["status"] in ("succeeded", "dead"):
                return job
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("broker", ["amqp", "redis"])
async def test_a_real_broker_delivers_jobs_to_a_worker(settings: Settings, broker: str) -> None:
    """The same job over RabbitMQ and over Redis streams, consumed by a worker task."""
    queue_name = f"stockdash-test-{uuid.uuid4().hex[:10]}"
    url = RABBITMQ_URL if broker == "amqp" else REDIS_URL.rsplit("/", 1)[0] + "/3"
    worker_settings = settings.model_copy(update={"broker_url": url, "broker_queue": queue_name})
    producer_settings = worker_settings.model_copy()
    producer, consumer = build_container(producer_settings), build_container(worker_settings)
    finished = asyncio.Event()

    async def handler(ctx: JobContext) -> dict[str, Any]:
        finished.set()
        return {"via": broker}

    consumer.runner = runner_with(consumer, handler)
    consumer.broker.is_worker_process = True  # before startup: it opens the reading side
    await producer.broker.startup()
    await consumer.broker.startup()
    worker = asyncio.create_task(
        run_receiver_task(consumer.broker, ack_time=AcknowledgeType.WHEN_EXECUTED)
    )
    try:
        job = await producer.queue.enqueue(JobKind.WARM_ANALYSIS, {"symbol": "AAPL"})
        await asyncio.wait_for(finished.wait(), timeout=30)
        for _ in range(100):
            done = await producer.jobs.get(job.id)
            if done is not None and done.finished:
                break
            await asyncio.sleep(0.05)
        assert done is not None and done.status is JobStatus.SUCCEEDED
        assert done.result == {"via": broker}
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        for c in (producer, consumer):
            await c.broker.shutdown()
            await c.aclose()
        await _drop_queue(broker, url, queue_name)


async def _drop_queue(broker: str, url: str, name: str) -> None:
    """Remove the test's queue (RabbitMQ) or stream (Redis)."""
    if broker == "redis":
        import redis.asyncio as aioredis

        client = aioredis.from_url(url)
        await client.delete(name)
        await client.aclose()
        return
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in (name, f"{name}.dead_letter"):
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
