"""Email through the job queue: a request only enqueues; a worker delivers, with retries."""

from __future__ import annotations

from dataclasses import asdict

from stockdash.jobs.queue import JobQueue
from stockdash.jobs.store import JobKind
from stockdash.notifications.email import Email


class QueuedEmailSender:
    """Sends by enqueueing a `send_email` job; the body travels in the message only."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    async def send(self, email: Email) -> None:
        """Queue the message (the job's row names the recipient and subject, not the body)."""
        await self.queue.enqueue(
            JobKind.SEND_EMAIL, {"to": email.to, "subject": email.subject}, payload=asdict(email)
        )
