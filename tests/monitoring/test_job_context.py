"""The request id travels with a job's message: labelled when sent from a request, restored in
the process that runs it (a real broker delivers it to another process, with a fresh context)."""

from __future__ import annotations

import contextvars

from asgi_correlation_id import correlation_id
from taskiq import TaskiqMessage

from stockdash.jobs.tracing import REQUEST_ID_LABEL, JobContextMiddleware


def _message() -> TaskiqMessage:
    return TaskiqMessage(task_id="t1", task_name="stockdash.run_job", labels={}, args=[], kwargs={})


def test_the_request_id_rides_the_message_to_the_worker() -> None:
    middleware = JobContextMiddleware()

    def in_request() -> TaskiqMessage:
        correlation_id.set("a1b2c3")
        return middleware.pre_send(_message())

    sent = contextvars.copy_context().run(in_request)
    assert sent.labels[REQUEST_ID_LABEL] == "a1b2c3"

    def in_worker() -> str | None:
        assert correlation_id.get() is None  # a new process knows nothing of the request
        middleware.pre_execute(sent)
        return correlation_id.get()

    assert contextvars.Context().run(in_worker) == "a1b2c3"


def test_a_job_without_a_request_gets_its_own_id() -> None:
    middleware = JobContextMiddleware()
    message = contextvars.Context().run(middleware.pre_send, _message())
    assert REQUEST_ID_LABEL not in message.labels

    def in_worker() -> str | None:
        middleware.pre_execute(message)
        return correlation_id.get()

    first, second = contextvars.Context().run(in_worker), contextvars.Context().run(in_worker)
    assert first and second and first != second
