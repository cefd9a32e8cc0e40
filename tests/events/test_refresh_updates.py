"""The refresh publishes one `symbol.update` per refreshed symbol whose data changed."""

from __future__ import annotations

from typing import Any

from stockdash.events.bus import symbol_topic
from stockdash.jobs.refresh import RefreshReport, refresh_batch
from stockdash.subscriptions.tiers import Tier
from tests.conftest import UserFactory, WatchlistFactory


async def run_batch(container: Any, targets: dict[str, Tier]) -> RefreshReport:
    report = RefreshReport()
    await refresh_batch(
        sorted(targets),
        targets,
        container.market,
        container.analysis,
        report,
        container.cards,
        container.refresh_listeners,
    )
    return report


async def test_a_refresh_publishes_what_changed_once_per_symbol(
    app: Any, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    container = app.state.container
    await fill_watchlist(await make_user("pro"), ["AAPL", "MSFT"])
    bus = container.events
    start = await bus.latest_id()
    targets = {"AAPL": Tier.PRO, "MSFT": Tier.FREE}
    report = await run_batch(container, targets)
    assert sorted(report.refreshed) == ["AAPL", "MSFT"]
    replay = await bus.replay(start, {symbol_topic("AAPL"), symbol_topic("MSFT")})
    assert sorted(e.data["symbol"] for e in replay.events) == ["AAPL", "MSFT"]
    aapl = next(e for e in replay.events if e.data["symbol"] == "AAPL")
    assert aapl.type == "symbol.update"
    assert aapl.data["changed"] == ["quote", "scores", "signal"]  # first time seen
    assert aapl.data["quote"]["price"] is not None
    assert set(aapl.data["tiers"]) == {"free", "pro"}  # every tier up to the highest tracking it
    assert set(aapl.data["tiers"]["pro"]["scores"]) == {"basic", "warren_buffett", "peter_lynch"}
    msft = next(e for e in replay.events if e.data["symbol"] == "MSFT")
    assert set(msft.data["tiers"]) == {"free"}

    # The same data again: nothing changed, nothing published.
    latest = await bus.latest_id()
    await run_batch(container, targets)
    assert await bus.latest_id() == latest


async def test_no_updates_when_real_time_updates_are_off(settings: Any, snapshot: Any) -> None:
    from stockdash.container import build_container

    settings.feature_real_time_updates = False
    container = build_container(settings, snapshot=snapshot)
    try:
        # Alerts are still evaluated (in-app and email); nothing is pushed live.
        assert container.refresh_listeners == [container.alerts]
        assert container.notifier.bus is None
    finally:
        await container.aclose()
