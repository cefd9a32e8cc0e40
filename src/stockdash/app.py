"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from stockdash import __version__
from stockdash.core.config import Settings, get_settings
from stockdash.core.db import create_engine, create_sessionmaker
from stockdash.core.errors import install_error_handlers
from stockdash.core.health import router as health_router
from stockdash.core.spa import mount_frontend
from stockdash.market.service import MarketService
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.subscriptions.router import router as subscriptions_router
from stockdash.users.router import auth_router, users_router
from stockdash.watchlist.router import router as watchlist_router

logger = logging.getLogger("stockdash")

API_PREFIX = "/api/v1"


def build_market(settings: Settings) -> MarketService:
    """The market data service for these settings."""
    snapshot = SnapshotProvider()
    return MarketService(provider=snapshot, snapshot=snapshot)


def api_router() -> APIRouter:
    """Every versioned API route."""
    api = APIRouter(prefix=API_PREFIX)
    for router in (auth_router, users_router, subscriptions_router, watchlist_router):
        api.include_router(router)
    return api


def create_app(
    settings: Settings | None = None,
    *,
    market: MarketService | None = None,
    frontend_dist: Path | None = None,
) -> FastAPI:
    """Build the FastAPI app; nothing connects until the lifespan starts."""
    settings = settings or get_settings()
    settings.check_secure()
    engine = create_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
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
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.market = market or build_market(settings)
    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.include_router(health_router)
    app.include_router(api_router())
    mount_frontend(app, frontend_dist)
    return app
