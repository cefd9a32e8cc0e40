"""API key rules: high-entropy secrets shown once, stored as SHA-256, read-only use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from stockdash.apikeys.entities import KeyLimitReached, NewApiKey
from stockdash.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyPublic
from stockdash.core.db import utcnow
from stockdash.core.errors import Conflict, NotFound
from stockdash.core.metrics import API_KEY_REQUESTS
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.users.records import UserRecord

KEY_SCHEME = "sdk"
MAX_KEYS_PER_USER = 20
# Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """An authenticated API key and the user it belongs to."""

    key_id: int
    user: UserRecord


def hash_key(raw: str) -> str:
    """The stored digest of a full key (SHA-256 suffices: the secret has 256 bits of entropy)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh (prefix, full key) pair."""
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def parse_prefix(raw: str) -> str | None:
    """The public prefix of a well-formed key."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        return None
    return parts[1]


async def create_key(unit: UnitOfWork, user_id: int, data: ApiKeyCreate) -> ApiKeyCreated:
    """Create a key; 409 past the per-user maximum (the caller commits)."""
    # SQL: the user row lock serialises concurrent creations; MongoDB: an atomic slot counter.
    await unit.users.lock(user_id)
    prefix, raw = new_key()
    new = NewApiKey(user_id=user_id, name=data.name, prefix=prefix, key_hash=hash_key(raw))
    try:
        key = await unit.api_keys.add_within_limit(new, MAX_KEYS_PER_USER)
    except KeyLimitReached as exc:
        raise Conflict(
            f"You already have {MAX_KEYS_PER_USER} API keys; delete one first.",
            code="api_key_limit_reached",
            details={"max_keys": MAX_KEYS_PER_USER},
        ) from exc
    return ApiKeyCreated(**ApiKeyPublic.model_validate(key).model_dump(), key=raw)


async def list_keys(unit: UnitOfWork, user_id: int) -> ApiKeyList:
    """A user's keys without secrets."""
    keys = await unit.api_keys.list_for_user(user_id)
    return ApiKeyList(data=[ApiKeyPublic.model_validate(k) for k in keys], count=len(keys))


async def delete_key(unit: UnitOfWork, user_id: int, key_id: int) -> None:
    """Revoke one of the user's keys; 404 for anyone else's (the caller commits)."""
    if not await unit.api_keys.remove(user_id, key_id):
        raise NotFound("No such API key.", code="api_key_not_found")


async def authenticate(storage: Storage, raw: str) -> KeyOwner | None:
    """The key and its active owner for a presented key, recording the use; None if invalid."""
    owner = await _authenticate(storage, raw)
    API_KEY_REQUESTS.labels("accepted" if owner else "rejected").inc()
    return owner


async def _authenticate(storage: Storage, raw: str) -> KeyOwner | None:
    prefix = parse_prefix(raw)
    if prefix is None:
        return None
    async with storage.unit() as unit:
        key = await unit.api_keys.by_prefix(prefix)
        if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw.strip())):
            return None
        user = await unit.users.get(key.user_id)
        if user is None or not user.is_active:
            return None
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_INTERVAL:
            await unit.api_keys.touch(key.id, now)
            await unit.commit()
        return KeyOwner(key.id, user)
