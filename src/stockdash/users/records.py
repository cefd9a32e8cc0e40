"""Users as domain values, and their storage on SQL and MongoDB.

Services read and change users through `UserRecords` (a unit of work's `users`); what crosses
the service boundary, the current user included, is a `UserRecord`, never an ORM row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.db import record_change, utcnow
from stockdash.core.mongo import bson_now, next_id
from stockdash.users.models import User

USER_FIELDS = (
    "id",
    "username",
    "email",
    "password_hash",
    "subscription_tier",
    "role",
    "is_active",
    "email_verified",
    "token_version",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A person with an account (a domain value, not a database row)."""

    id: int
    username: str
    email: str
    password_hash: str
    subscription_tier: str
    role: str
    is_active: bool
    email_verified: bool
    token_version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewUser:
    """What a new account is created from."""

    username: str
    email: str
    password_hash: str
    subscription_tier: str = "free"
    role: str = "user"
    email_verified: bool = False


@dataclass(frozen=True, slots=True)
class UserChanged:
    """A change to a user made without loading it (told to the commit listeners)."""

    id: int


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """Changes to one user, applied in one atomic update (None: leave as is).

    `bump_token_version` ends every access token issued before (password change, deactivation);
    `if_password_hash` applies the update only while the stored hash is still that one, so a
    password checked by one request cannot overwrite a change another request made meanwhile.
    """

    password_hash: str | None = None
    role: str | None = None
    is_active: bool | None = None
    email_verified: bool | None = None
    bump_token_version: bool = False
    if_password_hash: str | None = None

    def values(self) -> dict[str, Any]:
        """The fields to set."""
        fields = {
            "password_hash": self.password_hash,
            "role": self.role,
            "is_active": self.is_active,
            "email_verified": self.email_verified,
        }
        return {k: v for k, v in fields.items() if v is not None}


class UsernameOrEmailTaken(Exception):
    """Another account has this username or email (case-insensitively)."""


class UserRecords(Protocol):
    """Storage of users, whatever the backend."""

    async def get(self, user_id: int) -> UserRecord | None: ...
    async def get_by_login(self, login: str) -> UserRecord | None: ...
    async def get_by_email(self, email: str) -> UserRecord | None: ...
    async def get_by_username(self, username: str) -> UserRecord | None: ...
    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]: ...
    async def add(self, user: NewUser) -> UserRecord: ...
    async def lock(self, user_id: int) -> UserRecord | None: ...
    async def set_tier(self, user_id: int, tier: str) -> bool: ...
    async def update(self, user_id: int, change: UserUpdate) -> UserRecord | None: ...


def _record(row: User) -> UserRecord:
    return UserRecord(**{name: getattr(row, name) for name in USER_FIELDS})


def _login_key(login: str) -> str | None:
    """The normalised form usernames and emails are unique by (None: matches no account)."""
    needle = login.strip().lower()
    return None if "\x00" in needle else needle  # PostgreSQL refuses NUL in text


class SqlUserRecords:
    """Users in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> UserRecord | None:
        """A user by id."""
        row = await self.session.get(User, user_id)
        return None if row is None else _record(row)

    async def get_by_login(self, login: str) -> UserRecord | None:
        """A user by username or email (case-insensitive)."""
        needle = _login_key(login)
        if needle is None:
            return None
        stmt = select(User).where(
            or_(func.lower(User.username) == needle, func.lower(User.email) == needle)
        )
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _record(row)

    async def get_by_email(self, email: str) -> UserRecord | None:
        """A user by email only (case-insensitive)."""
        stmt = select(User).where(func.lower(User.email) == email.strip().lower())
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _record(row)

    async def get_by_username(self, username: str) -> UserRecord | None:
        """A user by username only (case-insensitive)."""
        stmt = select(User).where(func.lower(User.username) == username.strip().lower())
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _record(row)

    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]:
        """Whether the username and the email are already taken."""
        name, mail = username.strip().lower(), email.strip().lower()
        stmt = select(func.lower(User.username), func.lower(User.email)).where(
            or_(func.lower(User.username) == name, func.lower(User.email) == mail)
        )
        rows = (await self.session.execute(stmt)).all()
        return any(r[0] == name for r in rows), any(r[1] == mail for r in rows)

    async def add(self, user: NewUser) -> UserRecord:
        """Insert a user (its id assigned); UsernameOrEmailTaken on a clash."""
        row = User(
            username=user.username,
            email=user.email,
            password_hash=user.password_hash,
            subscription_tier=user.subscription_tier,
            role=user.role,
            email_verified=user.email_verified,
        )
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            raise UsernameOrEmailTaken(user.username) from exc
        return _record(row)

    async def lock(self, user_id: int) -> UserRecord | None:
        """The user, its row locked until the unit of work ends (PostgreSQL; SQLite's writing
        transactions already hold the database's write lock)."""
        stmt = (
            select(User)
            .where(User.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _record(row)

    async def set_tier(self, user_id: int, tier: str) -> bool:
        """Change a user's tier; whether the user exists."""
        stmt = (
            update(User)
            .where(User.id == user_id)
            .values(subscription_tier=tier, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        changed = bool(getattr(result, "rowcount", 0))
        if changed:
            record_change(self.session, UserChanged(user_id))
        return changed

    async def update(self, user_id: int, change: UserUpdate) -> UserRecord | None:
        """Apply `change` in one UPDATE; the user after it, or None (no such user, or the
        password hash was no longer `if_password_hash`)."""
        values: dict[str, Any] = {**change.values(), "updated_at": utcnow()}
        if change.bump_token_version:
            values["token_version"] = User.token_version + 1
        stmt = update(User).where(User.id == user_id)
        if change.if_password_hash is not None:
            stmt = stmt.where(User.password_hash == change.if_password_hash)
        result = await self.session.execute(
            stmt.values(**values).execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            return None
        record_change(self.session, UserChanged(user_id))
        fresh = select(User).where(User.id == user_id).execution_options(populate_existing=True)
        row = (await self.session.execute(fresh)).scalars().first()
        return None if row is None else _record(row)


class MongoUserRecords:
    """Users in MongoDB's `users` collection: integer `_id` from the `counters` collection (the
    same ids as SQL, so tokens and URLs do not change with the backend), and normalised
    `username_key` / `email_key` fields with unique indexes for case-insensitive uniqueness."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], changes: list[object]) -> None:
        self.users = db["users"]
        self.counters = db["counters"]
        self._changes = changes

    @staticmethod
    def _record(doc: dict[str, Any]) -> UserRecord:
        return UserRecord(id=doc["_id"], **{k: doc[k] for k in USER_FIELDS if k != "id"})

    async def get(self, user_id: int) -> UserRecord | None:
        """A user by id."""
        doc = await self.users.find_one({"_id": user_id})
        return None if doc is None else self._record(doc)

    async def get_by_login(self, login: str) -> UserRecord | None:
        """A user by username or email (case-insensitive)."""
        needle = _login_key(login)
        if needle is None:
            return None
        doc = await self.users.find_one({"$or": [{"username_key": needle}, {"email_key": needle}]})
        return None if doc is None else self._record(doc)

    async def get_by_email(self, email: str) -> UserRecord | None:
        """A user by email only (case-insensitive)."""
        doc = await self.users.find_one({"email_key": email.strip().lower()})
        return None if doc is None else self._record(doc)

    async def get_by_username(self, username: str) -> UserRecord | None:
        """A user by username only (case-insensitive)."""
        doc = await self.users.find_one({"username_key": username.strip().lower()})
        return None if doc is None else self._record(doc)

    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]:
        """Whether the username and the email are already taken."""
        name, mail = username.strip().lower(), email.strip().lower()
        found = [
            d
            async for d in self.users.find(
                {"$or": [{"username_key": name}, {"email_key": mail}]},
                {"username_key": 1, "email_key": 1},
            )
        ]
        return (
            any(d["username_key"] == name for d in found),
            any(d["email_key"] == mail for d in found),
        )

    async def _next_id(self) -> int:
        """The next user id (an atomic `$inc` on the users counter)."""
        return await next_id(self.counters, "users")

    async def add(self, user: NewUser) -> UserRecord:
        """Insert a user (its id assigned); UsernameOrEmailTaken on a clash (unique indexes)."""
        now = bson_now()
        record = UserRecord(
            id=await self._next_id(),
            username=user.username,
            email=user.email,
            password_hash=user.password_hash,
            subscription_tier=user.subscription_tier,
            role=user.role,
            is_active=True,
            email_verified=user.email_verified,
            token_version=0,
            created_at=now,
            updated_at=now,
        )
        doc: dict[str, Any] = {"_id": record.id}
        doc.update({k: getattr(record, k) for k in USER_FIELDS if k != "id"})
        doc["username_key"] = user.username.strip().lower()
        doc["email_key"] = user.email.strip().lower()
        try:
            await self.users.insert_one(doc)
        except DuplicateKeyError as exc:
            raise UsernameOrEmailTaken(user.username) from exc
        self._changes.append(record)
        return record

    async def lock(self, user_id: int) -> UserRecord | None:
        """The user (MongoDB takes no lock: limits there are atomic conditional updates)."""
        return await self.get(user_id)

    async def set_tier(self, user_id: int, tier: str) -> bool:
        """Change a user's tier; whether the user exists."""
        result = await self.users.update_one(
            {"_id": user_id}, {"$set": {"subscription_tier": tier, "updated_at": bson_now()}}
        )
        if result.matched_count:
            self._changes.append(UserChanged(user_id))
        return result.matched_count == 1

    async def update(self, user_id: int, change: UserUpdate) -> UserRecord | None:
        """Apply `change` in one atomic `find_one_and_update`; the user after it, or None (no
        such user, or the password hash was no longer `if_password_hash`)."""
        query: dict[str, Any] = {"_id": user_id}
        if change.if_password_hash is not None:
            query["password_hash"] = change.if_password_hash
        ops: dict[str, Any] = {"$set": {**change.values(), "updated_at": bson_now()}}
        if change.bump_token_version:
            ops["$inc"] = {"token_version": 1}
        doc = await self.users.find_one_and_update(query, ops, return_document=ReturnDocument.AFTER)
        if doc is None:
            return None
        self._changes.append(UserChanged(user_id))
        return self._record(doc)
