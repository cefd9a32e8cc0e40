"""Create, list and revoke your read-only API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from stockdash.apikeys import service
from stockdash.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from stockdash.container import UnitOfWorkDep
from stockdash.core.errors import error_responses
from stockdash.core.routes import RetryRoute
from stockdash.users.deps import CurrentUser

DbId = Annotated[int, Path(ge=1, le=2_147_483_647)]

router = APIRouter(
    route_class=RetryRoute,
    prefix="/api-keys",
    tags=["api-keys"],
    responses=error_responses(401, 403, 429),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(409, 422),
)
async def create_api_key(
    body: ApiKeyCreate, user: CurrentUser, unit: UnitOfWorkDep
) -> ApiKeyCreated:
    """Create a read-only key; the full key is in this response only."""
    created = await service.create_key(unit, user.id, body)
    await unit.commit()
    return created


@router.get("", response_model=ApiKeyList)
async def list_api_keys(user: CurrentUser, unit: UnitOfWorkDep) -> ApiKeyList:
    """Your keys: name, prefix and last use, never the secret."""
    return await service.list_keys(unit, user.id)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404, 422),
)
async def delete_api_key(key_id: DbId, user: CurrentUser, unit: UnitOfWorkDep) -> Response:
    """Revoke a key at once."""
    await service.delete_key(unit, user.id, key_id)
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
