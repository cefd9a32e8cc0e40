"""All queries on alerts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Exists

from stockdash.alerts.models import Alert
from stockdash.users.models import User
from stockdash.watchlist.models import UserStock


def _watched() -> Exists:
    """Whether the alert's owner has its symbol on their watchlist (correlated EXISTS)."""
    return (
        exists()
        .where(UserStock.user_id == Alert.user_id, UserStock.symbol == Alert.symbol)
        .correlate(Alert)
    )


class SqlAlertRepository:
    """Alerts in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(
        self, user_id: int, symbol: str | None = None
    ) -> list[tuple[Alert, bool]]:
        """A user's alerts, newest first, each with whether its symbol is on their watchlist."""
        stmt = select(Alert, _watched()).where(Alert.user_id == user_id)
        if symbol is not None:
            stmt = stmt.where(Alert.symbol == symbol)
        rows = await self.session.execute(stmt.order_by(Alert.id.desc()))
        return [(alert, bool(watched)) for alert, watched in rows.all()]

    async def get(self, user_id: int, alert_id: int) -> Alert | None:
        """One of the user's alerts (None for anyone else's)."""
        stmt = select(Alert).where(Alert.id == alert_id, Alert.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count(self, user_id: int) -> int:
        """How many alerts the user has."""
        stmt = select(func.count()).select_from(Alert).where(Alert.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def watched(self, user_id: int, symbol: str) -> bool:
        """Whether the symbol is on the user's watchlist."""
        stmt = select(UserStock.id).where(UserStock.user_id == user_id, UserStock.symbol == symbol)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def to_evaluate(self, symbols: Sequence[str]) -> list[tuple[Alert, str]]:
        """Every enabled alert on these symbols whose owner still watches the symbol (the others
        are paused), with the owner's tier: one query, however many alerts there are."""
        stmt = (
            select(Alert, User.subscription_tier)
            .join(User, User.id == Alert.user_id)
            .where(Alert.symbol.in_(list(symbols)), Alert.enabled.is_(True), User.is_active)
            .where(_watched())
            .order_by(Alert.id)
        )
        return [(a, str(t)) for a, t in (await self.session.execute(stmt)).all()]
