"""HTTP metrics (prometheus-fastapi-instrumentator) and database statement timing (SQL
statements, MongoDB commands)."""

from __future__ import annotations

import time
from typing import Any

from cachetools import LRUCache
from fastapi import FastAPI, Request
from prometheus_client import start_http_server
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware
from pymongo import monitoring
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware

from stockdash.core.metrics import DB_QUERY_SECONDS, REGISTRY

# Route templates, not raw paths, are the handler label (bounded); status grouped as 2xx..5xx.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Created once per process: the instrumentator's metric factories return None for a metric that
# is already registered, so a second app in the same process (tests) would record nothing.
_HTTP_METRICS = [
    metrics.requests(registry=REGISTRY),
    metrics.latency(buckets=LATENCY_BUCKETS, registry=REGISTRY),
]
_OPERATIONS = frozenset({"select", "insert", "update", "delete"})
_STARTED = "stockdash_query_started"
# MongoDB commands under the SQL operation they stand for, so one metric (and its dashboards and
# alerts) describes either backend; the counters' findAndModify is an update.
_MONGO_OPERATIONS = {
    "find": "select",
    "getMore": "select",
    "aggregate": "select",
    "count": "select",
    "distinct": "select",
    "insert": "insert",
    "update": "update",
    "findAndModify": "update",
    "delete": "delete",
}


class _MemoisedRouteMiddleware(PrometheusInstrumentatorMiddleware):
    """The library's middleware, resolving a (method, path) to its route template once: the
    library matches the request against every route again on each request, which costs more
    than a cached request itself. Bounded: paths come from clients."""

    _templates: LRUCache[tuple[str, str], tuple[str, bool]] = LRUCache(4096)

    def _get_handler(self, request: Request) -> tuple[str, bool]:
        key = (request.method, request.scope["path"])
        found = self._templates.get(key)
        if found is None:
            found = self._templates[key] = super()._get_handler(request)
        return found


def observe_http(handler: str, method: str, status: int, seconds: float) -> None:
    """Count and time a request answered outside the instrumented stack (the fast lane), with
    the same metrics and labels the instrumentator gives it."""
    info = metrics.Info(
        request=None,  # type: ignore[arg-type]  # the metrics used here read labels only
        response=None,
        method=method,
        modified_handler=handler,
        modified_status=f"{str(status)[0]}xx",
        modified_duration=seconds,
        modified_duration_without_streaming=seconds,
    )
    for metric in _HTTP_METRICS:
        if metric is not None:
            metric(info)


def instrument_http(app: FastAPI) -> None:
    """Request count and latency by route template, method and status class."""
    # Its in-progress gauge is off: it registers on prometheus_client's global registry once per
    # app (a second app in one process fails); HTTP_IN_FLIGHT counts requests in flight instead.
    instrumentator = Instrumentator(
        should_group_status_codes=True,
        should_group_untemplated=True,
        excluded_handlers=["/metrics"],
        registry=REGISTRY,
    )
    for metric in _HTTP_METRICS:
        if metric is not None:
            instrumentator.add(metric)
    instrumentator.instrument(app)
    app.user_middleware = [_memoised(m) for m in app.user_middleware]


def _memoised(entry: Middleware) -> Middleware:
    """The instrumentator's middleware entry with the memoising subclass (others unchanged)."""
    cls: Any = entry.cls
    if cls is not PrometheusInstrumentatorMiddleware:
        return entry
    memoised: Any = _MemoisedRouteMiddleware
    return Middleware(memoised, *entry.args, **entry.kwargs)


def time_queries(engine: AsyncEngine) -> None:
    """Observe every statement's latency by operation (select, insert, update, delete, other)."""
    sync_engine = engine.sync_engine
    if event.contains(sync_engine, "before_cursor_execute", _before):
        return
    event.listen(sync_engine, "before_cursor_execute", _before)
    event.listen(sync_engine, "after_cursor_execute", _after)


def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    conn.info.setdefault(_STARTED, []).append(time.perf_counter())


def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    started = conn.info.get(_STARTED)
    if not started:
        return
    verb = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else ""
    DB_QUERY_SECONDS.labels(verb if verb in _OPERATIONS else "other").observe(
        time.perf_counter() - started.pop()
    )


class MongoCommandTimer(monitoring.CommandListener):
    """Observe every MongoDB command's latency by operation, as `time_queries` does for SQL."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Nothing to do: the finished events carry the duration."""

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Observe a command that succeeded."""
        _observe_command(event.command_name, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Observe a command that failed (a duplicate key, a timeout: it still took time)."""
        _observe_command(event.command_name, event.duration_micros)


def _observe_command(name: str, micros: int) -> None:
    DB_QUERY_SECONDS.labels(_MONGO_OPERATIONS.get(name, "other")).observe(micros / 1_000_000)


def serve_metrics(port: int) -> None:
    """A worker's or scheduler's own /metrics (job outcomes, refresh timings), on a thread."""
    start_http_server(port, addr="0.0.0.0", registry=REGISTRY)  # noqa: S104 - scraped from outside
