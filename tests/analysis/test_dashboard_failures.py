"""A stock whose market data fails shows an error card; the rest of the dashboard still loads."""

from __future__ import annotations

import httpx
import pytest

from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import ProviderError, Quote
from tests.conftest import UserFactory, WatchlistFactory

FAILING = "JPM"


class QuotelessSnapshot(SnapshotProvider):
    """The shipped snapshot, except that quotes for one symbol fail as a down upstream would."""

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        if FAILING in symbols:
            raise ProviderError(self.name, "upstream down", status=503)
        return await super().quote(symbols)


@pytest.fixture
def snapshot() -> SnapshotProvider:
    """Overrides the session snapshot for this module only."""
    return QuotelessSnapshot()


@pytest.mark.parametrize("view", ["full", "summary"])
async def test_one_failing_card_does_not_blank_the_dashboard(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    view: str,
) -> None:
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL", FAILING])
    r = await client.get(f"/api/v1/dashboard?view={view}", headers=user.headers)
    assert r.status_code == 200, r.text
    items = {item["symbol"]: item for item in r.json()["data"]}
    assert items["AAPL"]["error"] is None and items["AAPL"]["analysis"] is not None
    assert items["AAPL"]["quote"]["price"] > 0
    failed = items[FAILING]
    assert failed["error"] and failed["quote"] is None
    assert failed["analysis"] is None and failed["sparkline"] == []
