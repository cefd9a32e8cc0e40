"""Carry the request id from the request that queued a job to the process that runs it, so a
job's log lines carry the id of the request that caused it; report failures to Sentry."""

from __future__ import annotations

import uuid
from typing import Any

import sentry_sdk
from asgi_correlation_id import correlation_id
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

REQUEST_ID_LABEL = "request_id"


class JobContextMiddleware(TaskiqMiddleware):
    """taskiq middleware: the request id travels as a message label."""

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        """Label the message with the sending request's id (if it was sent from one)."""
        request_id = correlation_id.get()
        if request_id:
            message.labels.setdefault(REQUEST_ID_LABEL, request_id)
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        """Run the job under the sender's request id, or a fresh one (a scheduler tick)."""
        request_id = message.labels.get(REQUEST_ID_LABEL)
        correlation_id.set(str(request_id) if request_id else uuid.uuid4().hex)
        return message

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        """A task that raised past the job runner: report it (no-op without SENTRY_DSN)."""
        sentry_sdk.capture_exception(exception)
