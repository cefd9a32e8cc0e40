"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from stockdash import __version__
from stockdash.core.container import Infrastructure, InfrastructureDep
from stockdash.core.errors import error_body, error_responses
from stockdash.core.redis import REDIS_FAILURES

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Probe answer."""

    status: str
    version: str
    # Optional dependencies and their state ("ok" or "degraded"); absent on /healthz.
    details: dict[str, str] | None = None


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok", version=__version__)


@router.get(
    "/readyz",
    response_model=Health,
    response_model_exclude_none=True,
    responses=error_responses(503),
)
async def readyz(infra: InfrastructureDep) -> Health | JSONResponse:
    """The database answers within READINESS_TIMEOUT_SECONDS; 503 otherwise.

    Redis is optional (caches and rate limits fall back without it): when it does not answer,
    the instance is still ready, with `details.redis` "degraded".
    """
    try:
        # An unreachable host would otherwise hold the probe for the driver's own connect
        # timeout (a minute for asyncpg).
        async with asyncio.timeout(infra.settings.readiness_timeout_seconds):
            ready = await infra.database_ready()
    except TimeoutError:
        ready = False
    if ready:
        details = None if infra.redis is None else {"redis": await _redis_state(infra)}
        return Health(status="ready", version=__version__, details=details)
    return JSONResponse(
        error_body("database_unavailable", "The database is not reachable."), status_code=503
    )


async def _redis_state(infra: Infrastructure) -> str:
    """ "ok" when Redis answers a PING within the readiness timeout, else "degraded"."""
    assert infra.redis is not None
    try:
        async with asyncio.timeout(infra.settings.readiness_timeout_seconds):
            await infra.redis.ping()
    except REDIS_FAILURES:
        return "degraded"
    return "ok"
