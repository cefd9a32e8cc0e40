"""The current user's notifications and notification settings, and email unsubscribe links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from stockdash.container import ContainerDep, UnitOfWorkDep
from stockdash.core.deps import SettingsDep
from stockdash.core.errors import error_responses
from stockdash.core.routes import RetryRoute
from stockdash.notifications import service
from stockdash.notifications.schemas import (
    NotificationList,
    NotificationPublic,
    NotificationSettingsPublic,
    ReadAll,
)
from stockdash.users.deps import CurrentReader, CurrentUser

router = APIRouter(
    route_class=RetryRoute,
    prefix="/notifications",
    tags=["notifications"],
    responses=error_responses(401, 403, 429),
)
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Page = Annotated[int, Query(ge=1, le=100_000, description="1-based page number.")]
Size = Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100).")]


@router.get("", response_model=NotificationList)
async def list_notifications(
    user: CurrentReader,
    unit: UnitOfWorkDep,
    page: Page = 1,
    size: Size = 20,
    unread_only: bool = False,
) -> NotificationList:
    """Your notifications, newest first, page by page, with the unread count."""
    return await service.list_notifications(
        unit, user.id, page=page, size=size, unread_only=unread_only
    )


@router.post("/read-all", response_model=ReadAll)
async def read_all(user: CurrentUser, unit: UnitOfWorkDep) -> ReadAll:
    """Mark all your notifications read."""
    updated = await service.mark_all_read(unit, user.id)
    await unit.commit()
    return ReadAll(updated=updated)


@router.post(
    "/{notification_id}/read", response_model=NotificationPublic, responses=error_responses(404)
)
async def read_one(
    notification_id: NotificationId, user: CurrentUser, unit: UnitOfWorkDep
) -> NotificationPublic:
    """Mark one notification read."""
    note = await service.mark_read(unit, user.id, notification_id)
    await unit.commit()
    return note


@router.get("/settings", response_model=NotificationSettingsPublic)
async def get_settings(user: CurrentReader, unit: UnitOfWorkDep) -> NotificationSettingsPublic:
    """How you get notifications by email."""
    return await service.get_settings(unit, user.id)


@router.put("/settings", response_model=NotificationSettingsPublic, responses=error_responses(422))
async def put_settings(
    body: NotificationSettingsPublic, user: CurrentUser, unit: UnitOfWorkDep
) -> NotificationSettingsPublic:
    """Choose how you get notifications by email: `off`, `immediate` or `digest`."""
    chosen = await service.set_email_mode(unit, user.id, body.email)
    await unit.commit()
    return chosen


@router.get(
    "/unsubscribe",
    response_class=HTMLResponse,
    responses=error_responses(422),
    openapi_extra={"security": []},
)
async def unsubscribe(
    token: Annotated[str, Query(min_length=1, max_length=1024)],
    container: ContainerDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The link in notification emails: turns them off (no sign-in needed)."""
    user_id = service.unsubscribe_user(settings, token)
    # A GET that writes (a link in an email): its own writing unit of work.
    async with container.storage.unit() as unit:
        await service.unsubscribe(unit, user_id)
        await unit.commit()
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title>'
        "</head><body><main><h1>Unsubscribed</h1><p>You will get no more alert emails from "
        "stockdash. Alerts still appear in the app; turn emails back on from your account "
        "page.</p></main></body></html>"
    )
