"""Notifications: recorded per user, pushed live (the event bus) and emailed to users who opted
in, one email per notification (`immediate`) or one digest a day (`digest`), each with an
unsubscribe link."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from html import escape
from typing import Any

import jwt

from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import NotFound, Unprocessable
from stockdash.events.bus import EventBus, EventDraft, user_topic
from stockdash.notifications.email import Email, EmailSender
from stockdash.notifications.models import EmailMode
from stockdash.notifications.repository import NotificationDraft, NotificationRecord, Recipient
from stockdash.notifications.schemas import (
    NotificationList,
    NotificationPublic,
    NotificationSettingsPublic,
)
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact

logger = logging.getLogger(__name__)

NOTIFICATION_EVENT = "notification"
DIGEST_MAX_ITEMS = 50


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification to record (an alert that fired)."""

    user_id: int
    alert_id: int | None
    kind: str
    symbol: str | None
    title: str
    body: str
    data: dict[str, Any]


def to_public(row: NotificationRecord) -> NotificationPublic:
    """The API view of a notification."""
    return NotificationPublic(
        id=row.id,
        kind=row.kind,
        symbol=row.symbol,
        title=row.title,
        body=row.body,
        data=row.data,
        created_at=row.created_at,
        read=row.read_at is not None,
    )


# -- unsubscribe links ----------------------------------------------------------------------


def _unsubscribe_key(settings: Settings) -> str:
    return hashlib.sha256(f"unsubscribe|{settings.jwt_secret_key}".encode()).hexdigest()


def unsubscribe_token(settings: Settings, user_id: int) -> str:
    """A token that turns off one user's notification emails (no expiry: links in old mail work)."""
    return jwt.encode({"sub": str(user_id), "aud": "unsubscribe"}, _unsubscribe_key(settings))


def unsubscribe_user(settings: Settings, token: str) -> int:
    """The user an unsubscribe token names; 422 when it is not one."""
    try:
        claims = jwt.decode(
            token[:1024], _unsubscribe_key(settings), algorithms=["HS256"], audience="unsubscribe"
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise Unprocessable("This unsubscribe link is not valid.", code="invalid_token") from exc


def unsubscribe_link(settings: Settings, user_id: int) -> str:
    """The absolute unsubscribe link for a user's emails."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}/api/v1/notifications/unsubscribe?token={unsubscribe_token(settings, user_id)}"


def _email(
    settings: Settings, to: Recipient, subject: str, rows: list[NotificationRecord]
) -> Email:
    base = settings.public_base_url.rstrip("/")
    stop = unsubscribe_link(settings, to.user_id)
    lines = [f"- {r.title}: {r.body} {base}/stocks/{r.symbol}" for r in rows]
    text = (
        f"Hi {to.username},\n\n" + "\n".join(lines) + "\n\n"
        f"Stop these emails: {stop}\n(or change them on your account page: {base}/account)\n"
    )
    items = "".join(
        f'<li><a href="{escape(f"{base}/stocks/{r.symbol}")}">{escape(r.title)}</a>: '
        f"{escape(r.body)}</li>"
        for r in rows
    )
    html = (
        '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">'
        f"<p>Hi {escape(to.username)},</p><ul>{items}</ul>"
        f'<p style="color: #666"><a href="{escape(stop)}">Unsubscribe</a> from these emails, '
        f'or change them on your <a href="{escape(base)}/account">account page</a>.</p>'
        "</body></html>"
    )
    return Email(to.email, subject, text, html)


# -- the notifier ---------------------------------------------------------------------------


class Notifier:
    """Records notifications, pushes them live and emails them."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        email_sender: EmailSender,
        bus: EventBus | None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.email_sender = email_sender
        self.bus = bus

    async def record(
        self, unit: UnitOfWork, items: list[NewNotification]
    ) -> list[tuple[NotificationRecord, Recipient]]:
        """Store the notifications in the unit of work (the caller commits); each with its
        recipient."""
        if not items:
            return []
        recipients = await unit.notifications.recipients({i.user_id for i in items})
        drafts = [
            NotificationDraft(
                user_id=item.user_id,
                alert_id=item.alert_id,
                kind=item.kind,
                symbol=item.symbol,
                title=item.title[:200],
                body=item.body,
                data=item.data,
                email_pending=recipients[item.user_id].mode == EmailMode.DIGEST,
            )
            for item in items
        ]
        rows = await unit.notifications.add_many(drafts)
        return [(row, recipients[row.user_id]) for row in rows]

    async def deliver(self, recorded: list[tuple[NotificationRecord, Recipient]]) -> None:
        """After the commit: push each notification live, email the `immediate` ones."""
        if self.bus is not None and recorded:
            drafts = [
                EventDraft(
                    user_topic(row.user_id),
                    NOTIFICATION_EVENT,
                    to_public(row).model_dump(mode="json"),
                )
                for row, _ in recorded
            ]
            await self.bus.publish(drafts)
        for row, to in recorded:
            if to.mode == EmailMode.IMMEDIATE:
                try:
                    await self.email_sender.send(_email(self.settings, to, row.title, [row]))
                except Exception:  # the notification is recorded; the email is best effort
                    logger.exception("queueing the email of notification %s failed", row.id)

    async def send_digests(self) -> int:
        """Email each `digest` user whose last digest is older than the digest interval the
        notifications pending since (one email each); how many emails were queued."""
        cutoff = utcnow() - timedelta(hours=self.settings.notification_digest_hours)
        async with self.storage.unit(read_only=True) as unit:
            repo = unit.notifications
            due = [
                (to, await repo.pending(to.user_id, DIGEST_MAX_ITEMS))
                for to in await repo.digest_due(cutoff)
            ]
        sent = 0
        # No transaction held while queueing (the queue writes a job row of its own).
        for to, rows in due:
            if not rows:
                continue
            subject = f"stockdash: {len(rows)} alert{'s' if len(rows) != 1 else ''}"
            await self.email_sender.send(_email(self.settings, to, subject, rows))
            await transact(self.storage, partial(_digest_sent, to.user_id, [r.id for r in rows]))
            sent += 1
        return sent


async def _digest_sent(user_id: int, ids: list[int], unit: UnitOfWork) -> None:
    """Mark a digest's notifications emailed."""
    await unit.notifications.digest_sent(user_id, ids, utcnow())


# -- the API's operations -------------------------------------------------------------------


async def list_notifications(
    unit: UnitOfWork, user_id: int, *, page: int, size: int, unread_only: bool
) -> NotificationList:
    """One page of the user's notifications, newest first, with the unread count."""
    repo = unit.notifications
    rows, total = await repo.page(user_id, page=page, size=size, unread_only=unread_only)
    return NotificationList(
        data=[to_public(r) for r in rows],
        count=total,
        unread=await repo.unread(user_id),
        page=page,
        size=size,
    )


async def mark_read(unit: UnitOfWork, user_id: int, notification_id: int) -> NotificationPublic:
    """Mark one of the user's notifications read (the caller commits)."""
    row = await unit.notifications.mark_read(user_id, notification_id, utcnow())
    if row is None:
        raise NotFound("No such notification.", code="notification_not_found")
    return to_public(row)


async def mark_all_read(unit: UnitOfWork, user_id: int) -> int:
    """Mark every notification of the user read; how many were unread (the caller commits)."""
    return await unit.notifications.mark_all_read(user_id, utcnow())


async def get_settings(unit: UnitOfWork, user_id: int) -> NotificationSettingsPublic:
    """The user's notification settings."""
    return NotificationSettingsPublic(email=await unit.notifications.email_mode(user_id))


async def unsubscribe(unit: UnitOfWork, user_id: int) -> None:
    """Turn off the user's notification emails (nothing to do for a deleted account; the caller
    commits)."""
    if await unit.notifications.user_exists(user_id):
        await set_email_mode(unit, user_id, EmailMode.OFF)


async def set_email_mode(
    unit: UnitOfWork, user_id: int, mode: EmailMode
) -> NotificationSettingsPublic:
    """Set how the user gets notification emails (the caller commits)."""
    await unit.notifications.set_email_mode(user_id, mode)
    return NotificationSettingsPublic(email=mode)
