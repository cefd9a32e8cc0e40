"""FastAPI dependency for the app's email sender."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stockdash.notifications.email import EmailSender


def get_email_sender(request: Request) -> EmailSender:
    """The email sender on app.state (SMTP or the outbox fallback)."""
    sender: EmailSender = request.app.state.email_sender
    return sender


EmailSenderDep = Annotated[EmailSender, Depends(get_email_sender)]
