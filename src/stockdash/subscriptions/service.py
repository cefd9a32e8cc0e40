"""Tier changes: any tier for now (billing plugs in later), never below the watchlist size."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.errors import Conflict, NotFound
from stockdash.subscriptions import tiers
from stockdash.subscriptions.schemas import TierList, TierPublic
from stockdash.users.models import User
from stockdash.users.repository import SqlUserRepository
from stockdash.watchlist.repository import SqlWatchlistRepository


def list_tiers() -> TierList:
    """Every tier with its limits and models."""
    data = [
        TierPublic(
            tier=s.tier,
            name=s.name,
            max_stocks=s.max_stocks,
            models=list(s.models),
            description=s.description,
        )
        for s in (tiers.TIERS[t] for t in tiers.TIER_ORDER)
    ]
    return TierList(data=data, count=len(data))


async def change_tier(session: AsyncSession, user_id: int, tier: tiers.Tier) -> User:
    """Move a user to a tier; 409 (and no change) if they track more stocks than it allows."""
    user = await SqlUserRepository(session).lock(user_id)
    if user is None:
        raise NotFound("User not found.")
    tracked = await SqlWatchlistRepository(session).count(user_id)
    limit = tiers.max_stocks(tier)
    if tracked > limit:
        excess = tracked - limit
        raise Conflict(
            f"You track {tracked} stocks but the {tiers.spec(tier).name} plan allows {limit}: "
            f"remove {excess} stock{'s' if excess != 1 else ''} first.",
            code="watchlist_exceeds_tier",
            details={"tracked": tracked, "max_stocks": limit, "remove": excess},
        )
    user.subscription_tier = tier.value
    await session.commit()
    return user
