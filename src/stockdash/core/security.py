"""Password hashing (bcrypt), JWT access tokens (PyJWT) and hashed opaque tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import bcrypt
import jwt
from cachetools import LRUCache

from stockdash.core.errors import ServiceUnavailable

BCRYPT_ROUNDS = 12
# A bearer token of this app is ~300 characters; nothing longer is worth decoding.
MAX_ACCESS_TOKEN_CHARS = 4096
_ISSUER = "stockdash"


def _encode(text: str) -> bytes:
    # surrogatepass: a lone surrogate must never turn a hash into a 500 (the edge refuses them too).
    return text.encode("utf-8", "surrogatepass")


def _prehash(password: str) -> bytes:
    # bcrypt ignores bytes past 72; a SHA-256 prehash keeps long passphrases fully significant.
    return base64.b64encode(hashlib.sha256(_encode(password)).digest())


def _hash_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def _check_sync(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    """A hash to verify against when the user does not exist, so both paths take the same time."""
    return _hash_sync(secrets.token_urlsafe(16), rounds)


def _verify_sync(password: str, password_hash: str | None, rounds: int) -> bool:
    if password_hash is None:
        _check_sync(password, _dummy_hash(rounds))
        return False
    return _check_sync(password, password_hash)


T = TypeVar("T")


class PasswordHasher:
    """bcrypt on its own small pool, so password checks never take the threads other work needs.

    bcrypt is CPU-bound: more threads than cores only make every check slower. A check that
    would wait longer than `max_wait` seconds behind the ones in flight (from the measured cost
    of recent checks), or that finds `max_pending` in flight, is refused at once (503 with
    Retry-After) rather than queued: the bound follows the real cost, so a burst of cheap checks
    queues where a burst of expensive ones is shed.
    """

    def __init__(self, threads: int, max_pending: int, max_wait: float = 4.0) -> None:
        self.threads = threads
        self.max_pending = max_pending
        self.max_wait = max_wait
        self.pending = 0
        # Seconds one check takes, a moving average (a guess until the first is measured).
        self.cost = 0.1
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="bcrypt")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run one hash operation on the pool; 503 password_check_busy when the queue is full."""
        expected_wait = self.pending * self.cost / self.threads
        if self.pending >= self.max_pending or expected_wait > self.max_wait:
            raise ServiceUnavailable(
                "The server is busy checking passwords; try again in a moment.",
                code="password_check_busy",
                headers={"Retry-After": "1"},
            )
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._timed, work, *args
            )
        finally:
            self.pending -= 1

    def _timed(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work` and fold its duration into the moving average cost."""
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            self.cost = 0.8 * self.cost + 0.2 * (time.perf_counter() - started)


_CORES = os.cpu_count() or 1
# One thread per core; at most about four seconds' worth of checks queued (and never more than
# 256 per core, whatever they cost).
HASHER = PasswordHasher(threads=_CORES, max_pending=256 * _CORES)


async def hash_password(password: str, *, rounds: int = BCRYPT_ROUNDS) -> str:
    """Hash a password with bcrypt on the password pool (it takes ~250 ms at 12 rounds)."""
    return await HASHER.run(_hash_sync, password, rounds)


async def verify_password(
    password: str, password_hash: str | None, *, rounds: int = BCRYPT_ROUNDS
) -> bool:
    """Check a password against its bcrypt hash in a worker thread, in constant time.

    With no hash (an unknown user) it checks against a dummy hash of the same cost and answers
    False, so both paths take the same time.
    """
    return await HASHER.run(_verify_sync, password, password_hash, rounds)


def new_opaque_token() -> str:
    """A random, URL-safe token with 256 bits of entropy (refresh tokens, email links)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which an opaque token is stored (never the token itself)."""
    return hashlib.sha256(_encode(token)).hexdigest()


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An encoded JWT and its lifetime in seconds."""

    token: str
    expires_in: int


class TokenError(Exception):
    """A token is missing, malformed, expired or signed with the wrong key."""


def create_access_token(
    subject: str,
    *,
    secret: str,
    algorithm: str,
    lifetime: timedelta,
    extra: dict[str, Any] | None = None,
) -> AccessToken:
    """Sign an access token for a user id."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "iss": _ISSUER,
        "type": "access",
        "jti": secrets.token_hex(8),
        **(extra or {}),
    }
    return AccessToken(
        jwt.encode(claims, secret, algorithm=algorithm), int(lifetime.total_seconds())
    )


# Tokens this process has verified, with their claims: a client sends the same token with every
# request, and checking a signature costs more than the rest of a cached request. Expiry is
# still checked on every use; revocation is the caller's check of the token version.
_verified_process_local: LRUCache[tuple[str, str, str], dict[str, Any]] = LRUCache(4096)


def decode_access_token(token: str, *, secret: str, algorithm: str) -> dict[str, Any]:
    """Verify signature, expiry, issuer and type; return the claims."""
    if len(token) > MAX_ACCESS_TOKEN_CHARS:
        raise TokenError("token too long")
    key = (token, secret, algorithm)
    known = _verified_process_local.get(key)
    if known is not None:
        if known["exp"] <= time.time():
            _verified_process_local.pop(key, None)
            raise TokenError("Signature has expired")
        return dict(known)
    claims = _decode_access_token(token, secret=secret, algorithm=algorithm)
    _verified_process_local[key] = claims
    return dict(claims)


def _decode_access_token(token: str, *, secret: str, algorithm: str) -> dict[str, Any]:
    """The full verification (signature, expiry, issuer, type)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            issuer=_ISSUER,
            options={"require": ["sub", "exp", "iat", "iss", "type"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from exc
    if claims.get("type") != "access":
        raise TokenError("not an access token")
    return claims
