"""A refresh that lands new data reaches every dashboard on the next request, memoised or not."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from stockdash.jobs.refresh import run_refresh_cycle
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import Quote
from tests.conftest import UserFactory, WatchlistFactory


class MovingSnapshot(SnapshotProvider):
    """The shipped snapshot, whose quotes rise by `bump` dollars (a market that moved)."""

    bump = 0.0

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        quotes = await super().quote(symbols)
        return {s: dataclasses.replace(q, price=q.price + self.bump) for s, q in quotes.items()}


@pytest.fixture
def snapshot() -> SnapshotProvider:
    """Overrides the session snapshot for this module only."""
    return MovingSnapshot()


@pytest.mark.parametrize("view", ["summary", "full"])
async def test_refreshed_data_replaces_a_memoised_dashboard(
    app: Any,
    client: httpx.AsyncClient,
    snapshot: MovingSnapshot,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    view: str,
) -> None:
    container = app.state.container
    user = await make_user("pro")
    await fill_watchlist(user, ["KO", "PEP"])
    url = f"/api/v1/dashboard?view={view}"
    before = [(await client.get(url, headers=user.headers)).json() for _ in range(3)]
    assert before[0] == before[1] == before[2]  # built, then stored, then memoised
    prices = {i["symbol"]: i["quote"]["price"] for i in before[0]["data"]}

    snapshot.bump = 10.0
    report = await run_refresh_cycle(
        container.storage, container.market, container.analysis, cards=container.cards
    )
    assert sorted(report.refreshed) == ["KO", "PEP"] and report.cards_failed == 0

    after = (await client.get(url, headers=user.headers)).json()
    for item in after["data"]:
        assert item["quote"]["price"] == pytest.approx(prices[item["symbol"]] + 10.0)
        stock = await client.get(f"/api/v1/stocks/{item['symbol']}", headers=user.headers)
        assert item["quote"] == stock.json()
