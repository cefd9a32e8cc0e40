"""Enqueue jobs: a row in the jobs table, then one `run_job` message on the broker."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker

from stockdash.core.errors import ServiceUnavailable
from stockdash.jobs.broker import RUN_JOB_TASK
from stockdash.jobs.store import Job, JobKind, JobStatus, JobStore

logger = logging.getLogger(__name__)


class JobQueue:
    """The one way work is handed to workers (in this process on the embedded default)."""

    def __init__(self, store: JobStore, broker: AsyncBroker) -> None:
        self.store = store
        self.broker = broker
        # Long jobs started on the in-process broker run as tasks of this process only.
        self._process_local_runs: set[asyncio.Task[None]] = set()

    async def start(self, job: Job) -> None:
        """Send a recorded job without waiting for it to run.

        With a real broker that is a plain send. On the in-process broker a sent job runs where
        it is sent, so it runs in a task of this process, interrupted (and buried) at shutdown.
        """
        if not isinstance(self.broker, InMemoryBroker):
            await self.send(job)
            return
        task = asyncio.create_task(self._run_here(job))
        self._process_local_runs.add(task)
        task.add_done_callback(self._process_local_runs.discard)

    async def _run_here(self, job: Job) -> None:
        try:
            await self.send(job)
        except asyncio.CancelledError:
            await asyncio.shield(
                self.store.bury(job.id, "interrupted: the server stopped before the job finished")
            )
            raise

    async def stop_process_local_runs(self) -> None:
        """Cancel the jobs this process runs in its own tasks (the embedded default's shutdown)."""
        runs = list(self._process_local_runs)
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    async def enqueue(
        self,
        kind: JobKind,
        params: dict[str, Any] | None = None,
        *,
        dedup_key: str | None = None,
        parent_id: str | None = None,
        created_by: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Job:
        """Record and send a job (`submit`, without saying whether it is new)."""
        job, _ = await self.submit(
            kind,
            params,
            dedup_key=dedup_key,
            parent_id=parent_id,
            created_by=created_by,
            payload=payload,
        )
        return job

    async def submit(
        self,
        kind: JobKind,
        params: dict[str, Any] | None = None,
        *,
        dedup_key: str | None = None,
        parent_id: str | None = None,
        created_by: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> tuple[Job, bool]:
        """Record and send a job; whether it is new (False: its dedup key was used before, and
        the job is only sent again if it is still queued).

        `payload` travels only in the message, never in the table: for data that must not be
        stored at rest (an email body with a sign-in link).
        """
        job, created = await self.store.create(
            kind, params or {}, dedup_key=dedup_key, parent_id=parent_id, created_by=created_by
        )
        if created or job.status is JobStatus.QUEUED:
            # Also a job recorded earlier but still queued: whoever recorded it may have died
            # before its message went out. A second message is harmless: the job's first run
            # completes it once; a later delivery finds it running or finished.
            await self.send(job, payload)
        return job, created

    async def send(self, job: Job, payload: dict[str, Any] | None = None) -> None:
        """Put a recorded job's message on the broker; 503 (and the job buried) if it is down."""
        kicker: AsyncKicker[Any, Any] = AsyncKicker(RUN_JOB_TASK, self.broker, labels={})
        try:
            await kicker.kiq(job.id, payload)
        except Exception as exc:
            logger.exception("could not queue job %s (%s)", job.id, job.kind)
            await self.store.bury(job.id, f"not queued, the broker failed: {exc}")
            raise ServiceUnavailable(
                "The job queue is unavailable right now; try again soon.", code="queue_unavailable"
            ) from exc
