"""The contract of the job store, run unchanged on SQLite or PostgreSQL and on MongoDB: dedup,
claims (once, again when stale), transitions that count once, listing and purging."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from stockdash.jobs.store import JobKind, JobStatus
from stockdash.storage.base import Storage


async def test_create_dedups_by_key_and_get_reads_back(storage: Storage) -> None:
    jobs = storage.job_store()
    first, new = await jobs.create(JobKind.BACKTEST, {"a": 1}, dedup_key="k1", created_by=7)
    again, again_new = await jobs.create(JobKind.BACKTEST, {"a": 2}, dedup_key="k1")
    free1, _ = await jobs.create(JobKind.SEND_EMAIL, {})
    free2, free_new = await jobs.create(JobKind.SEND_EMAIL, {})  # no key: never a duplicate
    assert new and not again_new and free_new
    assert again.id == first.id and again.params == {"a": 1}
    assert free1.id != free2.id
    got = await jobs.get(first.id)
    assert got is not None
    assert (got.kind, got.status, got.params, got.created_by) == (
        JobKind.BACKTEST,
        JobStatus.QUEUED,
        {"a": 1},
        7,
    )
    assert (got.attempts, got.deliveries, got.started_at, got.finished) == (0, 0, None, False)
    assert await jobs.get("no-such-job") is None


async def test_claims_let_one_worker_in_until_the_heartbeat_goes_stale(storage: Storage) -> None:
    jobs = storage.job_store()
    job, _ = await jobs.create(JobKind.REFRESH_CYCLE, {})
    claims = await asyncio.gather(
        *(jobs.claim(job.id, f"w{i}", stale_after=3600) for i in range(6))
    )
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].status == JobStatus.RUNNING and won[0].deliveries == 1
    started = won[0].started_at
    assert started is not None
    # A zero-second staleness: the running job is taken over, its start time kept.
    again = await jobs.claim(job.id, "w9", stale_after=0)
    assert again is not None and again.worker == "w9" and again.deliveries == 2
    assert again.started_at == started
    assert await jobs.claim("no-such-job", "w", stale_after=0) is None


async def test_transitions_and_finishing_counts_once(storage: Storage) -> None:
    jobs = storage.job_store()
    job, _ = await jobs.create(JobKind.BACKTEST, {})
    await jobs.claim(job.id, "w", stale_after=60)
    await jobs.attempt(job.id)
    await jobs.mark_retrying(job.id, "boom")
    await jobs.attempt(job.id)
    await jobs.set_progress(job.id, {"done": 3})
    mid = await jobs.get(job.id)
    assert mid is not None
    assert (mid.status, mid.attempts, mid.error, mid.progress) == (
        JobStatus.RUNNING,
        2,
        "boom",
        {"done": 3},
    )
    assert await jobs.succeed(job.id, {"ok": True})
    assert not await jobs.succeed(job.id, {"ok": False})  # already finished: counts once
    assert not await jobs.bury(job.id, "late")
    await jobs.mark_retrying(job.id, "late")  # a finished job stays finished
    done = await jobs.get(job.id)
    assert done is not None and done.finished
    assert (done.status, done.result, done.error) == (JobStatus.SUCCEEDED, {"ok": True}, None)
    assert done.finished_at is not None
    dead, _ = await jobs.create(JobKind.BACKTEST, {})
    assert await jobs.bury(dead.id, "gave up")
    buried = await jobs.get(dead.id)
    assert buried is not None and (buried.status, buried.error) == (JobStatus.DEAD, "gave up")


async def test_unfinished_list_and_purge(storage: Storage) -> None:
    jobs = storage.job_store()
    parent, _ = await jobs.create(JobKind.REFRESH_CYCLE, {})
    children = [
        (await jobs.create(JobKind.REFRESH_BATCH, {"i": i}, parent_id=parent.id))[0]
        for i in range(3)
    ]
    assert await jobs.succeed(children[0].id, {})
    oldest = await jobs.unfinished(JobKind.REFRESH_BATCH)
    assert oldest is not None and oldest.id == children[1].id
    assert await jobs.unfinished(JobKind.BACKTEST) is None
    page, total = await jobs.list(parent_id=parent.id, limit=2)
    assert total == 3 and len(page) == 2
    assert [j.created_at for j in page] == sorted((j.created_at for j in page), reverse=True)
    done, done_total = await jobs.list(status=JobStatus.SUCCEEDED)
    assert done_total == 1 and [j.id for j in done] == [children[0].id]
    kinds, kinds_total = await jobs.list(kind=JobKind.REFRESH_CYCLE)
    assert kinds_total == 1 and kinds[0].id == parent.id
    assert await jobs.purge_finished(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await jobs.purge_finished(datetime.now(UTC) + timedelta(hours=1)) == 1
    assert await jobs.get(children[0].id) is None
    assert await jobs.get(children[1].id) is not None  # unfinished: kept


async def test_queued_by_kind_counts_only_jobs_not_started(storage: Storage) -> None:
    jobs = storage.job_store()
    assert await jobs.queued_by_kind() == {}
    for _ in range(2):
        await jobs.create(JobKind.SEND_EMAIL, {})
    started, _ = await jobs.create(JobKind.SEND_EMAIL, {})
    await jobs.create(JobKind.BACKTEST, {})
    await jobs.claim(started.id, "w", stale_after=60)
    assert await jobs.queued_by_kind() == {"send_email": 2, "backtest": 1}


async def test_the_heartbeat_keeps_a_claim_and_stops_at_the_finish(storage: Storage) -> None:
    jobs = storage.job_store()
    job, _ = await jobs.create(JobKind.BACKTEST, {})
    assert await jobs.claim(job.id, "w1", stale_after=60) is not None
    await asyncio.sleep(0.4)
    await jobs.touch(job.id)  # without it the claim below would take the job over
    assert await jobs.claim(job.id, "w2", stale_after=0.3) is None
    await asyncio.sleep(0.4)
    taken = await jobs.claim(job.id, "w2", stale_after=0.3)  # no heartbeat since: stale
    assert taken is not None and taken.worker == "w2"
    assert await jobs.succeed(job.id, {"ok": True})
    done = await jobs.get(job.id)
    assert done is not None
    await asyncio.sleep(0.01)
    await jobs.touch(job.id)
    after = await jobs.get(job.id)
    assert after is not None and after.updated_at == done.updated_at  # a finished job rests
