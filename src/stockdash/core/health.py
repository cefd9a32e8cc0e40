"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from stockdash import __version__
from stockdash.core.container import InfrastructureDep
from stockdash.core.db import ping
from stockdash.core.errors import error_body, error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Probe answer."""

    status: str
    version: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok", version=__version__)


@router.get("/readyz", response_model=Health, responses=error_responses(503))
async def readyz(infra: InfrastructureDep) -> Health | JSONResponse:
    """The database answers within READINESS_TIMEOUT_SECONDS; 503 otherwise."""
    try:
        # An unreachable host would otherwise hold the probe for the driver's own connect
        # timeout (a minute for asyncpg).
        async with asyncio.timeout(infra.settings.readiness_timeout_seconds):
            ready = await ping(infra.engine)
    except TimeoutError:
        ready = False
    if ready:
        return Health(status="ready", version=__version__)
    return JSONResponse(
        error_body("database_unavailable", "The database is not reachable."), status_code=503
    )
