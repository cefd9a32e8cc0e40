"""Prometheus metrics shared by the whole service, scraped at /metrics.

Several worker processes: set PROMETHEUS_MULTIPROC_DIR (before prometheus_client is imported,
i.e. in the environment the workers start with) to a directory the parent emptied with
`prepare_multiprocess_dir`. Every metric then also writes to a per-process file there
(prometheus_client picks its value class from the variable at import, whatever registry the
metric is on), and `render_metrics` serves the sum over all of them. Without the variable,
REGISTRY is served as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)

PROVIDER_REQUESTS = Counter(
    "stockdash_provider_requests_total",
    "Upstream market data requests by provider, endpoint and outcome.",
    ["provider", "endpoint", "status"],
    registry=REGISTRY,
)
CACHE_HITS = Counter(
    "stockdash_cache_hits_total", "Market data cache hits.", ["layer"], registry=REGISTRY
)
CACHE_MISSES = Counter(
    "stockdash_cache_misses_total", "Market data cache misses.", ["layer"], registry=REGISTRY
)
REFRESH_CYCLE_SECONDS = Histogram(
    "stockdash_refresh_cycle_seconds",
    "Wall time of one refresh cycle.",
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
# Only set(), once per refresh cycle, by whichever process ran that cycle, so successive
# cycles land in different workers. "mostrecent" reports the value set last by any
# process, i.e. the last cycle: "max" would keep showing an earlier, bigger cycle of another
# worker after watchlists shrink, and "sum"/"all" would add or list stale per-worker values.
# Not "livemostrecent": the last cycle's figure stays true after the worker that ran it exits.
REFRESH_SYMBOLS = Gauge(
    "stockdash_refresh_symbols",
    "Distinct symbols fetched in the last refresh cycle.",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
ANALYSIS_SECONDS = Histogram(
    "stockdash_analysis_seconds",
    "Time to run one analyst on one symbol.",
    ["model"],
    registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
PROVIDER_FETCHES = Counter(
    "stockdash_provider_fetches_total",
    "Logical market data fetches the service asked a provider for (one batched quote call counts once).",
    ["provider", "endpoint"],
    registry=REGISTRY,
)
JOBS = Counter(
    "stockdash_jobs_total",
    "Queued jobs by kind and outcome (succeeded, dead, duplicate: a redelivery found it done).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
SCHEDULER_TICKS = Counter(
    "stockdash_scheduler_ticks_total",
    "Refresh ticks by outcome (enqueued: a new cycle; duplicate: that interval already had one).",
    ["outcome"],
    registry=REGISTRY,
)

# When the last refresh cycle finished (unix time): `time() - this` is the refresh's age, which
# the RefreshCycleOverdue alert compares with stockdash_refresh_interval_seconds.
REFRESH_LAST_SUCCESS = Gauge(
    "stockdash_refresh_last_success_timestamp_seconds",
    "Unix time at which the last refresh cycle finished.",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)

# --- user metrics (the seed's registration rate, logins, plan changes) ------------------------
USER_REGISTRATIONS = Counter(
    "stockdash_user_registrations_total", "Accounts created.", registry=REGISTRY
)
USER_LOGINS = Counter(
    "stockdash_user_logins_total",
    "Password logins by outcome (success, failure).",
    ["outcome"],
    registry=REGISTRY,
)
# Both labels are tiers (three values), so at most nine series.
SUBSCRIPTION_CHANGES = Counter(
    "stockdash_subscription_changes_total",
    "Plan changes by direction (upgrade: a conversion; downgrade) and tiers.",
    ["direction", "from_tier", "to_tier"],
    registry=REGISTRY,
)

# --- system metrics beyond the HTTP instrumentator's ------------------------------------------
# "livesum": the requests in flight in the processes alive now.
HTTP_IN_FLIGHT = Gauge(
    "stockdash_http_requests_in_flight",
    "HTTP requests being served.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
# Hot reads: answered by the fast lane, or handed on to the full stack (unusual parameters, a
# token it cannot accept); a high hand-on share means the lane is not doing its job.
FAST_LANE = Counter(
    "stockdash_fast_lane_requests_total",
    "Hot-read requests by outcome: answered in the fast lane, or handed on to the full stack.",
    ["outcome"],
    registry=REGISTRY,
)
CACHE_SECONDS = Histogram(
    "stockdash_cache_seconds",
    "Shared (Redis) cache latency per round trip, by operation.",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
# Redis is an accelerator: its errors become cache misses and in-process rate limits.
REDIS_ERRORS = Counter(
    "stockdash_redis_errors_total",
    "Redis errors and timeouts by component (cache, locks, ratelimit); each one was survived.",
    ["component"],
    registry=REGISTRY,
)
REDIS_UP = Gauge(
    "stockdash_redis_up",
    "1 while a component reaches Redis, 0 during an outage (it falls back meanwhile).",
    ["component"],
    registry=REGISTRY,
    multiprocess_mode="livemin",
)
REDIS_TRACKING_LIVE = Gauge(
    "stockdash_redis_tracking_live",
    "1 while Redis client-side caching is set up (near copies trusted), 0 while reading Redis.",
    registry=REGISTRY,
    multiprocess_mode="livemin",
)
REDIS_TRACKING_PUSHES = Counter(
    "stockdash_redis_tracking_pushes_total",
    "Invalidation pushes from Redis (each drops the near copies of the keys it names).",
    registry=REGISTRY,
)
RATE_LIMIT_FALLBACKS = Counter(
    "stockdash_rate_limit_fallbacks_total",
    "Rate-limit checks made on the in-process storage because Redis was unreachable.",
    registry=REGISTRY,
)
DB_QUERY_SECONDS = Histogram(
    "stockdash_db_query_seconds",
    "Database statement latency.",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

# --- business metrics -------------------------------------------------------------------------
API_KEY_REQUESTS = Counter(
    "stockdash_api_key_requests_total",
    "Requests presenting an API key, by outcome (accepted, rejected).",
    ["outcome"],
    registry=REGISTRY,
)
# By tier, not by symbol: the per-symbol view is the top-N gauge computed at scrape time
# (stockdash.monitoring), which keeps the label set bounded whatever users track.
WATCHLIST_ADDS = Counter(
    "stockdash_watchlist_adds_total",
    "Symbols added to watchlists, by the user's tier.",
    ["tier"],
    registry=REGISTRY,
)
ANALYSES_SERVED = Counter(
    "stockdash_analyses_served_total",
    "Analyses returned to users, by analyst model.",
    ["model"],
    registry=REGISTRY,
)


def multiprocess_dir() -> Path | None:
    """The shared metrics directory when running in multiprocess mode, else None."""
    value = os.environ.get(MULTIPROC_DIR_ENV)
    return Path(value) if value else None


def render_metrics() -> bytes:
    """The text exposition: every process's metrics summed in multiprocess mode (a fresh
    registry per scrape, as prometheus_client prescribes), otherwise REGISTRY."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def prepare_multiprocess_dir(path: Path) -> None:
    """Create the shared metrics directory and drop the files of earlier runs. Call once in the
    parent before the workers start: leftover counters would be added to the new ones."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    """Forget a dead worker's live* gauges (call from the parent when a worker exits); its
    counters and histograms stay, so totals never go down. No-op outside multiprocess mode."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
