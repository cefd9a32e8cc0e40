"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from stockdash import __version__
from stockdash.admin.router import router as admin_router
from stockdash.analysis.narrator import narrator_from_settings
from stockdash.analysis.performance import router as performance_router
from stockdash.analysis.router import router as analysis_router
from stockdash.analysis.service import AnalysisService
from stockdash.apikeys.router import router as apikeys_router
from stockdash.core.config import Settings, get_settings
from stockdash.core.db import create_engine, create_sessionmaker
from stockdash.core.errors import document_validation_errors, install_error_handlers
from stockdash.core.health import router as health_router
from stockdash.core.metrics_route import router as metrics_router
from stockdash.core.middleware import (
    InvalidTextMiddleware,
    RequestSizeLimitMiddleware,
    SecureHeadersFastAPI,
)
from stockdash.core.ratelimit import build_rate_limiter
from stockdash.core.spa import mount_frontend
from stockdash.jobs.refresh import run_scheduler
from stockdash.market.factory import build_market
from stockdash.market.router import router as market_router
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.notifications.email import sender_from_settings
from stockdash.subscriptions.billing import BillingProvider, NoPaymentBilling
from stockdash.subscriptions.router import router as subscriptions_router
from stockdash.users.router import auth_router, users_router
from stockdash.watchlist.router import router as watchlist_router

logger = logging.getLogger("stockdash")

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every versioned API route."""
    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth_router,
        users_router,
        subscriptions_router,
        watchlist_router,
        market_router,
        analysis_router,
        performance_router,
        apikeys_router,
        admin_router,
    ):
        api.include_router(router)
    return api


def create_app(
    settings: Settings | None = None,
    *,
    snapshot: SnapshotProvider | None = None,
    frontend_dist: Path | None = None,
    billing: BillingProvider | None = None,
) -> FastAPI:
    """Build the FastAPI app; connections open lazily and the refresh schedule starts with the lifespan."""
    settings = settings or get_settings()
    settings.check_secure()
    engine = create_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        schema=settings.database_schema,
    )
    sessionmaker = create_sessionmaker(engine)
    rate_limiter = build_rate_limiter(settings)
    market = build_market(settings, sessionmaker, snapshot=snapshot)
    analysis = AnalysisService.from_settings(
        market, settings, narrator=narrator_from_settings(settings, cache=market.cache)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        # Build the universe context now so the first analysis request does not pay for it.
        context_warmup = (
            asyncio.create_task(analysis.context()) if settings.warm_analysis_context else None
        )
        if settings.refresh_interval_seconds > 0:
            scheduler = asyncio.create_task(
                run_scheduler(sessionmaker, market, analysis, settings.refresh_interval_seconds)
            )
        try:
            yield
        finally:
            if context_warmup is not None:
                context_warmup.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await context_warmup
            if scheduler is not None:
                scheduler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scheduler
            await market.close()
            await rate_limiter.close()
            await engine.dispose()

    # The security headers wrap the whole stack (even 500s); see SecureHeadersFastAPI.
    app = SecureHeadersFastAPI(
        trust_proxy_headers=settings.trust_proxy_headers,
        hsts_max_age=settings.hsts_max_age_seconds,
        title="stockdash",
        version=__version__,
        description=(
            "Self-hostable AI stock dashboard: accounts, subscription tiers, watchlists and "
            "four explainable analyst models. Errors are always "
            '`{"error": {"code", "message", "details"}}`.'
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.market = market
    app.state.analysis = analysis
    app.state.rate_limiter = rate_limiter
    app.state.billing = billing or NoPaymentBilling()
    app.state.email_sender = sender_from_settings(settings)
    install_error_handlers(app)
    document_validation_errors(app)
    # Outermost last: CORS, then the size limit, then the text guard (which reads bounded bodies).
    app.add_middleware(InvalidTextMiddleware)
    app.add_middleware(RequestSizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router())
    mount_frontend(app, frontend_dist or settings.frontend_dist)
    return app
