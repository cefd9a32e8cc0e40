"""Account lifecycle: email verification, password reset and password change.

One-time links carry a random token; only its SHA-256 hash is stored, with a purpose, an expiry
and the time it was used, so each link works once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from stockdash.core.config import Settings
from stockdash.core.db import utcnow
from stockdash.core.errors import Conflict, Unprocessable
from stockdash.core.security import hash_password, hash_token, new_opaque_token, verify_password
from stockdash.notifications.email import Email, EmailSender, deliver
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact
from stockdash.users import emails, service
from stockdash.users.passwords import check_strength
from stockdash.users.records import UserRecord, UserUpdate
from stockdash.users.schemas import UserCreate
from stockdash.users.service import LoginAttempt, WrongPassword, login_bucket
from stockdash.users.token_repository import EmailTokenRecord, NewEmailToken

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


async def _issue(unit: UnitOfWork, user_id: int, purpose: str, lifetime: timedelta) -> str:
    """A new one-time token; earlier unused ones of the same purpose stop working."""
    repo, now, raw = unit.email_tokens, utcnow(), new_opaque_token()
    await repo.invalidate(user_id, purpose, now)
    await repo.add(
        NewEmailToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return raw


async def _usable(
    unit: UnitOfWork, raw_token: str, purpose: str
) -> tuple[EmailTokenRecord, UserRecord]:
    """A live token of this purpose and its active user; 422 invalid_token otherwise."""
    token = await unit.email_tokens.get_by_hash(hash_token(raw_token), purpose)
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise _invalid_link()
    user = await unit.users.get(token.user_id)
    if user is None or not user.is_active:
        raise _invalid_link()
    return token, user


async def _spend(unit: UnitOfWork, token: EmailTokenRecord) -> None:
    """Mark the token used; 422 when a concurrent use spent it first."""
    if not await unit.email_tokens.use(token.id, utcnow()):
        raise _invalid_link()


async def _consume(unit: UnitOfWork, raw_token: str, purpose: str) -> UserRecord:
    """Spend a one-time token and return its active user; 422 invalid_token otherwise."""
    token, user = await _usable(unit, raw_token, purpose)
    await _spend(unit, token)
    return user


async def _verification_email(unit: UnitOfWork, user: UserRecord, settings: Settings) -> Email:
    """Store a verification token in the caller's unit of work; the email that carries its link."""
    hours = settings.email_verification_expire_hours
    raw = await _issue(unit, user.id, VERIFY_EMAIL, timedelta(hours=hours))
    return emails.verification_email(
        to=user.email,
        username=user.username,
        base_url=settings.public_base_url,
        token=raw,
        hours=hours,
    )


async def sign_up(
    unit: UnitOfWork, data: UserCreate, settings: Settings
) -> tuple[UserRecord, Email]:
    """Create an account and its first verification link (the caller commits both together;
    on SQL nothing stays on failure)."""
    user = await service.register(
        unit, data, rounds=settings.bcrypt_rounds, min_score=settings.password_min_score
    )
    email = await _verification_email(unit, user, settings)
    return user, email


async def resend_verification(unit: UnitOfWork, user: UserRecord, settings: Settings) -> Email:
    """A fresh verification link (the old one stops working; the caller commits); 409 if
    already verified."""
    if user.email_verified:
        raise Conflict("Your email address is already verified.", code="already_verified")
    return await _verification_email(unit, user, settings)


async def verify_email(unit: UnitOfWork, raw_token: str) -> UserRecord:
    """Mark the token's user as verified; the token is spent (the caller commits)."""
    user = await _consume(unit, raw_token, VERIFY_EMAIL)
    verified = await unit.users.update(user.id, UserUpdate(email_verified=True))
    if verified is None:
        raise _invalid_link()  # deleted meanwhile
    return verified


async def _password_reset_email(unit: UnitOfWork, address: str, settings: Settings) -> Email | None:
    """The reset email for an active account with that address, or None (the caller says the same)."""
    user = await unit.users.get_by_email(address)
    if user is None or not user.is_active:
        return None
    minutes = settings.password_reset_expire_minutes
    raw = await _issue(unit, user.id, PASSWORD_RESET, timedelta(minutes=minutes))
    return emails.password_reset_email(
        to=user.email,
        username=user.username,
        base_url=settings.public_base_url,
        token=raw,
        minutes=minutes,
    )


async def send_password_reset(
    storage: Storage,
    sender: EmailSender,
    address: str,
    settings: Settings,
) -> None:
    """Background task: email a reset link if an active account uses the address, else nothing.

    The request that asked for it has already been answered, identically for every address, so
    neither its content nor its timing tells whether the account exists.
    """
    try:
        email = await transact(storage, lambda unit: _password_reset_email(unit, address, settings))
    except Exception:
        logger.exception("could not prepare a password reset link")
        return
    if email is not None:
        await deliver(sender, email)


async def revoke_credentials(unit: UnitOfWork, user_id: int, change: UserUpdate) -> UserRecord:
    """Apply `change` and cut every way in at once: access tokens (the token version is
    bumped), refresh sessions and API keys (the caller commits). A change that matches nothing
    raises: 403 for a stale `if_password_hash`, else 422 (the user is gone).

    Used on password change and reset and on deactivation and reactivation, so an account taken
    back (or switched on again) carries nothing an intruder obtained before.
    """
    bumped = replace(change, bump_token_version=True)
    user = await unit.users.update(user_id, bumped)
    if user is None:
        raise _gone(change)
    now = utcnow()
    await unit.refresh_tokens.revoke_all_for_user(user_id, now)
    await unit.api_keys.remove_all(user_id)
    return user


def _gone(change: UserUpdate) -> Exception:
    """Why a credential-revoking update matched nothing: a stale password, or no user."""
    if change.if_password_hash is not None:
        return _wrong_password()
    return _invalid_link()


async def _set_password(
    unit: UnitOfWork, user_id: int, password_hash: str, *, if_hash: str | None = None
) -> UserRecord:
    """Store a new password hash and revoke every earlier credential (the caller commits)."""
    change = UserUpdate(password_hash=password_hash, if_password_hash=if_hash)
    user = await revoke_credentials(unit, user_id, change)
    await unit.email_tokens.invalidate(user_id, PASSWORD_RESET, utcnow())
    return user


async def reset_password(
    unit: UnitOfWork, raw_token: str, new_password: str, settings: Settings
) -> None:
    """Set a new password with a reset token; the token is spent (not if the password is weak;
    the caller commits).

    The strength is checked before the token is spent, so a weak password leaves the link
    usable on every backend (MongoDB has no rollback to give it back).
    """
    check_strength(new_password, [], settings.password_min_score)
    # Hash first: the transaction below holds row locks (and, on SQLite, the write lock).
    password_hash = await hash_password(new_password, rounds=settings.bcrypt_rounds)
    token, user = await _usable(unit, raw_token, PASSWORD_RESET)
    check_strength(new_password, [user.username, user.email], settings.password_min_score)
    await _spend(unit, token)
    await _set_password(unit, user.id, password_hash)
    # Following the emailed link proved the user controls the address.
    await unit.users.update(user.id, UserUpdate(email_verified=True))


def _wrong_password() -> WrongPassword:
    return WrongPassword("The current password is not correct.")


async def change_password(
    unit: UnitOfWork,
    user_id: int,
    current: str,
    new_password: str,
    settings: Settings,
    *,
    attempt: LoginAttempt,
) -> None:
    """Change a signed-in user's password after checking the current one; 403 if wrong (the
    caller commits; the read before the slow checks is ended here).

    The check counts against the same failed-login limits as a login (`attempt`), so a stolen
    session cannot guess the password outside them.
    """
    user = await unit.users.get(user_id)
    checked_hash = user.password_hash if user is not None else None
    # The two slow hash operations run outside any transaction.
    await unit.commit()
    # The username's counter: a stolen session guesses within the login limits of its owner.
    async with attempt(login_bucket(user.username if user is not None else f"#{user_id}")):
        if user is None or not await verify_password(
            current, checked_hash, rounds=settings.bcrypt_rounds
        ):
            raise _wrong_password()
    check_strength(new_password, [user.username, user.email], settings.password_min_score)
    password_hash = await hash_password(new_password, rounds=settings.bcrypt_rounds)
    # Applied only while the stored hash is still the one checked: a concurrent change since
    # makes the checked password stale (403), on every backend without a lock.
    await _set_password(unit, user_id, password_hash, if_hash=user.password_hash)
