"""The taskiq broker BROKER_URL names: RabbitMQ, Redis streams, or in-process (the default).

Every job travels as one message, `stockdash.run_job(job_id)`: the job's kind, parameters and
state live in the jobs table, so a redelivered message finds out there whether work is left.
The scheduler's tick, `stockdash.refresh_tick()`, is the only other task.
"""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker

from stockdash.core.config import Settings
from stockdash.jobs.tracing import JobContextMiddleware

RUN_JOB_TASK = "stockdash.run_job"
REFRESH_TICK_TASK = "stockdash.refresh_tick"


class BrokerUnavailable(RuntimeError):
    """The configured broker could not be reached."""


def build_broker(settings: Settings) -> AsyncBroker:
    """The broker for these settings (not yet started), carrying request ids to the jobs."""
    broker = _broker_for(settings)
    broker.add_middlewares(JobContextMiddleware())
    return broker


def _broker_for(settings: Settings) -> AsyncBroker:
    kind = settings.broker_kind
    if kind == "memory":
        # Process-local: a kicked job runs right here, awaited by whoever kicked it (the
        # embedded default has one process, so "the worker" is this one).
        return InMemoryBroker(await_inplace=True)
    url = settings.broker_url or ""
    if kind == "amqp":
        from taskiq_aio_pika import AioPikaBroker
        from taskiq_aio_pika.queue import Queue, QueueType

        # A durable quorum queue; a message is acknowledged after its job ran, so one held
        # by a worker that dies is delivered again to another.
        return AioPikaBroker(
            url,
            qos=settings.worker_concurrency,
            task_queues=[Queue(name=settings.broker_queue, type=QueueType.QUORUM, durable=True)],
            dead_letter_queue=Queue(
                name=f"{settings.broker_queue}.dead_letter", type=QueueType.QUORUM, durable=True
            ),
            timeout=settings.broker_connect_timeout_seconds,
        )
    from taskiq_redis import RedisStreamBroker

    return RedisStreamBroker(
        url,
        queue_name=settings.broker_queue,
        consumer_group_name=f"{settings.broker_queue}-workers",
        # "0": messages sent before the first worker created the group are delivered too.
        consumer_id="0",
        idle_timeout=int(settings.broker_redelivery_seconds * 1000),
        xread_block=1000,
        socket_connect_timeout=settings.broker_connect_timeout_seconds,
    )
