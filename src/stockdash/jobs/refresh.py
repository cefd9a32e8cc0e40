"""The refresh pipeline: fetch every tracked symbol once, analyse it for its highest tier, store.

Plain async functions: the queued jobs (a cycle job fanning out into batch jobs, see
`stockdash.jobs.handlers`) and a direct in-process run (`run_refresh_cycle`, used by the
benchmarks and tests) execute the same `refresh_batch`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from stockdash.analysis.service import AnalysisService
from stockdash.analysis.store import AnalysisRun
from stockdash.core.errors import ServiceUnavailable
from stockdash.core.locks import Locks, ProcessLocalLocks
from stockdash.core.metrics import REFRESH_CYCLE_SECONDS, REFRESH_LAST_SUCCESS, REFRESH_SYMBOLS
from stockdash.dashboard.cards import CardStore
from stockdash.events.snapshots import SymbolSnapshot, take_snapshots
from stockdash.market.service import MarketService
from stockdash.market.types import ProviderError, UnknownSymbolError
from stockdash.storage.base import Storage
from stockdash.subscriptions import tiers
from stockdash.watchlist.service import tracked_symbols

logger = logging.getLogger(__name__)

QUOTE_BATCH = 100
CYCLE_LOCK = "refresh-cycle"


class RefreshListener(Protocol):
    """Told once per batch what the refreshed symbols look like now (live updates, alerts)."""

    async def refreshed(self, snapshots: Mapping[str, SymbolSnapshot]) -> None:
        """React to the batch's fresh snapshots."""
        ...


@dataclass
class RefreshReport:
    """What one cycle did."""

    symbols: int = 0
    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    analyses: int = 0
    seconds: float = 0.0
    skipped: bool = False
    cards_failed: int = 0
    # Seconds the refresh still leaves a failing live provider alone (skipped cycles, batches).
    backoff: float = 0.0


async def run_refresh_cycle(
    storage: Storage,
    market: MarketService,
    analysis: AnalysisService | None,
    *,
    locks: Locks | None = None,
    lock_seconds: float = 600.0,
    batch_size: int = QUOTE_BATCH,
    cards: CardStore | None = None,
    listeners: Sequence[RefreshListener] = (),
) -> RefreshReport:
    """One whole cycle in this process on `storage` (SQL or MongoDB); skipped when another
    holder of the cycle lock runs one."""
    report = RefreshReport()
    async with (locks or ProcessLocalLocks()).hold(CYCLE_LOCK, ttl=lock_seconds, wait=None) as held:
        if not held:
            report.skipped = True
            return report
        report.backoff = await market.refresh_wait()
        if report.backoff > 0:
            report.skipped = True
            logger.info("refresh cycle skipped: provider backing off %.0fs more", report.backoff)
            return report
        started = time.perf_counter()
        try:
            targets = await tracked_symbols(storage)
            report.symbols = len(targets)
            for batch in split_batches(targets, batch_size):
                await refresh_batch(batch, targets, market, analysis, report, cards, listeners)
        finally:
            report.seconds = time.perf_counter() - started
            REFRESH_CYCLE_SECONDS.observe(report.seconds)
            REFRESH_SYMBOLS.set(report.symbols)
        REFRESH_LAST_SUCCESS.set_to_current_time()  # only a cycle that got through
    log_report("refresh cycle", report)
    return report


def split_batches(targets: dict[str, tiers.Tier], size: int) -> list[list[str]]:
    """The tracked symbols in sorted batches of at most `size`."""
    symbols = sorted(targets)
    return [symbols[i : i + size] for i in range(0, len(symbols), size)]


def log_report(what: str, report: RefreshReport) -> None:
    """One log line for a cycle or batch."""
    logger.info(
        "%s: %d symbols, %d refreshed, %d failed, %d analyses in %.2fs",
        what,
        report.symbols,
        len(report.refreshed),
        len(report.failed),
        report.analyses,
        report.seconds,
    )


async def refresh_batch(
    batch: list[str],
    targets: dict[str, tiers.Tier],
    market: MarketService,
    analysis: AnalysisService | None,
    report: RefreshReport,
    cards: CardStore | None = None,
    listeners: Sequence[RefreshListener] = (),
) -> None:
    """Fetch, analyse and persist one batch: one transaction for everything it writes (quotes,
    fundamentals, analyses), not one per symbol and kind; then publish the batch's dashboard
    cards, built once here rather than on every dashboard request; then tell the listeners
    (live updates, alerts) what each refreshed symbol looks like now, once per symbol."""
    await _fetch_and_store(batch, targets, market, analysis, report)
    fresh = {s: targets[s] for s in sorted(set(batch) & set(report.refreshed))}
    if cards is not None and fresh:
        report.cards_failed += await cards.publish(fresh)
    if listeners and fresh:
        snapshots = await take_snapshots(fresh, market, analysis)
        for listener in listeners:
            try:
                await listener.refreshed(snapshots)
            except Exception:  # live updates or alerts failing must not fail the refresh
                logger.exception("refresh listener %s failed", type(listener).__name__)


async def _fetch_and_store(
    batch: list[str],
    targets: dict[str, tiers.Tier],
    market: MarketService,
    analysis: AnalysisService | None,
    report: RefreshReport,
) -> None:
    """The batch's data fetched, analysed and stored in one transaction."""
    backoff = await market.refresh_wait()
    if backoff > 0:
        # An earlier batch found the provider failing (in any process): leave it alone.
        report.backoff = backoff
        for symbol in batch:
            report.failed[symbol] = f"provider backing off {backoff:.0f}s, serving stale"
        return
    async with market.batched_writes(batch):
        try:
            await market.fetch_quotes(batch)
        except ProviderError as exc:
            # Users keep the last good (stale-marked) data; nothing is overwritten or lost.
            for symbol in batch:
                report.failed[symbol] = str(exc)
            await market.refresh_outcome(reached=isinstance(exc, UnknownSymbolError))
            return
        await market.refresh_outcome(reached=True)
        runs: dict[str, AnalysisRun] = {}
        for symbol in batch:
            try:
                if not await market.refresh_series(symbol):
                    # The provider failed; users keep the last good copy, marked stale.
                    report.failed[symbol] = (
                        "history or fundamentals: provider failed, serving stale"
                    )
                    continue
                if analysis is not None:
                    runs[symbol] = await analysis.run_for_tier(symbol, targets[symbol])
                    report.analyses += len(runs[symbol].analyses)
                report.refreshed.append(symbol)
            except (ProviderError, ServiceUnavailable) as exc:
                report.failed[symbol] = str(exc)
        if analysis is not None:
            await analysis.store.save(runs)
