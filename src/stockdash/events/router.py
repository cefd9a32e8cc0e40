"""The live stream: `POST /events/token` (with the bearer token) and `GET /events` (SSE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse

from stockdash.container import Container, container_of
from stockdash.core.config import Settings
from stockdash.core.errors import NotAuthenticated, NotFound, ServiceUnavailable, error_responses
from stockdash.core.redis import REDIS_FAILURES
from stockdash.core.security import decode_access_token
from stockdash.events import service
from stockdash.events.bus import parse_id
from stockdash.events.schemas import StreamToken
from stockdash.events.tokens import StreamClaims, issue_stream_token, verify_stream_token
from stockdash.users import sessions
from stockdash.users.deps import CurrentUser, oauth2_scheme
from stockdash.users.records import UserRecord
from stockdash.watchlist.service import cached_entries

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(401, 404, 429, 503))
EVENTS_PATH = "/api/v1/events"


def _require_feature(settings: Settings) -> None:
    if not settings.feature_real_time_updates:
        raise NotFound("Live updates are turned off on this server.", code="feature_disabled")


@router.post("/token", response_model=StreamToken, responses=error_responses(403))
async def stream_token(
    user: CurrentUser,
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> StreamToken:
    """A short-lived token for the live stream (`GET /api/v1/events?token=...`)."""
    container = container_of(request)
    settings = container.settings
    _require_feature(settings)
    # Already verified by CurrentUser (and cached): only the login session id is read here.
    claims = decode_access_token(
        token or "", secret=settings.jwt_secret_key, algorithm=settings.jwt_algorithm
    )
    value = issue_stream_token(
        settings, StreamClaims(user.id, user.token_version, claims.get("sid"))
    )
    return StreamToken(
        token=value, expires_in=settings.events_token_seconds, url=f"{EVENTS_PATH}?token={value}"
    )


@router.get(
    "",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def events(
    request: Request,
    token: Annotated[str, Query(max_length=2048, description="From POST /api/v1/events/token.")],
    last_event_id: Annotated[
        str | None,
        Query(max_length=64, description="Resume after this event (as the Last-Event-ID header)."),
    ] = None,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=64)
    ] = None,
) -> EventSourceResponse:
    """Your live updates as Server-Sent Events: `symbol.update` for your watchlist's symbols,
    `notification` for your alerts; every event has an `id:`, and a reconnect with
    `Last-Event-ID` replays what you missed exactly once (`resync` when it was too long ago);
    a heartbeat comment when quiet; `revoked` then the end when you log out."""
    container = container_of(request)
    _require_feature(container.settings)
    claims = verify_stream_token(container.settings, token)
    resume = last_event_id_header or last_event_id
    if resume is not None:
        try:
            parse_id(resume)
        except ValueError:
            resume = None  # not one of ours: start from now
    try:
        await container.events.latest_id()  # the bus answers (Redis up) before streaming starts
    except REDIS_FAILURES as exc:
        raise ServiceUnavailable(
            "Live updates are unavailable right now; try again soon.", code="events_unavailable"
        ) from exc
    recheck = _rechecker(container, claims)
    reader = await recheck()
    if reader is None:
        raise NotAuthenticated("Your session has ended: sign in again.", code="session_ended")
    heartbeat = container.settings.events_heartbeat_seconds
    body = service.stream(
        container.events, reader, recheck, last_event_id=resume, heartbeat=heartbeat
    )
    return EventSourceResponse(
        body,
        ping=int(heartbeat * 4) + 1,  # our own heartbeats come first; this is a safety net
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _rechecker(container: Container, claims: StreamClaims) -> service.Recheck:
    """Re-reads the stream's user: None once inactive, their tokens revoked (password change,
    token version bumped) or their login session ended (logout)."""

    async def recheck() -> service.StreamUser | None:
        async def load() -> UserRecord | None:
            async with container.storage.unit(read_only=True) as unit:
                return await unit.users.get(claims.user_id)

        user = await container.user_cache.user(claims.user_id, load)
        if user is None or not user.is_active or user.token_version != claims.token_version:
            return None
        if claims.session_id is not None:
            async with container.storage.unit(read_only=True) as unit:
                if not await sessions.session_alive(unit, claims.session_id):
                    return None
        entries = await cached_entries(container.user_cache, container.storage, claims.user_id)
        return service.StreamUser(
            claims.user_id, str(user.subscription_tier), frozenset(e.symbol for e in entries)
        )

    return recheck
