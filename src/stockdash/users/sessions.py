"""Login sessions: short-lived access tokens and rotating, single-use refresh tokens.

A login starts a family of refresh tokens. Each refresh spends the presented token and issues its
successor; presenting a spent token again means a copy leaked, so the whole family is revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import NotAuthenticated
from stockdash.core.security import AccessToken, create_access_token, hash_token, new_opaque_token
from stockdash.storage.base import UnitOfWork
from stockdash.users.records import UserRecord
from stockdash.users.token_repository import (
    NewRefreshToken,
    RefreshTokenRecord,
    RefreshTokenRepository,
)


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access token and the refresh token that renews it."""

    access: AccessToken
    refresh_token: str


INVALID_REFRESH = "Invalid, expired or revoked refresh token: sign in again."


class RefreshReused(NotAuthenticated):
    """A spent refresh token was presented again: its family has been revoked. The caller
    commits that revocation before answering 401."""


def _invalid_refresh() -> NotAuthenticated:
    return NotAuthenticated(
        INVALID_REFRESH, code="invalid_refresh_token", headers={"WWW-Authenticate": "Bearer"}
    )


def issue_access_token(user: UserRecord, settings: Settings, session_id: str) -> AccessToken:
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
    repo: RefreshTokenRepository,
    user_id: int,
    family_id: str,
    settings: Settings,
    now: datetime,
    parent_id: int | None = None,
) -> tuple[RefreshTokenRecord, str]:
    raw = new_opaque_token()
    token = NewRefreshToken(
        user_id=user_id,
        family_id=family_id,
        token_hash=hash_token(raw),
        parent_id=parent_id,
        created_at=now,
        expires_at=now + timedelta(hours=settings.jwt_expiration_hours),
    )
    return await repo.add(token), raw


async def start_session(unit: UnitOfWork, user: UserRecord, settings: Settings) -> TokenPair:
    """Begin a new refresh-token family for a user who just signed in (the caller commits)."""
    family_id = uuid.uuid4().hex
    _, raw = await _store_refresh(unit.refresh_tokens, user.id, family_id, settings, utcnow())
    return TokenPair(issue_access_token(user, settings, family_id), raw)


async def _revoke_family(
    repo: RefreshTokenRepository, family_id: str, now: datetime
) -> RefreshReused:
    await repo.revoke_family(family_id, now)
    return RefreshReused(
        INVALID_REFRESH, code="invalid_refresh_token", headers={"WWW-Authenticate": "Bearer"}
    )


async def rotate(unit: UnitOfWork, raw_token: str, settings: Settings) -> TokenPair:
    """Spend a refresh token for a new pair (the caller commits); reuse of a spent token
    revokes its family and raises RefreshReused (the caller commits that too)."""
    now = utcnow()
    repo = unit.refresh_tokens
    token = await repo.get_by_hash(hash_token(raw_token))
    if token is None:
        raise _invalid_refresh()
    if token.revoked_at is not None:
        raise await _revoke_family(repo, token.family_id, now)
    if token.expires_at <= now:
        raise _invalid_refresh()
    user = await unit.users.get(token.user_id)
    if user is None or not user.is_active:
        raise _invalid_refresh()
    if not await repo.spend(token.id, now):
        # A concurrent request spent it first: the same token was presented twice.
        raise await _revoke_family(repo, token.family_id, now)
    child, raw = await _store_refresh(repo, user.id, token.family_id, settings, now, token.id)
    await repo.set_replaced_by(token.id, child.id)
    return TokenPair(issue_access_token(user, settings, token.family_id), raw)


async def logout(unit: UnitOfWork, raw_token: str) -> None:
    """End the login session the refresh token belongs to (unknown tokens are ignored; the
    caller commits)."""
    token = await unit.refresh_tokens.get_by_hash(hash_token(raw_token))
    if token is not None:
        await unit.refresh_tokens.revoke_family(token.family_id, utcnow())


async def session_alive(unit: UnitOfWork, family_id: str) -> bool:
    """Whether a login session still has a usable refresh token (not logged out or revoked)."""
    return await unit.refresh_tokens.family_alive(family_id, utcnow())
