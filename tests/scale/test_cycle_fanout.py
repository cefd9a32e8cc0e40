"""A refresh cycle whose worker was killed mid fan-out loses no batch when it runs again.

The cycle records each batch (a row with a dedup key) and then sends its message. A `kill -9`
between the two left the batch `queued` forever: the cycle's redelivered run found the dedup key
taken and sent nothing (seen in the cluster tests: one batch of the cycle never ran). In-process
and deterministic: the first run's leftovers are made by hand, the run again is the handler.
"""

from __future__ import annotations

from typing import Any

import pytest

from stockdash.jobs.handlers import build_handlers
from stockdash.jobs.runner import JobContext
from stockdash.jobs.store import Job, JobKind
from tests.conftest import UserFactory, WatchlistFactory


async def test_a_cycle_run_again_sends_the_batch_its_first_run_recorded_but_not_sent(
    app: Any,
    make_user: UserFactory,
    fill_watchlist: WatchlistFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container = app.state.container
    await fill_watchlist(await make_user("expert"), ["AAPL", "MSFT"])
    monkeypatch.setattr(container.settings, "refresh_batch_size", 1)
    store = container.jobs
    cycle, _ = await store.create(JobKind.REFRESH_CYCLE, {}, dedup_key="cycle-under-test")

    # What the first run left: batch 0 recorded, its message never sent; batch 1 sent and
    # running on another worker.
    def batch(i: int, symbol: str) -> dict[str, Any]:
        return {
            "kind": JobKind.REFRESH_BATCH,
            "params": {"symbols": [symbol], "tiers": {symbol: "expert"}},
            "dedup_key": f"refresh-batch:{cycle.id}:{i}",
            "parent_id": cycle.id,
        }

    unsent, _ = await store.create(**batch(0, "AAPL"))
    running, _ = await store.create(**batch(1, "MSFT"))
    assert await store.claim(running.id, "other-host:1", stale_after=60) is not None

    sent: list[str] = []

    async def send(job: Job, payload: dict[str, Any] | None = None) -> None:
        sent.append(job.id)

    monkeypatch.setattr(container.queue, "send", send)
    refresh_cycle = build_handlers(container)[JobKind.REFRESH_CYCLE]
    result = await refresh_cycle(JobContext(cycle, store))

    assert result["batches"] == 2
    assert sent == [unsent.id]  # the running one is not sent again
    _, total = await store.list(kind=JobKind.REFRESH_BATCH, parent_id=cycle.id)
    assert total == 2
