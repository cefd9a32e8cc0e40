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
from stockdash.notifications.repository import NotificationRecord, Recipient
from stockdash.notifications.service import NewNotification, Notifier
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact

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
        evaluated, fired, recorded = await transact(
            self.storage, lambda unit: self._evaluate(unit, snapshots)
        )
        self.stats.batches += 1
        self.stats.symbols += len(snapshots)
        self.stats.alert_queries += 1
        self.stats.alerts += evaluated
        self.stats.fired += len(fired)
        await self.notifier.deliver(recorded)

    async def _evaluate(
        self, unit: UnitOfWork, snapshots: Mapping[str, SymbolSnapshot]
    ) -> tuple[int, list[NewNotification], list[tuple[NotificationRecord, Recipient]]]:
        """Save the alerts whose state changed and record what fired (one transaction, run
        again from the start after a conflict); how many alerts were evaluated, what fired,
        what was recorded."""
        rows = await unit.alerts.to_evaluate(sorted(snapshots))
        fired: list[NewNotification] = []
        for alert, tier in rows:
            before = replace(alert)
            note = evaluate(alert, snapshots[alert.symbol], tier)
            if alert != before:  # only what changed is written
                await unit.alerts.save(alert)
            if note is not None:
                fired.append(note)
        return len(rows), fired, await self.notifier.record(unit, fired)
