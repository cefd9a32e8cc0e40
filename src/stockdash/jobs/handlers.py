"""What each kind of job does, and the scheduler's tick; built on the container's services."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from stockdash.analysis.backtest import Assumptions, BacktestResult, Progress, run_backtest
from stockdash.core.db import utcnow
from stockdash.core.metrics import (
    REFRESH_CYCLE_SECONDS,
    REFRESH_LAST_SUCCESS,
    REFRESH_SYMBOLS,
    SCHEDULER_TICKS,
)
from stockdash.jobs.refresh import RefreshReport, log_report, refresh_batch, split_batches
from stockdash.jobs.runner import DeadLetterHook, Handler, JobContext
from stockdash.jobs.store import JobKind
from stockdash.notifications.email import Email
from stockdash.subscriptions import tiers
from stockdash.watchlist.service import tracked_symbols

if TYPE_CHECKING:
    from stockdash.container import Container

logger = logging.getLogger(__name__)


def cycle_dedup_key(interval: int, now: float) -> str:
    """One refresh cycle per interval slot, however many schedulers tick."""
    return f"refresh-cycle:{interval}:{int(now // interval)}"


async def refresh_tick(container: Container, sent_at: float | None = None) -> None:
    """The scheduler's periodic task: enqueue the refresh cycle of the interval it was sent in
    (once, however many schedulers sent one)."""
    interval = max(1, container.settings.refresh_interval_seconds)
    when = time.time() if sent_at is None else sent_at
    # The cycle records when its tick was sent: that is the scheduler's doing; when the row
    # appears also depends on how soon a worker ran the tick.
    _, created = await container.queue.submit(
        JobKind.REFRESH_CYCLE, {"sent_at": when}, dedup_key=cycle_dedup_key(interval, when)
    )
    SCHEDULER_TICKS.labels("enqueued" if created else "duplicate").inc()


def build_handlers(container: Container) -> dict[JobKind, Handler]:
    """Every job kind's handler."""

    async def refresh_cycle(ctx: JobContext) -> dict[str, Any]:
        backoff = await container.market.refresh_wait()
        if backoff > 0:
            # The live provider is failing or asked to wait: no batches until it may be asked.
            logger.info("refresh cycle skipped: provider backing off %.0fs more", backoff)
            return {"skipped": "provider_backoff", "seconds_left": round(backoff, 1)}
        started = time.perf_counter()
        targets = await tracked_symbols(container.storage)
        batches = split_batches(targets, container.settings.refresh_batch_size)
        REFRESH_SYMBOLS.set(len(targets))
        await ctx.progress(symbols=len(targets), batches=len(batches), enqueued=0)
        for i, batch in enumerate(batches):
            await container.queue.enqueue(
                JobKind.REFRESH_BATCH,
                {"symbols": batch, "tiers": {s: targets[s].value for s in batch}},
                dedup_key=f"refresh-batch:{ctx.job.id}:{i}",
                parent_id=ctx.job.id,
            )
            await ctx.progress(symbols=len(targets), batches=len(batches), enqueued=i + 1)
        retention = timedelta(days=container.settings.job_retention_days)
        purged = await container.jobs.purge_finished(utcnow() - retention)
        digests = await _send_digests(container)
        REFRESH_CYCLE_SECONDS.observe(time.perf_counter() - started)
        REFRESH_LAST_SUCCESS.set_to_current_time()
        return {
            "symbols": len(targets),
            "batches": len(batches),
            "purged_jobs": purged,
            "digests": digests,
        }

    async def refresh_one_batch(ctx: JobContext) -> dict[str, Any]:
        symbols: list[str] = list(ctx.job.params["symbols"])
        targets = {s: tiers.Tier(t) for s, t in ctx.job.params["tiers"].items()}
        report = RefreshReport(symbols=len(symbols))
        started = time.perf_counter()
        await refresh_batch(
            symbols,
            targets,
            container.market,
            container.analysis,
            report,
            container.cards,
            container.refresh_listeners,
        )
        report.seconds = time.perf_counter() - started
        log_report(f"refresh batch {ctx.job.id}", report)
        return {
            "symbols": report.symbols,
            "refreshed": report.refreshed,
            "failed": report.failed,
            "analyses": report.analyses,
            "seconds": round(report.seconds, 3),
        }

    async def warm_analysis(ctx: JobContext) -> dict[str, Any]:
        symbol, tier = ctx.job.params["symbol"], ctx.job.params["tier"]
        # A job may wait for the provider: it fetches what user requests gave up waiting for.
        with container.market.in_background():
            await container.analysis.warm(symbol, tier)
        return {"symbol": symbol}

    async def send_email(ctx: JobContext) -> dict[str, Any]:
        if ctx.payload is None:
            raise ValueError("the email's content was not in the message")
        await container.delivery_sender.send(Email(**ctx.payload))
        return {"to": ctx.payload["to"]}

    async def backtest(ctx: JobContext) -> dict[str, Any]:
        return await run_backtest_job(container, ctx)

    return {
        JobKind.REFRESH_CYCLE: refresh_cycle,
        JobKind.REFRESH_BATCH: refresh_one_batch,
        JobKind.WARM_ANALYSIS: warm_analysis,
        JobKind.SEND_EMAIL: send_email,
        JobKind.BACKTEST: backtest,
    }


async def _send_digests(container: Container) -> int:
    """Queue the alert digest emails that are due (once per cycle; failures only logged)."""
    try:
        return await container.notifier.send_digests()
    except Exception:  # digests wait for the next cycle; the refresh goes on
        logger.exception("sending notification digests failed")
        return 0


def build_dead_letter_hooks(container: Container) -> Mapping[JobKind, DeadLetterHook]:
    """What to do when a kind of job has spent its retries (besides listing it as dead)."""

    async def email_to_outbox(ctx: JobContext, error: BaseException) -> None:
        # The outbox stays the fallback: an email SMTP would not take is kept, not lost.
        if ctx.payload is not None:
            await container.outbox.send(Email(**ctx.payload))

    return {JobKind.SEND_EMAIL: email_to_outbox}


async def run_backtest_job(container: Container, ctx: JobContext) -> dict[str, Any]:
    """A point-in-time backtest with progress; the summary is the job's result."""
    params = ctx.job.params
    loop = asyncio.get_running_loop()
    reported = {"at": 0.0}
    cancelled = threading.Event()
    pending: list[concurrent.futures.Future[None]] = []

    def progress(done: int, total: int) -> None:
        # Called from the backtest's worker thread once a month simulated: stop there when the
        # job was cancelled (a thread cannot be cancelled from outside), and hand the update to
        # the event loop, at most a few per second.
        if cancelled.is_set():
            raise InterruptedError("backtest cancelled")
        now = time.monotonic()
        if done < total and now - reported["at"] < 0.5:
            return
        reported["at"] = now
        update = ctx.progress(stage="simulating", done=done, total=total)
        pending.append(asyncio.run_coroutine_threadsafe(update, loop))

    await ctx.progress(stage="loading", done=0, total=None)
    try:
        result = await _backtest(container, params, progress)
    except asyncio.CancelledError:
        cancelled.set()
        raise
    # Let the thread's last updates land first, so "done" is the final word.
    await asyncio.gather(*(asyncio.wrap_future(f) for f in pending))
    await ctx.progress(stage="done", done=result.rebalances, total=result.rebalances)
    return {
        "period_start": result.period_start.isoformat(),
        "period_end": result.period_end.isoformat(),
        "rebalances": result.rebalances,
        "seconds": round(result.seconds, 1),
        "models": [m.figures().model_dump(mode="json") for m in result.models],
    }


async def _backtest(
    container: Container, params: dict[str, Any], progress: Progress
) -> BacktestResult:
    return await run_backtest(
        container.market.snapshot,
        start=date.fromisoformat(params["start"]) if params.get("start") else None,
        end=date.fromisoformat(params["end"]) if params.get("end") else None,
        transaction_cost_bps=float(params.get("cost_bps", 10.0)),
        progress=progress,
        assumptions=Assumptions.from_settings(container.settings),
    )
