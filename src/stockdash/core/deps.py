"""FastAPI dependency aliases for the infrastructure: settings and database sessions.

Who is calling (bearer token or API key) is the users package's: `stockdash.users.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.config import Settings
from stockdash.core.container import InfrastructureDep
from stockdash.core.db import session_scope


async def get_settings_dep(infra: InfrastructureDep) -> Settings:
    """The app's settings."""
    return infra.settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request, infra: InfrastructureDep) -> AsyncIterator[AsyncSession]:
    """A database session for one request: read-only for GET and HEAD (on SQLite such a session
    never takes the write lock), writing otherwise."""
    factory = infra.read_sessionmaker if request.method in READ_METHODS else infra.sessionmaker
    async for session in session_scope(factory):
        yield session


async def get_session_factory(infra: InfrastructureDep) -> async_sessionmaker[AsyncSession]:
    """The app's session factory, for work that outlives the request (background tasks)."""
    return infra.sessionmaker


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionFactoryDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_session_factory)]
