"""Account lifecycle: email verification, password reset and password change.

One-time links carry a random token; only its SHA-256 hash is stored, with a purpose, an expiry
and the time it was used, so each link works once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.apikeys import service as apikeys
from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import Conflict, Unprocessable
from stockdash.core.security import hash_password, hash_token, new_opaque_token, verify_password
from stockdash.notifications.email import Email, EmailSender, deliver
from stockdash.users import emails, service, sessions
from stockdash.users.models import EmailToken, User
from stockdash.users.passwords import check_strength
from stockdash.users.repository import SqlUserRepository
from stockdash.users.schemas import UserCreate
from stockdash.users.service import LoginAttempt, WrongPassword, login_bucket
from stockdash.users.token_repository import SqlEmailTokenRepository

logger = logging.getLogger(__name__)

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


async def _verification_email(session: AsyncSession, user: User, settings: Settings) -> Email:
    """Store a verification token in the caller's transaction; the email that carries its link."""
    hours = settings.email_verification_expire_hours
    raw = await _issue(session, user.id, VERIFY_EMAIL, timedelta(hours=hours))
    return emails.verification_email(
        to=user.email,
        username=user.username,
        base_url=settings.public_base_url,
        token=raw,
        hours=hours,
    )


async def sign_up(
    session: AsyncSession, data: UserCreate, settings: Settings
) -> tuple[User, Email]:
    """Create an account and its first verification link in one transaction (nothing on failure)."""
    user = await service.register(
        session, data, rounds=settings.bcrypt_rounds, min_score=settings.password_min_score
    )
    email = await _verification_email(session, user, settings)
    await session.commit()
    return user, email


async def resend_verification(session: AsyncSession, user: User, settings: Settings) -> Email:
    """A fresh verification link (the old one stops working); 409 if already verified."""
    if user.email_verified:
        raise Conflict("Your email address is already verified.", code="already_verified")
    email = await _verification_email(session, user, settings)
    await session.commit()
    return email


async def verify_email(session: AsyncSession, raw_token: str) -> User:
    """Mark the token's user as verified; the token is spent."""
    user = await _consume(session, raw_token, VERIFY_EMAIL)
    user.email_verified = True
    await session.commit()
    return user


async def _password_reset_email(
    session: AsyncSession, address: str, settings: Settings
) -> Email | None:
    """The reset email for an active account with that address, or None (the caller says the same)."""
    user = await SqlUserRepository(session).get_by_email(address)
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


async def send_password_reset(
    factory: async_sessionmaker[AsyncSession],
    sender: EmailSender,
    address: str,
    settings: Settings,
) -> None:
    """Background task: email a reset link if an active account uses the address, else nothing.

    The request that asked for it has already been answered, identically for every address, so
    neither its content nor its timing tells whether the account exists.
    """
    try:
        async with factory() as session:
            email = await _password_reset_email(session, address, settings)
    except Exception:
        logger.exception("could not prepare a password reset link")
        return
    if email is not None:
        await deliver(sender, email)


async def revoke_credentials(session: AsyncSession, user: User) -> None:
    """Cut every way in at once: access tokens, refresh sessions and API keys (caller commits).

    Used on password change and reset and on deactivation and reactivation, so an account taken
    back (or switched on again) carries nothing an intruder obtained before.
    """
    user.token_version += 1
    await sessions.revoke_all(session, user.id)
    await apikeys.revoke_all(session, user.id)


async def _set_password(session: AsyncSession, user: User, password_hash: str) -> None:
    """Store a new password hash and revoke every earlier credential (the caller commits)."""
    user.password_hash = password_hash
    await revoke_credentials(session, user)
    await SqlEmailTokenRepository(session).invalidate(user.id, PASSWORD_RESET, utcnow())


async def reset_password(
    session: AsyncSession, raw_token: str, new_password: str, settings: Settings
) -> None:
    """Set a new password with a reset token; the token is spent (not if the password is weak)."""
    check_strength(new_password, [], settings.password_min_score)
    # Hash first: the transaction below holds row locks (and, on SQLite, the write lock).
    password_hash = await hash_password(new_password, rounds=settings.bcrypt_rounds)
    user = await _consume(session, raw_token, PASSWORD_RESET)
    try:
        check_strength(new_password, [user.username, user.email], settings.password_min_score)
    except Unprocessable:
        await session.rollback()  # the link stays usable for a better password
        raise
    await _set_password(session, user, password_hash)
    # Following the emailed link proved the user controls the address.
    user.email_verified = True
    await session.commit()


def _wrong_password() -> WrongPassword:
    return WrongPassword("The current password is not correct.")


async def change_password(
    session: AsyncSession,
    user_id: int,
    current: str,
    new_password: str,
    settings: Settings,
    *,
    attempt: LoginAttempt,
) -> None:
    """Change a signed-in user's password after checking the current one; 403 if wrong.

    The check counts against the same failed-login limits as a login (`attempt`), so a stolen
    session cannot guess the password outside them.
    """
    repo = SqlUserRepository(session)
    user = await repo.get(user_id)
    checked_hash = user.password_hash if user is not None else None
    # The two slow hash operations run outside any transaction.
    await session.commit()
    # The username's counter: a stolen session guesses within the login limits of its owner.
    async with attempt(login_bucket(user.username if user is not None else f"#{user_id}")):
        if user is None or not await verify_password(
            current, checked_hash, rounds=settings.bcrypt_rounds
        ):
            raise _wrong_password()
    check_strength(new_password, [user.username, user.email], settings.password_min_score)
    password_hash = await hash_password(new_password, rounds=settings.bcrypt_rounds)
    user = await repo.lock(user_id)
    if user is None or user.password_hash != checked_hash:
        # Changed by a concurrent request since we checked it: the checked password is stale.
        raise _wrong_password()
    await _set_password(session, user, password_hash)
    await session.commit()
