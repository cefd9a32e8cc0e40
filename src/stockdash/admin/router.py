"""Administration: accounts, service statistics and the audit log (role `admin` only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from stockdash.admin import service
from stockdash.admin.repository import UserFilter
from stockdash.admin.schemas import AdminStats, AdminUserList, AdminUserUpdate, AuditLogList
from stockdash.core.deps import AdminUser, SessionDep
from stockdash.core.errors import error_responses
from stockdash.subscriptions.tiers import Tier
from stockdash.users.schemas import UserPublic
from stockdash.users.service import to_public

router = APIRouter(prefix="/admin", tags=["admin"], responses=error_responses(401, 403, 422, 429))

Page = Annotated[int, Query(ge=1, le=100_000, description="1-based page number.")]
Size = Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100).")]


@router.get("/users", response_model=AdminUserList)
async def list_users(
    _: AdminUser,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=254, description="Part of a username or email.")
    ] = None,
    tier: Tier | None = None,
    active: bool | None = None,
    page: Page = 1,
    size: Size = 20,
) -> AdminUserList:
    """Search accounts by name or email, filter by tier and status, page by page."""
    return await service.list_users(
        session,
        UserFilter(q=q, tier=tier.value if tier else None, active=active),
        page=page,
        size=size,
    )


@router.patch("/users/{user_id}", response_model=UserPublic, responses=error_responses(404, 409))
async def update_user(
    user_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: AdminUserUpdate,
    admin: AdminUser,
    session: SessionDep,
) -> UserPublic:
    """Change an account's tier, role or status (not your own role or status)."""
    return to_public(await service.update_user(session, admin, user_id, body))


@router.get("/stats", response_model=AdminStats)
async def stats(_: AdminUser, session: SessionDep) -> AdminStats:
    """Users by tier, sign-ups over the last 30 days, active users, upgrades, top symbols."""
    return await service.stats(session)


@router.get("/audit", response_model=AuditLogList)
async def audit_log(
    _: AdminUser, session: SessionDep, page: Page = 1, size: Size = 50
) -> AuditLogList:
    """Every administrative change, newest first."""
    return await service.audit_log(session, page=page, size=size)
