"""The current user's alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from stockdash.alerts import service
from stockdash.alerts.schemas import AlertCreate, AlertList, AlertPublic, AlertUpdate
from stockdash.container import UnitOfWorkDep
from stockdash.core.errors import error_responses
from stockdash.core.routes import RetryRoute
from stockdash.users.deps import CurrentReader, CurrentUser

router = APIRouter(
    route_class=RetryRoute,
    prefix="/alerts",
    tags=["alerts"],
    responses=error_responses(401, 403, 429),
)
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=AlertList)
async def list_alerts(
    user: CurrentReader,
    unit: UnitOfWorkDep,
    symbol: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
) -> AlertList:
    """Your alerts (optionally on one symbol), newest first, with your plan's limit."""
    return await service.list_alerts(
        unit, user.id, user.subscription_tier, symbol.upper() if symbol else None
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AlertPublic,
    responses=error_responses(409, 422),
)
async def create_alert(body: AlertCreate, user: CurrentUser, unit: UnitOfWorkDep) -> AlertPublic:
    """Set an alert on a symbol of your watchlist (limits per plan: Free 5, Pro 20, Expert 50)."""
    alert = await service.create_alert(unit, user.id, body)
    await unit.commit()
    return alert


@router.patch("/{alert_id}", response_model=AlertPublic, responses=error_responses(404, 422))
async def update_alert(
    alert_id: AlertId, body: AlertUpdate, user: CurrentUser, unit: UnitOfWorkDep
) -> AlertPublic:
    """Change an alert's threshold (re-arms it) or turn it off or on."""
    alert = await service.update_alert(unit, user.id, alert_id, body)
    await unit.commit()
    return alert


@router.delete(
    "/{alert_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404),
)
async def delete_alert(alert_id: AlertId, user: CurrentUser, unit: UnitOfWorkDep) -> Response:
    """Delete an alert."""
    await service.delete_alert(unit, user.id, alert_id)
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
