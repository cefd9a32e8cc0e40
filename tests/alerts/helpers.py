"""Snapshots with chosen values, and running the evaluator on them."""

from __future__ import annotations

from typing import Any

import httpx

from stockdash.events.snapshots import SymbolSnapshot, TierView
from stockdash.subscriptions.tiers import Tier
from tests.conftest import UserHandle


def snap(
    symbol: str = "AAPL",
    *,
    price: float | None = 100.0,
    change_percent: float | None = 0.5,
    basic: float | None = 50.0,
    consensus: float | None = 50.0,
    signal: str | None = "neutral",
) -> SymbolSnapshot:
    """A snapshot with these values (every tier sees the same scores)."""
    view = TierView(scores={"basic": basic}, consensus_score=consensus, signal=signal)
    return SymbolSnapshot(
        symbol=symbol,
        price=price,
        change=None,
        change_percent=change_percent,
        as_of=None,
        views=dict.fromkeys(Tier, view),
    )


async def evaluate(app: Any, *snapshots: SymbolSnapshot) -> None:
    """One refresh's evaluation of these snapshots."""
    await app.state.container.alerts.refreshed({s.symbol: s for s in snapshots})


async def add_alert(client: httpx.AsyncClient, user: UserHandle, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/alerts", json={"symbol": "AAPL", **body}, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def titles(client: httpx.AsyncClient, user: UserHandle) -> list[str]:
    """The user's notification titles, oldest first."""
    r = await client.get("/api/v1/notifications?size=100", headers=user.headers)
    assert r.status_code == 200, r.text
    return [n["title"] for n in reversed(r.json()["data"])]
