"""The process roles: `stockdash worker` consumes the queue, `stockdash scheduler` ticks the
refresh schedule (one active scheduler at a time, elected through a Redis lease)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from taskiq import AsyncBroker, ScheduleSource, TaskiqScheduler
from taskiq.acks import AcknowledgeType
from taskiq.api import run_receiver_task, run_scheduler_task
from taskiq.scheduler.scheduled_task import ScheduledTask

from stockdash.core.config import redact_url
from stockdash.jobs.broker import REFRESH_TICK_TASK, RUN_JOB_TASK, BrokerUnavailable
from stockdash.jobs.handlers import refresh_tick

if TYPE_CHECKING:
    from stockdash.container import Container

logger = logging.getLogger(__name__)

ROLE_ENV = "STOCKDASH_ROLE"
SCHEDULER_LOCK = "scheduler-leader"


class RoleConflict(RuntimeError):
    """One process was asked to take two roles."""


def claim_role(role: str) -> None:
    """Take a role for this process; refuse when STOCKDASH_ROLE names another one."""
    asked = os.environ.get(ROLE_ENV, "").strip().lower()
    if asked and asked != role:
        raise RoleConflict(
            f"this process was asked to be both `{asked}` ({ROLE_ENV}) and `{role}` (the "
            "command); run one process per role."
        )
    os.environ[ROLE_ENV] = role


def register_tasks(broker: AsyncBroker, container: Container) -> None:
    """The broker's two tasks: run a recorded job, and the scheduler's refresh tick."""

    async def run_job(job_id: str, payload: dict[str, Any] | None = None) -> None:
        await container.runner.run(job_id, payload)

    async def tick(sent_at: float | None = None) -> None:
        await refresh_tick(container, sent_at)

    broker.register_task(run_job, task_name=RUN_JOB_TASK)
    broker.register_task(tick, task_name=REFRESH_TICK_TASK)


async def start_broker(container: Container) -> None:
    """Connect the container's broker within BROKER_CONNECT_TIMEOUT_SECONDS, or raise
    BrokerUnavailable saying why (connection refused, DNS, auth, timeout)."""
    settings = container.settings
    seconds = settings.broker_connect_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            await container.broker.startup()
    except Exception as exc:
        raise BrokerUnavailable(
            f"cannot reach the broker at {redact_url(settings.broker_url or '')} within "
            f"{seconds:g} s: {type(exc).__name__}: {exc}"
        ) from exc


async def run_worker(container: Container) -> None:
    """Consume jobs until cancelled; a message is acknowledged only after its job ran."""
    broker = container.broker
    broker.is_worker_process = True  # before startup: it opens the reading side
    await start_broker(container)
    logger.info("worker consuming %s", redact_url(container.settings.broker_url or "memory://"))
    try:
        await run_receiver_task(
            broker,
            max_async_tasks=container.settings.worker_concurrency,
            ack_time=AcknowledgeType.WHEN_EXECUTED,
            run_startup=False,
        )
    finally:
        await broker.shutdown()


class RefreshSchedule(ScheduleSource):
    """The one periodic task: the refresh tick every REFRESH_INTERVAL_SECONDS."""

    def __init__(self, interval: int) -> None:
        self.interval = interval

    async def get_schedules(self) -> list[ScheduledTask]:
        """The refresh tick's schedule."""
        return [
            ScheduledTask(
                task_name=REFRESH_TICK_TASK,
                labels={},
                args=[],
                kwargs={},
                schedule_id="refresh",
                interval=self.interval,
            )
        ]

    def pre_send(self, task: ScheduledTask) -> None:
        """Stamp the tick with its send time: the cycle's interval slot is the slot it was sent
        in, however late a busy worker runs it."""
        task.kwargs = {"sent_at": time.time()}


async def run_schedule(broker: AsyncBroker, interval: int) -> None:
    """taskiq's scheduler loop over the refresh schedule (until cancelled)."""
    scheduler = TaskiqScheduler(broker, [RefreshSchedule(interval)])
    await run_scheduler_task(scheduler, loop_interval=timedelta(seconds=1))


async def run_scheduler(container: Container) -> None:
    """Stand by until this process holds the scheduler lease, tick while it renews it, repeat."""
    settings = container.settings
    if settings.refresh_interval_seconds <= 0:
        raise ValueError("REFRESH_INTERVAL_SECONDS is 0: there is nothing to schedule.")
    if not container.locks.shared:
        raise ValueError(
            "the scheduler needs REDIS_URL: with several schedulers, exactly one is elected "
            "through a lease in Redis."
        )
    await start_broker(container)
    broker = container.broker
    ttl = settings.scheduler_lock_seconds
    try:
        while True:
            lease = await container.locks.acquire(SCHEDULER_LOCK, ttl=ttl, wait=ttl / 3)
            if lease is None:
                continue  # another scheduler is active; try again
            logger.info("this scheduler is now the active one")
            ticking = asyncio.create_task(run_schedule(broker, settings.refresh_interval_seconds))
            try:
                while not ticking.done():
                    await asyncio.sleep(ttl / 3)
                    if not await lease.renew():
                        logger.warning("lost the scheduler lease; standing by")
                        break
            finally:
                ticking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticking
                await lease.release()
    finally:
        await broker.shutdown()
