"""Figures read from the database at scrape time: shared by every process, so correct however
many API or worker processes there are, and with labels bounded by construction (tiers, windows,
job kinds, analyst models, the top-N symbols)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.errors import PyMongoError
from sqlalchemy.exc import SQLAlchemyError

from stockdash.analysis.performance import DEFAULT_RESULTS_PATH, ModelPerformance, load_report
from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import NotFound
from stockdash.jobs.store import JobKind
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.subscriptions.tiers import TIER_ORDER

logger = logging.getLogger(__name__)

ACTIVE_WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


class _Families(Collector):
    """A one-off collector over families computed before the scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        """The precomputed families."""
        return self.families


async def render_snapshot(storage: Storage, settings: Settings, top_n: int) -> bytes:
    """The scrape-time families in the text format; `stockdash_metrics_db_up` 0 when the
    database did not answer within READINESS_TIMEOUT_SECONDS (the scrape itself never fails)."""
    families = [_refresh_interval(settings), *_model_performance()]
    up = GaugeMetricFamily(
        "stockdash_metrics_db_up", "1 if the scrape-time database figures could be read."
    )
    try:
        async with asyncio.timeout(settings.readiness_timeout_seconds):
            families += await _database_families(storage, top_n)
        up.add_metric([], 1)
    except (SQLAlchemyError, PyMongoError, OSError, TimeoutError):
        logger.warning("metrics: the database figures could not be read", exc_info=True)
        up.add_metric([], 0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([*families, up]))
    return generate_latest(registry)


async def _database_families(storage: Storage, top_n: int) -> list[Metric]:
    """Users by tier, active users by window, queue depth, the most watched symbols."""
    async with storage.unit(read_only=True) as unit:
        return [
            await _users_by_tier(unit),
            await _active_users(unit),
            _queue_depth(await storage.job_store().queued_by_kind()),
            await _top_symbols(unit, top_n),
        ]


async def _users_by_tier(unit: UnitOfWork) -> Metric:
    rows = await unit.admin.users_by_tier(active_only=True)
    family = GaugeMetricFamily(
        "stockdash_users", "Active accounts by subscription tier.", labels=["tier"]
    )
    for tier in TIER_ORDER:
        family.add_metric([tier.value], rows.get(tier.value, 0))
    return family


async def _active_users(unit: UnitOfWork) -> Metric:
    """Distinct users who signed in or renewed a session (a refresh token) within each window."""
    family = GaugeMetricFamily(
        "stockdash_active_users",
        "Distinct users with a session started or renewed within the window.",
        labels=["window"],
    )
    now = utcnow()
    for name, span in ACTIVE_WINDOWS.items():
        family.add_metric([name], await unit.refresh_tokens.users_with_sessions_since(now - span))
    return family


def _queue_depth(rows: dict[str, int]) -> Metric:
    """Jobs waiting for a worker, by kind (every kind listed, so a backlog alert sees zeros)."""
    family = GaugeMetricFamily(
        "stockdash_queue_depth", "Jobs queued and not yet started, by kind.", labels=["kind"]
    )
    for kind in JobKind:
        family.add_metric([kind.value], rows.get(kind.value, 0))
    return family


async def _top_symbols(unit: UnitOfWork, top_n: int) -> Metric:
    """The N most watched symbols: at most N series, whatever users track."""
    rows = await unit.admin.most_tracked(top_n)
    family = GaugeMetricFamily(
        "stockdash_watchlist_symbol_watchers",
        f"Watchlists holding the symbol, for the {top_n} most watched symbols.",
        labels=["symbol"],
    )
    for symbol, count in rows:
        family.add_metric([symbol], count)
    return family


def _refresh_interval(settings: Settings) -> Metric:
    return GaugeMetricFamily(
        "stockdash_refresh_interval_seconds",
        "The configured refresh interval (REFRESH_INTERVAL_SECONDS).",
        value=settings.refresh_interval_seconds,
    )


def _model_performance() -> list[Metric]:
    """Each analyst's backtest rank IC and hit rate (`stockdash backtest`): model performance."""
    ic = GaugeMetricFamily(
        "stockdash_model_backtest_rank_ic",
        "Mean monthly rank information coefficient of the model's score in the stored backtest.",
        labels=["model"],
    )
    hit = GaugeMetricFamily(
        "stockdash_model_backtest_hit_rate",
        "Share of months in which the model's top quintile beat the universe (stored backtest).",
        labels=["model"],
    )
    for model in _report_models():
        if model.rank_ic is not None:
            ic.add_metric([model.model], model.rank_ic)
        if model.hit_rate is not None:
            hit.add_metric([model.model], model.hit_rate)
    return [ic, hit]


def _report_models() -> list[ModelPerformance]:
    """The stored backtest's models; none before the first `stockdash backtest`."""
    try:
        return _models_at(DEFAULT_RESULTS_PATH.stat().st_mtime_ns)
    except (FileNotFoundError, NotFound):
        return []


@functools.lru_cache(maxsize=1)
def _models_at(mtime_ns: int) -> list[ModelPerformance]:
    """Parsed once per version of the file (keyed by its modification time), not per scrape."""
    return list(load_report(DEFAULT_RESULTS_PATH).models)
