"""FastAPI dependency aliases for the infrastructure: settings and database sessions.

Who is calling (bearer token or API key) is the users package's: `stockdash.users.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.config import Settings
from stockdash.core.container import InfrastructureDep
from stockdash.core.db import session_scope


async def get_settings_dep(infra: InfrastructureDep) -> Settings:
    """The app's settings."""
    return infra.settings


async def get_session(infra: InfrastructureDep) -> AsyncIterator[AsyncSession]:
    """A database session for one request."""
    async for session in session_scope(infra.sessionmaker):
        yield session


async def get_session_factory(infra: InfrastructureDep) -> async_sessionmaker[AsyncSession]:
    """The app's session factory, for work that outlives the request (background tasks)."""
    return infra.sessionmaker


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionFactoryDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_session_factory)]
