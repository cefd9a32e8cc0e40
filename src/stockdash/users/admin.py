"""Bootstrap of administrator accounts from the command line (`stockdash create-admin`)."""

from __future__ import annotations

from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.admin.service import audit
from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker
from stockdash.core.security import verify_password
from stockdash.users import service
from stockdash.users.models import User
from stockdash.users.repository import SqlUserRepository
from stockdash.users.schemas import UserCreate

CLI_ACTOR = {"via": "cli"}


class AdminOutcome(Enum):
    """What `ensure_admin` did."""

    CREATED = "created"
    PROMOTED = "promoted"
    ALREADY_ADMIN = "already_admin"


class AdminBootstrapError(Exception):
    """The given email and username do not describe one account; the message says what to do."""


async def ensure_admin(settings: Settings, data: UserCreate) -> AdminOutcome:
    """Create an admin, or promote the existing account that has this email, username and password."""
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    try:
        async with create_sessionmaker(engine)() as session:
            return await _ensure_admin(session, data, settings)
    finally:
        await engine.dispose()


async def _ensure_admin(
    session: AsyncSession, data: UserCreate, settings: Settings
) -> AdminOutcome:
    rounds = settings.bcrypt_rounds
    repo = SqlUserRepository(session)
    by_email = await repo.get_by_email(data.email)
    by_name = await repo.get_by_username(data.username)
    if by_email is None and by_name is None:
        user = await service.register(
            session,
            data,
            rounds=rounds,
            min_score=settings.password_min_score,
            role="admin",
            email_verified=True,
        )
        await audit(session, None, "user.create_admin", "user", user.id, CLI_ACTOR)
        await session.commit()
        return AdminOutcome.CREATED
    account = _same_account(data, by_email, by_name)
    await session.commit()  # end the read before the slow password check
    if not await verify_password(data.password, account.password_hash, rounds=rounds):
        raise AdminBootstrapError(
            f"The account {account.username} <{account.email}> exists, but that is not its "
            "password. create-admin never changes a password: give the account's current one "
            "to promote it, or reset it first."
        )
    return await _promote(session, account.id)


def _same_account(data: UserCreate, by_email: User | None, by_name: User | None) -> User:
    """The one existing account the email and username both name; a clear error otherwise."""
    if by_email is None:
        assert by_name is not None
        raise AdminBootstrapError(
            f"The username {by_name.username!r} belongs to another account <{by_name.email}>. "
            f"Choose another username, or pass --email {by_name.email} to promote that account."
        )
    if by_name is None or by_name.id != by_email.id:
        raise AdminBootstrapError(
            f"An account with the email {by_email.email} already exists under the username "
            f"{by_email.username!r}. Pass --username {by_email.username} to promote it"
            + (
                f" (the username {by_name.username!r} belongs to yet another account)."
                if by_name is not None
                else "."
            )
        )
    return by_email


async def _promote(session: AsyncSession, user_id: int) -> AdminOutcome:
    """Make an existing account an admin, with an audit row; nothing if it already is one."""
    user = await SqlUserRepository(session).lock(user_id)
    if user is None:
        raise AdminBootstrapError("The account was deleted meanwhile; run the command again.")
    if user.role == "admin":
        await session.rollback()
        return AdminOutcome.ALREADY_ADMIN
    user.role = "admin"
    await audit(
        session,
        None,
        "user.promote",
        "user",
        user.id,
        {**CLI_ACTOR, "changes": {"role": {"from": "user", "to": "admin"}}},
    )
    await session.commit()
    return AdminOutcome.PROMOTED
