"""All queries on refresh tokens and one-time email tokens (SQL and MongoDB), looked up by
hash only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stockdash.core.mongo import bson_time, next_id
from stockdash.users.models import EmailToken, RefreshToken

REFRESH_FIELDS = (
    "id",
    "user_id",
    "family_id",
    "token_hash",
    "parent_id",
    "created_at",
    "expires_at",
    "revoked_at",
    "replaced_by",
)


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """One refresh token of a login session (a family); only its hash is stored."""

    id: int
    user_id: int
    family_id: str
    token_hash: str
    parent_id: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    replaced_by: int | None


@dataclass(frozen=True, slots=True)
class NewRefreshToken:
    """What a refresh token is stored from."""

    user_id: int
    family_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    parent_id: int | None = None


class RefreshTokenRepository(Protocol):
    """Storage of refresh tokens, whatever the backend."""

    async def add(self, token: NewRefreshToken) -> RefreshTokenRecord: ...
    async def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None: ...
    async def spend(self, token_id: int, now: datetime) -> bool: ...
    async def set_replaced_by(self, token_id: int, child_id: int) -> None: ...
    async def revoke_family(self, family_id: str, now: datetime) -> int: ...
    async def revoke_all_for_user(self, user_id: int, now: datetime) -> int: ...
    async def family_alive(self, family_id: str, now: datetime) -> bool: ...
    async def users_with_sessions_since(self, since: datetime) -> int: ...


EMAIL_TOKEN_FIELDS = (
    "id",
    "user_id",
    "purpose",
    "token_hash",
    "created_at",
    "expires_at",
    "used_at",
)


@dataclass(frozen=True, slots=True)
class EmailTokenRecord:
    """A single-use token sent by email (verification, password reset); only its hash is stored."""

    id: int
    user_id: int
    purpose: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewEmailToken:
    """What an email token is stored from."""

    user_id: int
    purpose: str
    token_hash: str
    created_at: datetime
    expires_at: datetime


class EmailTokenRepository(Protocol):
    """Storage of one-time email tokens, whatever the backend."""

    async def add(self, token: NewEmailToken) -> EmailTokenRecord: ...
    async def get_by_hash(self, token_hash: str, purpose: str) -> EmailTokenRecord | None: ...
    async def use(self, token_id: int, now: datetime) -> bool: ...
    async def invalidate(self, user_id: int, purpose: str, now: datetime) -> int: ...


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _refresh_record(row: RefreshToken) -> RefreshTokenRecord:
    return RefreshTokenRecord(**{name: getattr(row, name) for name in REFRESH_FIELDS})


class SqlRefreshTokenRepository:
    """Refresh tokens in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: NewRefreshToken) -> RefreshTokenRecord:
        """Insert a token (its id assigned)."""
        row = RefreshToken(
            user_id=token.user_id,
            family_id=token.family_id,
            token_hash=token.token_hash,
            parent_id=token.parent_id,
            created_at=token.created_at,
            expires_at=token.expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return _refresh_record(row)

    async def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        """The token stored under this hash."""
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _refresh_record(row)

    async def spend(self, token_id: int, now: datetime) -> bool:
        """Revoke a live token; False when it was already revoked (a concurrent use won)."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    async def set_replaced_by(self, token_id: int, child_id: int) -> None:
        """Link a spent token to the one that replaced it."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == token_id)
            .values(replaced_by=child_id)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        """Revoke every live token of a login session; how many were live."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt))

    async def revoke_all_for_user(self, user_id: int, now: datetime) -> int:
        """Revoke every live token of a user; how many were live."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt))

    async def family_alive(self, family_id: str, now: datetime) -> bool:
        """Whether a login session still holds an unspent, unexpired, unrevoked token."""
        stmt = (
            select(RefreshToken.id)
            .where(
                RefreshToken.family_id == family_id,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def users_with_sessions_since(self, since: datetime) -> int:
        """How many distinct users started or renewed a session (a refresh token) since then."""
        stmt = select(func.count(func.distinct(RefreshToken.user_id))).where(
            RefreshToken.created_at >= since
        )
        return int(await self.session.scalar(stmt) or 0)


class MongoRefreshTokenRepository:
    """Refresh tokens in MongoDB's `refresh_tokens` (integer `_id` from `counters`; unique
    `token_hash`; indexes on `family_id` and `user_id`). Spending is one conditional update
    (`revoked_at: null`), so of two concurrent uses of one token exactly one wins, as on SQL."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.tokens = db["refresh_tokens"]
        self.counters = db["counters"]

    @staticmethod
    def _record(doc: dict[str, Any]) -> RefreshTokenRecord:
        return RefreshTokenRecord(id=doc["_id"], **{k: doc[k] for k in REFRESH_FIELDS if k != "id"})

    async def add(self, token: NewRefreshToken) -> RefreshTokenRecord:
        """Insert a token (its id assigned)."""
        seq = await next_id(self.counters, "refresh_tokens")
        doc: dict[str, Any] = {
            "_id": seq,
            "user_id": token.user_id,
            "family_id": token.family_id,
            "token_hash": token.token_hash,
            "parent_id": token.parent_id,
            "created_at": bson_time(token.created_at),
            "expires_at": bson_time(token.expires_at),
            "revoked_at": None,
            "replaced_by": None,
        }
        await self.tokens.insert_one(doc)
        return self._record(doc)

    async def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        """The token stored under this hash."""
        doc = await self.tokens.find_one({"token_hash": token_hash})
        return None if doc is None else self._record(doc)

    async def spend(self, token_id: int, now: datetime) -> bool:
        """Revoke a live token; False when it was already revoked (a concurrent use won)."""
        result = await self.tokens.update_one(
            {"_id": token_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count == 1

    async def set_replaced_by(self, token_id: int, child_id: int) -> None:
        """Link a spent token to the one that replaced it."""
        await self.tokens.update_one({"_id": token_id}, {"$set": {"replaced_by": child_id}})

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        """Revoke every live token of a login session; how many were live."""
        result = await self.tokens.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count

    async def revoke_all_for_user(self, user_id: int, now: datetime) -> int:
        """Revoke every live token of a user; how many were live."""
        result = await self.tokens.update_many(
            {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count

    async def family_alive(self, family_id: str, now: datetime) -> bool:
        """Whether a login session still holds an unspent, unexpired, unrevoked token."""
        found = await self.tokens.find_one(
            {"family_id": family_id, "revoked_at": None, "expires_at": {"$gt": bson_time(now)}},
            projection={"_id": 1},
        )
        return found is not None

    async def users_with_sessions_since(self, since: datetime) -> int:
        """How many distinct users started or renewed a session (a refresh token) since then."""
        return len(
            await self.tokens.distinct("user_id", {"created_at": {"$gte": bson_time(since)}})
        )


def _email_record(row: EmailToken) -> EmailTokenRecord:
    return EmailTokenRecord(**{name: getattr(row, name) for name in EMAIL_TOKEN_FIELDS})


class SqlEmailTokenRepository:
    """One-time email tokens in a SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: NewEmailToken) -> EmailTokenRecord:
        """Insert a token (its id assigned)."""
        row = EmailToken(
            user_id=token.user_id,
            purpose=token.purpose,
            token_hash=token.token_hash,
            created_at=token.created_at,
            expires_at=token.expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return _email_record(row)

    async def get_by_hash(self, token_hash: str, purpose: str) -> EmailTokenRecord | None:
        """The token of this purpose stored under this hash."""
        stmt = select(EmailToken).where(
            EmailToken.token_hash == token_hash, EmailToken.purpose == purpose
        )
        row = (await self.session.execute(stmt)).scalars().first()
        return None if row is None else _email_record(row)

    async def use(self, token_id: int, now: datetime) -> bool:
        """Mark a token used; False when it already was (a concurrent use won)."""
        stmt = (
            update(EmailToken)
            .where(EmailToken.id == token_id, EmailToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    async def invalidate(self, user_id: int, purpose: str, now: datetime) -> int:
        """Mark every unused token of a user and purpose as used; how many there were."""
        stmt = (
            update(EmailToken)
            .where(
                EmailToken.user_id == user_id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt))


class MongoEmailTokenRepository:
    """Email tokens in MongoDB's `email_tokens` (integer `_id` from `counters`; unique
    `token_hash`; index on `user_id` + `purpose`). Using one is a conditional update
    (`used_at: null`), so a link works once even when clicked twice at the same moment."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.tokens = db["email_tokens"]
        self.counters = db["counters"]

    @staticmethod
    def _record(doc: dict[str, Any]) -> EmailTokenRecord:
        return EmailTokenRecord(
            id=doc["_id"], **{k: doc[k] for k in EMAIL_TOKEN_FIELDS if k != "id"}
        )

    async def add(self, token: NewEmailToken) -> EmailTokenRecord:
        """Insert a token (its id assigned)."""
        doc: dict[str, Any] = {
            "_id": await next_id(self.counters, "email_tokens"),
            "user_id": token.user_id,
            "purpose": token.purpose,
            "token_hash": token.token_hash,
            "created_at": bson_time(token.created_at),
            "expires_at": bson_time(token.expires_at),
            "used_at": None,
        }
        await self.tokens.insert_one(doc)
        return self._record(doc)

    async def get_by_hash(self, token_hash: str, purpose: str) -> EmailTokenRecord | None:
        """The token of this purpose stored under this hash."""
        doc = await self.tokens.find_one({"token_hash": token_hash, "purpose": purpose})
        return None if doc is None else self._record(doc)

    async def use(self, token_id: int, now: datetime) -> bool:
        """Mark a token used; False when it already was (a concurrent use won)."""
        result = await self.tokens.update_one(
            {"_id": token_id, "used_at": None}, {"$set": {"used_at": bson_time(now)}}
        )
        return result.modified_count == 1

    async def invalidate(self, user_id: int, purpose: str, now: datetime) -> int:
        """Mark every unused token of a user and purpose as used; how many there were."""
        result = await self.tokens.update_many(
            {"user_id": user_id, "purpose": purpose, "used_at": None},
            {"$set": {"used_at": bson_time(now)}},
        )
        return result.modified_count
