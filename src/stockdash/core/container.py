"""The infrastructure part of the process's container, and the one FastAPI accessor for it.

`stockdash.container.Container` extends it with the domain services; `core` knows only this
part, so it depends on no domain package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stockdash.core.config import Settings
from stockdash.core.db import ping
from stockdash.core.locks import Locks

if TYPE_CHECKING:
    from stockdash.core.ratelimit import RateLimiter


@dataclass(kw_only=True)
class Infrastructure:
    """Settings, database, Redis, locks and rate limits: built once per process."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # The same database for work that only reads (on SQLite: no write lock, see core.db).
    read_sessionmaker: async_sessionmaker[AsyncSession]
    rate_limiter: RateLimiter
    # The shared Redis client (locks, coordination); None on the embedded default.
    redis: aioredis.Redis | None
    locks: Locks

    async def database_ready(self) -> bool:
        """Whether the database answers (the SQL engine here; the container's storage, which
        may be MongoDB, in `stockdash.container.Container`)."""
        return await ping(self.engine)


def get_infrastructure(request: Request) -> Infrastructure:
    """The app's container (its infrastructure part)."""
    container: Infrastructure = request.app.state.container
    return container


async def infrastructure_dep(request: Request) -> Infrastructure:
    """The same as a dependency: async, so FastAPI never spends a worker thread on it."""
    return get_infrastructure(request)


InfrastructureDep = Annotated[Infrastructure, Depends(infrastructure_dep)]
