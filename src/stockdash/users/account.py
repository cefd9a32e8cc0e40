"""Account lifecycle: email verification, password reset and password change.

One-time links carry a random token; only its SHA-256 hash is stored, with a purpose, an expiry
and the time it was used, so each link works once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import Conflict, Forbidden, Unprocessable
from stockdash.core.security import hash_password, hash_token, new_opaque_token, verify_password
from stockdash.notifications.email import Email
from stockdash.users import emails, sessions
from stockdash.users.models import EmailToken, User
from stockdash.users.repository import SqlUserRepository
from stockdash.users.token_repository import SqlEmailTokenRepository

VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose label, not a secret

RESET_REQUESTED_MESSAGE = (
    "If an account uses that email address, a link to reset its password is on its way."
)


def _invalid_link() -> Unprocessable:
    return Unprocessable(
        "This link is invalid, has expired or was already used; ask for a new one.",
        code="invalid_token",
    )


async def _issue(session: AsyncSession, user_id: int, purpose: str, lifetime: timedelta) -> str:
    """A new one-time token; earlier unused ones of the same purpose stop working."""
    repo, now, raw = SqlEmailTokenRepository(session), utcnow(), new_opaque_token()
    await repo.invalidate(user_id, purpose, now)
    await repo.add(
        EmailToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return raw


async def _consume(session: AsyncSession, raw_token: str, purpose: str) -> User:
    """Spend a one-time token and return its active user; 422 invalid_token otherwise."""
    repo, now = SqlEmailTokenRepository(session), utcnow()
    row = await repo.get_by_hash(hash_token(raw_token), purpose)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise _invalid_link()
    if not await repo.use(row.id, now):
        raise _invalid_link()
    user = await SqlUserRepository(session).get(row.user_id)
    if user is None or not user.is_active:
        raise _invalid_link()
    return user


async def start_verification(session: AsyncSession, user: User, settings: Settings) -> Email:
    """Store a verification token and return the email that carries its link."""
    hours = settings.email_verification_expire_hours
    raw = await _issue(session, user.id, VERIFY_EMAIL, timedelta(hours=hours))
    await session.commit()
    return emails.verification_email(
        to=user.email,
        username=user.username,
        base_url=settings.public_base_url,
        token=raw,
        hours=hours,
    )


async def resend_verification(session: AsyncSession, user: User, settings: Settings) -> Email:
    """A fresh verification link (the old one stops working); 409 if already verified."""
    if user.email_verified:
        raise Conflict("Your email address is already verified.", code="already_verified")
    return await start_verification(session, user, settings)


async def verify_email(session: AsyncSession, raw_token: str) -> User:
    """Mark the token's user as verified; the token is spent."""
    user = await _consume(session, raw_token, VERIFY_EMAIL)
    user.email_verified = True
    await session.commit()
    return user


async def request_password_reset(
    session: AsyncSession, email: str, settings: Settings
) -> Email | None:
    """The reset email for an active account with that address, or None (the caller says the same)."""
    user = await SqlUserRepository(session).get_by_email(email)
    if user is None or not user.is_active:
        return None
    minutes = settings.password_reset_expire_minutes
    raw = await _issue(session, user.id, PASSWORD_RESET, timedelta(minutes=minutes))
    await session.commit()
    return emails.password_reset_email(
        to=user.email,
        username=user.username,
        base_url=settings.public_base_url,
        token=raw,
        minutes=minutes,
    )


async def _set_password(session: AsyncSession, user: User, password: str, rounds: int) -> None:
    """Store a new password and revoke every earlier access and refresh token (caller commits)."""
    user.password_hash = hash_password(password, rounds=rounds)
    user.token_version += 1
    await sessions.revoke_all(session, user.id)
    await SqlEmailTokenRepository(session).invalidate(user.id, PASSWORD_RESET, utcnow())


async def reset_password(
    session: AsyncSession, raw_token: str, new_password: str, settings: Settings
) -> None:
    """Set a new password with a reset token; the token is spent."""
    user = await _consume(session, raw_token, PASSWORD_RESET)
    await _set_password(session, user, new_password, settings.bcrypt_rounds)
    # Following the emailed link proved the user controls the address.
    user.email_verified = True
    await session.commit()


async def change_password(
    session: AsyncSession, user_id: int, current: str, new_password: str, settings: Settings
) -> None:
    """Change a signed-in user's password after checking the current one; 403 if wrong."""
    user = await SqlUserRepository(session).lock(user_id)
    if user is None or not verify_password(current, user.password_hash):
        raise Forbidden("The current password is not correct.", code="wrong_password")
    await _set_password(session, user, new_password, settings.bcrypt_rounds)
    await session.commit()
