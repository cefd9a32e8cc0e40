"""Stream tokens: short-lived, single-purpose credentials for `GET /api/v1/events`.

A browser's `EventSource` cannot send an Authorization header, and an access token in a URL
lands in proxy logs. So the client trades its bearer token for a stream token (valid for a
minute, for this one route only) and puts that in the URL. It is signed with a key derived from
the JWT secret for this purpose alone, so it can never pass as an access token (nor the reverse).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import jwt

from stockdash.core.config import Settings
from stockdash.core.errors import NotAuthenticated

AUDIENCE = "stockdash:events"


@dataclass(frozen=True, slots=True)
class StreamClaims:
    """Who a stream token was issued to: the user, their token version and login session."""

    user_id: int
    token_version: int
    session_id: str | None


def _key(settings: Settings) -> str:
    return hashlib.sha256(f"events-stream|{settings.jwt_secret_key}".encode()).hexdigest()


def issue_stream_token(settings: Settings, claims: StreamClaims) -> str:
    """A signed stream token for these claims, valid `events_token_seconds`."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": str(claims.user_id),
        "ver": claims.token_version,
        "sid": claims.session_id,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + settings.events_token_seconds,
    }
    return jwt.encode(payload, _key(settings), algorithm="HS256")


def verify_stream_token(settings: Settings, token: str) -> StreamClaims:
    """The claims of a valid stream token; 401 otherwise."""
    try:
        payload = jwt.decode(
            token[:2048],
            _key(settings),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
        return StreamClaims(int(payload["sub"]), int(payload["ver"]), payload.get("sid"))
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
        raise NotAuthenticated(
            "Invalid or expired stream token: get a new one from POST /api/v1/events/token.",
            code="invalid_stream_token",
        ) from exc
