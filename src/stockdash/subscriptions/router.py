"""Subscription tiers and the current user's plan."""

from __future__ import annotations

from fastapi import APIRouter

from stockdash.core.deps import CurrentUser, SessionDep
from stockdash.core.errors import error_responses
from stockdash.subscriptions import service
from stockdash.subscriptions.schemas import TierChange, TierList
from stockdash.users.schemas import UserPublic
from stockdash.users.service import to_public

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


@router.get("/tiers", response_model=TierList)
async def get_tiers() -> TierList:
    """The three plans: how many stocks and which analysts each allows."""
    return service.list_tiers()


@router.put("/me", response_model=UserPublic, responses=error_responses(401, 409, 422))
async def change_my_tier(body: TierChange, user: CurrentUser, session: SessionDep) -> UserPublic:
    """Switch plan; a downgrade below the watchlist size is refused with 409."""
    updated = await service.change_tier(session, user.id, body.tier)
    return to_public(updated)
