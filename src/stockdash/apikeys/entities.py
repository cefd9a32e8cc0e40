"""API key domain values: what crosses the service boundary instead of database rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A user's read-only API key (only the SHA-256 of the secret is kept)."""

    id: int
    user_id: int
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """What a new key is created from."""

    user_id: int
    name: str
    prefix: str
    key_hash: str


class KeyLimitReached(Exception):
    """The user already holds as many API keys as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} API keys")
        self.limit = limit
