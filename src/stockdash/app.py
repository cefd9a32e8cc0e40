"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from stockdash import __version__
from stockdash.admin.router import router as admin_router
from stockdash.alerts.router import router as alerts_router
from stockdash.analysis import router as analysis_api
from stockdash.analysis.performance import router as performance_router
from stockdash.analysis.router import router as analysis_router
from stockdash.apikeys.router import router as apikeys_router
from stockdash.container import Container, build_container
from stockdash.core.config import Settings, get_settings
from stockdash.core.docs import mount_docs
from stockdash.core.errors import document_validation_errors, install_error_handlers
from stockdash.core.fastlane import FastLane, HotRoute
from stockdash.core.health import router as health_router
from stockdash.core.middleware import (
    InvalidTextMiddleware,
    RequestSizeLimitMiddleware,
    SecureHeadersFastAPI,
)
from stockdash.core.spa import mount_frontend
from stockdash.dashboard import router as dashboard_api
from stockdash.dashboard.router import router as dashboard_router
from stockdash.events.router import router as events_router
from stockdash.jobs.broker import BrokerUnavailable
from stockdash.jobs.roles import run_schedule, start_broker
from stockdash.market import router as market_api
from stockdash.market.router import router as market_router
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.monitoring.instrument import instrument_http, observe_http, time_queries
from stockdash.monitoring.logs import AccessLogMiddleware, configure_logging
from stockdash.monitoring.router import router as metrics_router
from stockdash.monitoring.sentry import init_sentry
from stockdash.notifications.router import router as notifications_router
from stockdash.subscriptions.billing import BillingProvider
from stockdash.subscriptions.router import router as subscriptions_router
from stockdash.users.deps import lane_authenticator
from stockdash.users.router import auth_router, users_router
from stockdash.watchlist import router as watchlist_api
from stockdash.watchlist.router import router as watchlist_router

logger = logging.getLogger("stockdash")

API_PREFIX = "/api/v1"


API_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    users_router,
    subscriptions_router,
    watchlist_router,
    market_router,
    analysis_router,
    dashboard_router,
    performance_router,
    apikeys_router,
    admin_router,
    events_router,
    alerts_router,
    notifications_router,
)


def include_api(app: FastAPI) -> None:
    """Every versioned API route, each domain's router included right into the app: every
    level of nested routers is matched again on every request."""
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)


def hot_routes(services: Container) -> tuple[HotRoute, ...]:
    """The routes the fast lane answers, at their API paths."""
    routes = [
        *dashboard_api.hot_reads(services),
        *watchlist_api.hot_reads(services),
        *market_api.hot_reads(services),
        *analysis_api.hot_reads(services),
    ]
    return tuple(route.under(API_PREFIX) for route in routes)


def create_app(
    settings: Settings | None = None,
    *,
    snapshot: SnapshotProvider | None = None,
    frontend_dist: Path | None = None,
    billing: BillingProvider | None = None,
    container: Container | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """Build the FastAPI app on a container; connections open lazily.

    With no BROKER_URL the lifespan also runs the in-process broker's scheduler, so the
    embedded default is one process; with a broker, `stockdash worker` and `stockdash
    scheduler` do that work and this process only serves requests.
    """
    settings = settings or (container.settings if container else get_settings())
    settings.check_secure()
    configure_logging(settings.log_level, settings.log_format)
    init_sentry(settings, "serve")
    services = container or build_container(settings, snapshot=snapshot, billing=billing)
    time_queries(services.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # MongoDB: fail fast when it does not answer, and create missing indexes (SQL: nothing).
        await services.storage.ensure_schema()
        if services.tracking is not None:
            # Client-side caching comes up in the background; until it is live, Redis answers.
            services.tracking.ensure_running()
        background: list[asyncio.Task[None]] = []
        # Build the universe context now so the first analysis request does not pay for it.
        if settings.warm_analysis_context:
            background.append(asyncio.create_task(_warm_context(services, freeze_gc)))
        await _start_broker(services)
        if settings.broker_kind == "memory" and settings.refresh_interval_seconds > 0:
            background.append(
                asyncio.create_task(
                    run_schedule(services.broker, settings.refresh_interval_seconds)
                )
            )
        if freeze_gc:
            freeze_long_lived_objects()
        try:
            yield
        finally:
            await services.queue.stop_process_local_runs()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await services.broker.shutdown()
            await services.aclose()

    # The security headers wrap the whole stack (even 500s); see SecureHeadersFastAPI.
    app = SecureHeadersFastAPI(
        trust_proxy_headers=settings.trust_proxy_headers,
        hsts_max_age=settings.hsts_max_age_seconds,
        max_header_bytes=settings.max_header_bytes,
        title="stockdash",
        version=__version__,
        description=(
            "Self-hostable AI stock dashboard: accounts, subscription tiers, watchlists and "
            "four explainable analyst models. Errors are always "
            '`{"error": {"code", "message", "details"}}`.'
        ),
        lifespan=lifespan,
        # FastAPI's pages load scripts from a CDN: /docs is served from packaged files instead.
        docs_url=None,
        redoc_url=None,
        # No OpenTelemetry SDK is configured (Prometheus is the metrics path); off, FastAPI
        # skips looking for one on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = services
    install_error_handlers(app)
    document_validation_errors(app)
    # Outermost last: the request id, the access log, the fast lane, CORS, then the size limit,
    # then the text guard (which reads bounded bodies), then the HTTP metrics around the routes.
    instrument_http(app)
    app.add_middleware(InvalidTextMiddleware)
    app.add_middleware(RequestSizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID"],
    )
    mount_docs(app)
    # Inside the request id and access log, in front of CORS, the limits and routing.
    app.add_middleware(
        FastLane,
        routes=hot_routes(services),
        authenticate=lane_authenticator(services),
        observe=observe_http,
        exception_handlers=app.exception_handlers,
        enabled=settings.fast_lane_enabled,
    )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    app.include_router(health_router)
    app.include_router(metrics_router)
    include_api(app)
    mount_frontend(app, frontend_dist or settings.frontend_dist)
    return app


async def _start_broker(services: Container) -> None:
    """Connect to the broker to send jobs; if it is down, enqueueing answers 503 until it is up."""
    try:
        await start_broker(services)
    except BrokerUnavailable:
        logger.exception("the job broker is unreachable; queued work will be refused with 503")


async def _warm_context(services: Container, freeze_gc: bool = False) -> None:
    try:
        await services.analysis.context()
    except Exception:  # a failed warm-up only means the first request builds it
        logger.exception("warming the analysis context failed")
    if freeze_gc:
        freeze_long_lived_objects()


def freeze_long_lived_objects() -> None:
    """Move every object alive now (settings, the snapshot, the universe context: some 400,000)
    out of the cyclic garbage collector's reach.

    A full collection walks every tracked object; with the snapshot loaded that took about 390 ms
    on the benchmark machine, a pause every request in flight waits out. Frozen, it takes about
    20 ms. Objects made later are collected as usual; only a server process does this, since a
    frozen object's cycles are never reclaimed (tests build many apps in one process).
    """
    gc.collect()
    gc.freeze()


def create_served_app() -> FastAPI:
    """The app `stockdash serve` runs: `create_app` from the environment, with the long-lived
    objects of startup frozen out of the garbage collector's walks."""
    return create_app(freeze_gc=True)
