"""Subscription tiers and the current user's plan."""

from __future__ import annotations

from fastapi import APIRouter

from stockdash.container import UnitOfWorkDep
from stockdash.core.errors import error_responses
from stockdash.core.routes import RetryRoute
from stockdash.subscriptions import service
from stockdash.subscriptions.billing import PAYMENT_REQUIRED_RESPONSE
from stockdash.subscriptions.deps import BillingDep
from stockdash.subscriptions.schemas import SubscriptionEventList, TierChange, TierList
from stockdash.users.deps import CurrentUser
from stockdash.users.schemas import UserPublic
from stockdash.users.service import to_public

router = APIRouter(route_class=RetryRoute, prefix="/subscriptions", tags=["subscriptions"])


@router.get("/tiers", response_model=TierList)
async def get_tiers() -> TierList:
    """The three plans: how many stocks and which analysts each allows."""
    return service.list_tiers()


@router.put(
    "/me",
    response_model=UserPublic,
    responses={**error_responses(401, 403, 409, 422, 429), **PAYMENT_REQUIRED_RESPONSE},
)
async def change_my_tier(
    body: TierChange, user: CurrentUser, unit: UnitOfWorkDep, billing: BillingDep
) -> UserPublic:
    """Switch plan; a downgrade below the watchlist size is refused with 409."""
    updated = await service.change_tier(unit, user.id, body.tier, billing=billing)
    await unit.commit()
    return to_public(updated)


@router.get(
    "/me/history", response_model=SubscriptionEventList, responses=error_responses(401, 403, 429)
)
async def my_tier_history(user: CurrentUser, unit: UnitOfWorkDep) -> SubscriptionEventList:
    """Your upgrades and downgrades, newest first."""
    return await service.history(unit, user.id)
