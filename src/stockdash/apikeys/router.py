"""Create, list and revoke your read-only API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from stockdash.apikeys import service
from stockdash.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from stockdash.core.deps import SessionDep
from stockdash.core.errors import error_responses
from stockdash.users.deps import CurrentUser

DbId = Annotated[int, Path(ge=1, le=2_147_483_647)]

router = APIRouter(prefix="/api-keys", tags=["api-keys"], responses=error_responses(401, 403, 429))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(409, 422),
)
async def create_api_key(
    body: ApiKeyCreate, user: CurrentUser, session: SessionDep
) -> ApiKeyCreated:
    """Create a read-only key; the full key is in this response only."""
    return await service.create_key(session, user.id, body)


@router.get("", response_model=ApiKeyList)
async def list_api_keys(user: CurrentUser, session: SessionDep) -> ApiKeyList:
    """Your keys: name, prefix and last use, never the secret."""
    return await service.list_keys(session, user.id)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404, 422),
)
async def delete_api_key(key_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke a key at once."""
    await service.delete_key(session, user.id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
