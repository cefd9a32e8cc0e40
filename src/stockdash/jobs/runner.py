"""Run one delivered job: claim it, retry it with backoff, heartbeat, then finish or bury it.

Idempotent by construction: a job's state is in the jobs table, so a message delivered twice
(a worker died before acknowledging it) finds the job finished and does nothing, or finds it
running with a live heartbeat and waits for that run to end or go silent before taking over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from stockdash.core.metrics import JOBS
from stockdash.jobs.store import Job, JobKind, JobStore

logger = logging.getLogger(__name__)

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"
PERMANENT_ERRORS = (ValueError, KeyError, TypeError)


def _worth_retrying(error: BaseException) -> bool:
    """Transient failures only: never a cancellation (shutdown) or a job's own bad input."""
    return isinstance(error, Exception) and not isinstance(error, PERMANENT_ERRORS)


@dataclass
class JobContext:
    """What a handler may do besides its work: report progress."""

    job: Job
    store: JobStore
    payload: dict[str, Any] | None = None

    async def progress(self, **progress: Any) -> None:
        """Replace the job's progress report (readable by the admin API)."""
        await self.store.set_progress(self.job.id, progress)


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
DeadLetterHook = Callable[[JobContext, BaseException], Awaitable[None]]


class JobRunner:
    """Executes jobs by kind with retries, a heartbeat and exactly-once completion."""

    def __init__(
        self,
        store: JobStore,
        handlers: Mapping[JobKind, Handler],
        *,
        max_attempts: int,
        backoff_seconds: float,
        lease_seconds: float,
        dead_letter_hooks: Mapping[JobKind, DeadLetterHook] | None = None,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.dead_letter_hooks = dead_letter_hooks or {}
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.lease_seconds = lease_seconds

    async def run(self, job_id: str, payload: dict[str, Any] | None = None) -> None:
        """Run the job if work is left; return when it has succeeded or is dead."""
        job = await self._claim_when_free(job_id)
        if job is None:
            JOBS.labels("unknown", "skipped").inc()
            return
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        try:
            await self._attempts(job, payload)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _claim_when_free(self, job_id: str) -> Job | None:
        """The job, claimed; None when it is finished or unknown (nothing to do)."""
        while True:
            job = await self.store.claim(job_id, WORKER_NAME, stale_after=self.lease_seconds)
            if job is not None:
                return job
            current = await self.store.get(job_id)
            if current is None or current.finished:
                return None
            # Another delivery is running it and its heartbeat is fresh: wait for it to finish
            # or to go silent (its worker died), never run it twice at once.
            await asyncio.sleep(self.lease_seconds / 4)

    async def _heartbeat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            await self.store.touch(job_id)

    async def _attempts(self, job: Job, payload: dict[str, Any] | None) -> None:
        handler = self.handlers[job.kind]
        context = JobContext(job, self.store, payload)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            # A job whose input is wrong (ValueError, KeyError, TypeError) fails the same way
            # every time: it goes straight to the dead letters.
            retry=retry_if_exception(_worth_retrying),
            wait=wait_exponential_jitter(
                multiplier=self.backoff_seconds, max=60 * self.backoff_seconds + 1
            ),
            before_sleep=functools.partial(self._retrying, job),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self.store.attempt(job.id)
                    result = await handler(context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("job %s (%s) failed for good", job.id, job.kind)
            await self.store.bury(job.id, f"{type(exc).__name__}: {exc}")
            JOBS.labels(job.kind.value, "dead").inc()
            hook = self.dead_letter_hooks.get(job.kind)
            if hook is not None:
                await hook(context, exc)
            return
        if await self.store.succeed(job.id, result):
            JOBS.labels(job.kind.value, "succeeded").inc()
        else:
            JOBS.labels(job.kind.value, "duplicate").inc()

    async def _retrying(self, job: Job, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "job %s (%s) attempt %d failed: %r", job.id, job.kind, state.attempt_number, error
        )
        await self.store.mark_retrying(job.id, f"{type(error).__name__}: {error}")
