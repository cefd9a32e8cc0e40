"""All queries on subscription events."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.subscriptions.models import SubscriptionEvent
from stockdash.subscriptions.tiers import TIER_ORDER


class SqlSubscriptionEventRepository:
    """Subscription events in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: SubscriptionEvent) -> SubscriptionEvent:
        """Insert an event and flush."""
        self.session.add(event)
        await self.session.flush()
        return event

    async def list_for_user(self, user_id: int) -> list[SubscriptionEvent]:
        """A user's tier changes, newest first."""
        stmt = (
            select(SubscriptionEvent)
            .where(SubscriptionEvent.user_id == user_id)
            .order_by(SubscriptionEvent.created_at.desc(), SubscriptionEvent.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())

    async def count_upgrades(self) -> int:
        """How many changes moved a user to a more generous tier."""
        pairs = [
            and_(SubscriptionEvent.from_tier == low.value, SubscriptionEvent.to_tier == high.value)
            for i, low in enumerate(TIER_ORDER)
            for high in TIER_ORDER[i + 1 :]
        ]
        stmt = select(func.count()).select_from(SubscriptionEvent).where(or_(*pairs))
        return int((await self.session.execute(stmt)).scalar_one())
