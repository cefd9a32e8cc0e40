"""Alert evaluation inside the refresh: per batch, one query loads every enabled alert on the
batch's symbols (with its owner's tier), each is judged against its symbol's snapshot, and what
fired becomes notifications in the same transaction.

The market data and analyses are looked at once per distinct symbol (the snapshot the refresh
built), never per alert; `stats` counts symbols, alerts and queries so tests can show it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from stockdash.alerts.service import evaluate
from stockdash.events.snapshots import SymbolSnapshot
from stockdash.notifications.service import NewNotification, Notifier
from stockdash.storage.base import Storage

logger = logging.getLogger(__name__)


@dataclass
class EvaluationStats:
    """What the evaluations in this process did (counts since start)."""

    batches: int = 0
    symbols: int = 0
    alerts: int = 0
    fired: int = 0
    alert_queries: int = 0


class AlertEvaluator:
    """Judges alerts against fresh snapshots (a refresh listener)."""

    def __init__(self, storage: Storage, notifier: Notifier) -> None:
        self.storage = storage
        self.notifier = notifier
        self.stats = EvaluationStats()

    async def refreshed(self, snapshots: Mapping[str, SymbolSnapshot]) -> None:
        """Evaluate the alerts on these symbols; record and deliver what fired."""
        if not snapshots:
            return
        async with self.storage.unit() as unit:
            rows = await unit.alerts.to_evaluate(sorted(snapshots))
            self.stats.batches += 1
            self.stats.symbols += len(snapshots)
            self.stats.alert_queries += 1
            self.stats.alerts += len(rows)
            fired: list[NewNotification] = []
            for alert, tier in rows:
                before = replace(alert)
                note = evaluate(alert, snapshots[alert.symbol], tier)
                if alert != before:  # only what changed is written
                    await unit.alerts.save(alert)
                if note is not None:
                    fired.append(note)
            recorded = await self.notifier.record(unit, fired)
            await unit.commit()
        self.stats.fired += len(fired)
        await self.notifier.deliver(recorded)
