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
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.analysis.performance import DEFAULT_RESULTS_PATH, ModelPerformance, load_report
from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import NotFound
from stockdash.jobs.models import JobRow
from stockdash.jobs.store import JobKind
from stockdash.subscriptions.tiers import TIER_ORDER
from stockdash.users.models import RefreshToken, User
from stockdash.watchlist.models import UserStock

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


async def render_snapshot(
    factory: async_sessionmaker[AsyncSession], settings: Settings, top_n: int
) -> bytes:
    """The scrape-time families in the text format; `stockdash_metrics_db_up` 0 when the
    database did not answer within READINESS_TIMEOUT_SECONDS (the scrape itself never fails)."""
    families = [_refresh_interval(settings), *_model_performance()]
    up = GaugeMetricFamily(
        "stockdash_metrics_db_up", "1 if the scrape-time database figures could be read."
    )
    try:
        async with asyncio.timeout(settings.readiness_timeout_seconds):
            families += await _database_families(factory, top_n)
        up.add_metric([], 1)
    except (SQLAlchemyError, OSError, TimeoutError):
        logger.warning("metrics: the database figures could not be read", exc_info=True)
        up.add_metric([], 0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([*families, up]))
    return generate_latest(registry)


async def _database_families(factory: async_sessionmaker[AsyncSession], top_n: int) -> list[Metric]:
    """Users by tier, active users by window, queue depth, the most watched symbols."""
    async with factory() as session:
        return [
            await _users_by_tier(session),
            await _active_users(session),
            await _queue_depth(session),
            await _top_symbols(session, top_n),
        ]


async def _users_by_tier(session: AsyncSession) -> Metric:
    rows = dict(
        (
            await session.execute(
                select(User.subscription_tier, func.count())
                .where(User.is_active.is_(True))
                .group_by(User.subscription_tier)
            )
        ).all()
    )
    family = GaugeMetricFamily(
        "stockdash_users", "Active accounts by subscription tier.", labels=["tier"]
    )
    for tier in TIER_ORDER:
        family.add_metric([tier.value], rows.get(tier.value, 0))
    return family


async def _active_users(session: AsyncSession) -> Metric:
    """Distinct users who signed in or renewed a session (a refresh token) within each window."""
    family = GaugeMetricFamily(
        "stockdash_active_users",
        "Distinct users with a session started or renewed within the window.",
        labels=["window"],
    )
    now = utcnow()
    for name, span in ACTIVE_WINDOWS.items():
        count = await session.scalar(
            select(func.count(func.distinct(RefreshToken.user_id))).where(
                RefreshToken.created_at >= now - span
            )
        )
        family.add_metric([name], count or 0)
    return family


async def _queue_depth(session: AsyncSession) -> Metric:
    """Jobs waiting for a worker, by kind (every kind listed, so a backlog alert sees zeros)."""
    rows = dict(
        (
            await session.execute(
                select(JobRow.kind, func.count())
                .where(JobRow.status == "queued")
                .group_by(JobRow.kind)
            )
        ).all()
    )
    family = GaugeMetricFamily(
        "stockdash_queue_depth", "Jobs queued and not yet started, by kind.", labels=["kind"]
    )
    for kind in JobKind:
        family.add_metric([kind.value], rows.get(kind.value, 0))
    return family


async def _top_symbols(session: AsyncSession, top_n: int) -> Metric:
    """The N most watched symbols: at most N series, whatever users track."""
    watchers = func.count().label("watchers")
    rows = (
        await session.execute(
            select(UserStock.symbol, watchers)
            .group_by(UserStock.symbol)
            .order_by(watchers.desc(), UserStock.symbol)
            .limit(top_n)
        )
    ).all()
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
