"""Bootstrap of administrator accounts from the command line (`stockdash create-admin`)."""

from __future__ import annotations

from enum import Enum

from stockdash.admin.service import audit
from stockdash.core.config import Settings
from stockdash.core.security import verify_password
from stockdash.storage.base import UnitOfWork
from stockdash.users import service
from stockdash.users.records import UserRecord, UserUpdate
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
    from stockdash.container import open_storage  # the composition root, only for this command

    async with open_storage(settings) as storage, storage.unit() as unit:
        return await _ensure_admin(unit, data, settings)


async def _ensure_admin(unit: UnitOfWork, data: UserCreate, settings: Settings) -> AdminOutcome:
    rounds = settings.bcrypt_rounds
    repo = unit.users
    by_email = await repo.get_by_email(data.email)
    by_name = await repo.get_by_username(data.username)
    if by_email is None and by_name is None:
        user = await service.register(
            unit,
            data,
            rounds=rounds,
            min_score=settings.password_min_score,
            role="admin",
            email_verified=True,
        )
        await audit(unit, None, "user.create_admin", "user", user.id, CLI_ACTOR)
        await unit.commit()
        return AdminOutcome.CREATED
    account = _same_account(data, by_email, by_name)
    await unit.commit()  # end the read before the slow password check
    if not await verify_password(data.password, account.password_hash, rounds=rounds):
        raise AdminBootstrapError(
            f"The account {account.username} <{account.email}> exists, but that is not its "
            "password. create-admin never changes a password: give the account's current one "
            "to promote it, or reset it first."
        )
    return await _promote(unit, account.id)


def _same_account(
    data: UserCreate, by_email: UserRecord | None, by_name: UserRecord | None
) -> UserRecord:
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


async def _promote(unit: UnitOfWork, user_id: int) -> AdminOutcome:
    """Make an existing account an admin, with an audit entry; nothing if it already is one."""
    user = await unit.users.lock(user_id)
    if user is None:
        raise AdminBootstrapError("The account was deleted meanwhile; run the command again.")
    if user.role == "admin":
        await unit.rollback()
        return AdminOutcome.ALREADY_ADMIN
    await unit.users.update(user.id, UserUpdate(role="admin"))
    await audit(
        unit,
        None,
        "user.promote",
        "user",
        user.id,
        {**CLI_ACTOR, "changes": {"role": {"from": "user", "to": "admin"}}},
    )
    await unit.commit()
    return AdminOutcome.PROMOTED
