"""Account rules: registration, login, and the public view of a user."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.errors import Conflict, Forbidden, NotAuthenticated
from stockdash.core.security import hash_password, verify_password
from stockdash.subscriptions import tiers
from stockdash.users.identity import canonical_login
from stockdash.users.models import User
from stockdash.users.passwords import check_strength
from stockdash.users.records import UserRecord
from stockdash.users.repository import SqlUserRepository
from stockdash.users.schemas import UserCreate, UserPublic


class WrongPassword(Forbidden):
    """The current password given to confirm a change was wrong (a failed attempt)."""

    code = "wrong_password"


# Wraps one password check, given the failed-login bucket it counts against.
LoginAttempt = Callable[[str], AbstractAsyncContextManager[None]]


def to_public(user: User | UserRecord) -> UserPublic:
    """The API view of a user, with limits derived from the tier table."""
    spec = tiers.spec(user.subscription_tier)
    return UserPublic(
        id=user.id,
        username=user.username,
        email=user.email,
        subscription_tier=spec.tier,
        max_stocks=spec.max_stocks,
        allowed_models=list(spec.models),
        role=user.role,
        is_active=user.is_active,
        email_verified=user.email_verified,
        created_at=user.created_at,
    )


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """A user by id."""
    return await SqlUserRepository(session).get(user_id)


async def lock_user(session: AsyncSession, user_id: int) -> User | None:
    """A user by id, locked until the transaction ends: serialises changes to what they own."""
    return await SqlUserRepository(session).lock(user_id)


async def register(
    session: AsyncSession,
    data: UserCreate,
    *,
    rounds: int,
    min_score: int,
    role: str = "user",
    email_verified: bool = False,
) -> User:
    """Add an account in the caller's transaction (the caller commits); 409 when taken.

    Usernames and emails are unique case-insensitively: the check below gives the precise
    message, the unique indexes on lower(username) and lower(email) settle concurrent sign-ups.
    """
    check_strength(data.password, [data.username, data.email], min_score)
    # Hash before the first query: on SQLite the transaction holds the write lock until commit.
    password_hash = await hash_password(data.password, rounds=rounds)
    repo = SqlUserRepository(session)
    email = data.email.lower()
    taken_username, taken_email = await repo.exists(username=data.username, email=email)
    _raise_if_taken(taken_username, taken_email)
    user = User(
        username=data.username,
        email=email,
        password_hash=password_hash,
        subscription_tier=tiers.Tier.FREE.value,
        role=role,
        is_active=True,
        email_verified=email_verified,
    )
    try:
        await repo.add(user)
    except IntegrityError as exc:
        # Lost a race with a concurrent sign-up for the same name or address.
        await session.rollback()
        raise Conflict("That username or email is already registered.", code="user_exists") from exc
    return user


def _raise_if_taken(taken_username: bool, taken_email: bool) -> None:
    if taken_username and taken_email:
        raise Conflict("That username and email are already registered.", code="user_exists")
    if taken_username:
        raise Conflict("That username is taken.", code="username_taken")
    if taken_email:
        raise Conflict("That email is already registered.", code="email_taken")


def login_bucket(login: str) -> str:
    """The failed-login counter of an attempt: the identifier as typed, in its canonical form.

    A username and an email have counters of their own even when they name one account: a
    shared counter would tell a guesser which email belongs to which username (fail five times
    with one, see the other refused). The price is one more quota per account, still under the
    per-IP limit; spellings of one identifier (case, width, spaces) share a counter, and known
    and unknown names are counted alike.
    """
    canonical = canonical_login(login)
    if "@" in canonical:
        return f"email:{canonical}"
    return f"username:{canonical.lower()}"


async def authenticate(
    session: AsyncSession,
    login: str,
    password: str,
    *,
    rounds: int,
    attempt: LoginAttempt,
) -> User:
    """The user for these credentials; 401 otherwise, in the same time either way.

    `attempt(bucket)` wraps the password check (the failed-login limits). A deactivated account
    gets 403 only after its password has been checked, so it reveals nothing to a guesser.
    """
    user = await SqlUserRepository(session).get_by_login(canonical_login(login))
    # End the read before the slow hash check: on SQLite every transaction holds the write lock.
    await session.commit()
    async with attempt(login_bucket(login)):
        password_ok = await verify_password(
            password, user.password_hash if user else None, rounds=rounds
        )
        if user is None or not password_ok:
            raise NotAuthenticated(
                "Incorrect username/email or password.",
                code="invalid_credentials",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not user.is_active:
            raise Forbidden("This account has been deactivated.", code="account_inactive")
    return user
