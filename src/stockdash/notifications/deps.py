"""FastAPI dependency for the app's email sender."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from stockdash.container import ContainerDep
from stockdash.notifications.email import EmailSender


async def get_email_sender(container: ContainerDep) -> EmailSender:
    """How routes send email: a queued job (delivered over SMTP or to the outbox)."""
    return container.email_sender


EmailSenderDep = Annotated[EmailSender, Depends(get_email_sender)]
