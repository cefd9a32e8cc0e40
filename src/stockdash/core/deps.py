"""FastAPI dependency aliases: settings, database session, current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.config import Settings
from stockdash.core.db import session_scope
from stockdash.core.errors import Forbidden, NotAuthenticated
from stockdash.core.security import TokenError, decode_access_token
from stockdash.users.models import User
from stockdash.users.repository import SqlUserRepository

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session for one request."""
    async for session in session_scope(request.app.state.sessionmaker):
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _unauthenticated(message: str) -> NotAuthenticated:
    return NotAuthenticated(message, headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """The active user the bearer token belongs to; 401 otherwise.

    It uses its own short session so no transaction (and, on SQLite, no write lock) is held
    for the rest of the request.
    """
    if not token:
        raise _unauthenticated("Not authenticated: send `Authorization: Bearer <token>`.")
    try:
        claims = decode_access_token(
            token, secret=settings.jwt_secret_key, algorithm=settings.jwt_algorithm
        )
        user_id = int(claims["sub"])
    except (TokenError, ValueError) as exc:
        raise _unauthenticated("Invalid or expired token.") from exc
    async with request.app.state.sessionmaker() as session:
        user = await SqlUserRepository(session).get(user_id)
    if user is None or not user.is_active:
        raise _unauthenticated("Invalid or expired token.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    """The current user, who must be an admin; 403 otherwise."""
    if user.role != "admin":
        raise Forbidden("This needs an administrator account.", code="admin_required")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]
