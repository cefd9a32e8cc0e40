"""The refresh pipeline: fetch every tracked symbol once, analyse it for its highest tier, store.

Written as plain async functions so the in-process scheduler and a separate worker process
(fed by a queue) run exactly the same code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.analysis.service import AnalysisService
from stockdash.core.errors import ServiceUnavailable
from stockdash.core.metrics import REFRESH_CYCLE_SECONDS, REFRESH_SYMBOLS
from stockdash.market.service import MarketService
from stockdash.market.types import ProviderError
from stockdash.subscriptions import tiers
from stockdash.watchlist.repository import SqlWatchlistRepository

logger = logging.getLogger(__name__)

QUOTE_BATCH = 100
CYCLE_LOCK_KEY = "lock:refresh-cycle"


@dataclass
class RefreshReport:
    """What one cycle did."""

    symbols: int = 0
    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    analyses: int = 0
    seconds: float = 0.0
    skipped: bool = False


async def tracked_symbols(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, tiers.Tier]:
    """Every symbol an active user tracks, with the highest tier tracking it."""
    async with sessionmaker() as session:
        tracked = await SqlWatchlistRepository(session).tracked_symbols()
    return {symbol: tiers.highest_tier(list(t)) for symbol, t in tracked.items()}


async def run_refresh_cycle(
    sessionmaker: async_sessionmaker[AsyncSession],
    market: MarketService,
    analysis: AnalysisService | None,
    *,
    lock_seconds: float = 600.0,
) -> RefreshReport:
    """One cycle; when several instances share Redis only one of them runs it."""
    report = RefreshReport()
    if not await market.cache.add(CYCLE_LOCK_KEY, "1", lock_seconds):
        report.skipped = True
        return report
    started = time.perf_counter()
    try:
        targets = await tracked_symbols(sessionmaker)
        report.symbols = len(targets)
        symbols = sorted(targets)
        for i in range(0, len(symbols), QUOTE_BATCH):
            # One transaction per batch for everything it persists (quotes, fundamentals,
            # analyses), not one per symbol and kind.
            batch = symbols[i : i + QUOTE_BATCH]
            async with market.batched_writes(batch):
                await _refresh_batch(batch, targets, market, analysis, report)
    finally:
        await market.cache.delete(CYCLE_LOCK_KEY)
        report.seconds = time.perf_counter() - started
        REFRESH_CYCLE_SECONDS.observe(report.seconds)
        REFRESH_SYMBOLS.set(report.symbols)
    logger.info(
        "refresh cycle: %d symbols, %d refreshed, %d failed, %d analyses in %.2fs",
        report.symbols,
        len(report.refreshed),
        len(report.failed),
        report.analyses,
        report.seconds,
    )
    return report


async def _refresh_batch(
    batch: list[str],
    targets: dict[str, tiers.Tier],
    market: MarketService,
    analysis: AnalysisService | None,
    report: RefreshReport,
) -> None:
    try:
        await market.fetch_quotes(batch)
    except ProviderError as exc:
        # Users keep the last good (stale-marked) data; nothing is overwritten or lost.
        for symbol in batch:
            report.failed[symbol] = str(exc)
        return
    payloads: dict[str, dict[str, Any]] = {}
    for symbol in batch:
        try:
            if not await market.refresh_series(symbol):
                # The provider failed; users keep the last good copy, marked stale.
                report.failed[symbol] = "history or fundamentals: provider failed, serving stale"
                continue
            if analysis is not None:
                payloads[symbol] = await analysis.analyses_payload(symbol, targets[symbol])
                report.analyses += len(payloads[symbol]["models"])
            report.refreshed.append(symbol)
        except (ProviderError, ServiceUnavailable) as exc:
            report.failed[symbol] = str(exc)
    await market.store_analyses(payloads)


async def run_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession],
    market: MarketService,
    analysis: AnalysisService | None,
    interval: float,
) -> None:
    """Run refresh cycles forever, every interval seconds (cancel the task to stop)."""
    while True:
        try:
            await run_refresh_cycle(sessionmaker, market, analysis)
        except asyncio.CancelledError:
            raise
        except Exception:  # the schedule must survive a bad cycle
            logger.exception("refresh cycle failed")
        await asyncio.sleep(interval)
