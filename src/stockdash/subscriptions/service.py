"""Tier changes: approved by the billing provider, never below the watchlist size, always recorded."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from stockdash.core.errors import Conflict, NotFound
from stockdash.core.metrics import SUBSCRIPTION_CHANGES
from stockdash.storage.base import UnitOfWork
from stockdash.subscriptions import tiers
from stockdash.subscriptions.billing import BillingProvider, NoPaymentBilling, PaymentRequired
from stockdash.subscriptions.entities import NewSubscriptionEvent
from stockdash.subscriptions.schemas import (
    SubscriptionEventList,
    SubscriptionEventPublic,
    TierList,
    TierPublic,
)
from stockdash.users.records import UserRecord


def list_tiers() -> TierList:
    """Every tier with its limits and models."""
    data = [
        TierPublic(
            tier=s.tier,
            name=s.name,
            max_stocks=s.max_stocks,
            max_alerts=s.max_alerts,
            models=list(s.models),
            description=s.description,
        )
        for s in (tiers.TIERS[t] for t in tiers.TIER_ORDER)
    ]
    return TierList(data=data, count=len(data))


async def change_tier(
    unit: UnitOfWork,
    user_id: int,
    tier: tiers.Tier,
    *,
    billing: BillingProvider | None = None,
) -> UserRecord:
    """A user's own plan change: billing approves it, then it is applied and recorded (the
    caller commits); the user as changed."""
    user = await unit.users.lock(user_id)
    if user is None:
        raise NotFound("User not found.")
    current = tiers.Tier(user.subscription_tier)
    if current == tier:
        return user
    ensure_fits(user.username, await unit.watchlist.count(user.id), tier)
    decision = await (billing or NoPaymentBilling()).authorize_change(user, current, tier)
    if not decision.approved:
        raise PaymentRequired(
            decision.reason or "The payment for this plan was not approved.",
            details={"reference": decision.reference},
        )
    await unit.users.set_tier(user.id, tier.value)
    await unit.subscription_events.add(
        NewSubscriptionEvent(user.id, current.value, tier.value, changed_by_user_id=user_id)
    )
    unit.after_commit(partial(_count_change, current.value, tier.value))
    return replace(user, subscription_tier=tier.value)


def ensure_fits(username: str, tracked: int, tier: tiers.Tier) -> None:
    """409 if the user tracks more stocks than the tier allows."""
    limit = tiers.max_stocks(tier)
    if tracked > limit:
        excess = tracked - limit
        raise Conflict(
            f"{username} tracks {tracked} stocks but the {tiers.spec(tier).name} plan "
            f"allows {limit}: remove {excess} stock{'s' if excess != 1 else ''} first.",
            code="watchlist_exceeds_tier",
            details={"tracked": tracked, "max_stocks": limit, "remove": excess},
        )


async def apply_tier(
    unit: UnitOfWork, user: UserRecord, tier: tiers.Tier, *, changed_by: int | None
) -> UserRecord:
    """Set a locked user's tier and record the event (the caller commits); the user as changed
    (unchanged when the tier already is that one)."""
    if user.subscription_tier == tier.value:
        return user
    ensure_fits(user.username, await unit.watchlist.count(user.id), tier)
    event = NewSubscriptionEvent(user.id, user.subscription_tier, tier.value, changed_by)
    await unit.users.set_tier(user.id, tier.value)
    await unit.subscription_events.add(event)
    unit.after_commit(partial(_count_change, event.from_tier, event.to_tier))
    return replace(user, subscription_tier=tier.value)


def _count_change(from_tier: str, to_tier: str) -> None:
    """Count a plan change as an upgrade (a conversion) or a downgrade."""
    up = tiers.TIER_ORDER.index(tiers.Tier(to_tier)) > tiers.TIER_ORDER.index(tiers.Tier(from_tier))
    SUBSCRIPTION_CHANGES.labels("upgrade" if up else "downgrade", from_tier, to_tier).inc()


async def history(unit: UnitOfWork, user_id: int) -> SubscriptionEventList:
    """A user's tier changes, newest first."""
    events = await unit.subscription_events.list_for_user(user_id)
    data = [SubscriptionEventPublic.model_validate(e) for e in events]
    return SubscriptionEventList(data=data, count=len(data))
