"""Prometheus metrics shared by the whole service, scraped at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
REFRESH_SYMBOLS = Gauge(
    "stockdash_refresh_symbols",
    "Distinct symbols fetched in the last refresh cycle.",
    registry=REGISTRY,
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
