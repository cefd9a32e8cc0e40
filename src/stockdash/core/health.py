"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from stockdash import __version__
from stockdash.core.db import ping
from stockdash.core.errors import error_body

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Probe answer."""

    status: str
    version: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok", version=__version__)


@router.get(
    "/readyz", response_model=Health, responses={503: {"description": "Database unreachable"}}
)
async def readyz(request: Request) -> Health | JSONResponse:
    """The database answers; 503 otherwise."""
    if await ping(request.app.state.engine):
        return Health(status="ready", version=__version__)
    return JSONResponse(
        error_body("database_unavailable", "The database is not reachable."), status_code=503
    )
