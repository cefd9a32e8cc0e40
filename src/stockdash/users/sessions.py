"""Login sessions: short-lived access tokens and rotating, single-use refresh tokens.

A login starts a family of refresh tokens. Each refresh spends the presented token and issues its
successor; presenting a spent token again means a copy leaked, so the whole family is revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import NotAuthenticated
from stockdash.core.security import AccessToken, create_access_token, hash_token, new_opaque_token
from stockdash.users.models import RefreshToken, User
from stockdash.users.repository import SqlUserRepository
from stockdash.users.token_repository import SqlRefreshTokenRepository


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access token and the refresh token that renews it."""

    access: AccessToken
    refresh_token: str


def _invalid_refresh() -> NotAuthenticated:
    return NotAuthenticated(
        "Invalid, expired or revoked refresh token: sign in again.",
        code="invalid_refresh_token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def issue_access_token(user: User, settings: Settings, session_id: str) -> AccessToken:
    """A signed access token carrying the user's token version and login session (the refresh
    token family: long-lived things bound to the login, such as a live stream, end with it)."""
    return create_access_token(
        str(user.id),
        secret=settings.jwt_secret_key,
        algorithm=settings.jwt_algorithm,
        lifetime=timedelta(minutes=settings.access_token_expire_minutes),
        extra={"ver": user.token_version, "sid": session_id},
    )


async def _store_refresh(
    repo: SqlRefreshTokenRepository,
    user_id: int,
    family_id: str,
    settings: Settings,
    now: datetime,
    parent_id: int | None = None,
) -> tuple[RefreshToken, str]:
    raw = new_opaque_token()
    row = RefreshToken(
        user_id=user_id,
        family_id=family_id,
        token_hash=hash_token(raw),
        parent_id=parent_id,
        created_at=now,
        expires_at=now + timedelta(hours=settings.jwt_expiration_hours),
    )
    return await repo.add(row), raw


async def start_session(session: AsyncSession, user: User, settings: Settings) -> TokenPair:
    """Begin a new refresh-token family for a user who just signed in."""
    family_id = uuid.uuid4().hex
    _, raw = await _store_refresh(
        SqlRefreshTokenRepository(session), user.id, family_id, settings, utcnow()
    )
    await session.commit()
    return TokenPair(issue_access_token(user, settings, family_id), raw)


async def _revoke_family_and_fail(
    session: AsyncSession, repo: SqlRefreshTokenRepository, family_id: str, now: datetime
) -> NotAuthenticated:
    await repo.revoke_family(family_id, now)
    await session.commit()
    return _invalid_refresh()


async def rotate(session: AsyncSession, raw_token: str, settings: Settings) -> TokenPair:
    """Spend a refresh token for a new pair; reuse of a spent token revokes its family."""
    now = utcnow()
    repo = SqlRefreshTokenRepository(session)
    row = await repo.get_by_hash(hash_token(raw_token))
    if row is None:
        raise _invalid_refresh()
    if row.revoked_at is not None:
        raise await _revoke_family_and_fail(session, repo, row.family_id, now)
    if row.expires_at <= now:
        raise _invalid_refresh()
    user = await SqlUserRepository(session).get(row.user_id)
    if user is None or not user.is_active:
        raise _invalid_refresh()
    if not await repo.spend(row.id, now):
        # A concurrent request spent it first: the same token was presented twice.
        raise await _revoke_family_and_fail(session, repo, row.family_id, now)
    child, raw = await _store_refresh(repo, user.id, row.family_id, settings, now, row.id)
    await repo.set_replaced_by(row.id, child.id)
    await session.commit()
    return TokenPair(issue_access_token(user, settings, row.family_id), raw)


async def logout(session: AsyncSession, raw_token: str) -> None:
    """End the login session the refresh token belongs to (unknown tokens are ignored)."""
    repo = SqlRefreshTokenRepository(session)
    row = await repo.get_by_hash(hash_token(raw_token))
    if row is not None:
        await repo.revoke_family(row.family_id, utcnow())
        await session.commit()


async def session_alive(session: AsyncSession, family_id: str) -> bool:
    """Whether a login session still has a usable refresh token (not logged out or revoked)."""
    return await SqlRefreshTokenRepository(session).family_alive(family_id, utcnow())


async def revoke_all(session: AsyncSession, user_id: int) -> None:
    """Revoke every refresh token of a user (the caller commits)."""
    await SqlRefreshTokenRepository(session).revoke_all_for_user(user_id, utcnow())
