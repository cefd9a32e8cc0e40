"""Who is calling: the current user from a bearer token or a read-only API key, and the
per-user and account rate limits (login, sign-up, password reset, verification emails)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from stockdash.apikeys import service as apikeys
from stockdash.container import Container, ContainerDep, container_of
from stockdash.core.config import Settings
from stockdash.core.container import get_infrastructure
from stockdash.core.deps import SettingsDep
from stockdash.core.errors import Forbidden, NotAuthenticated
from stockdash.core.ratelimit import RateLimiter, RateLimiterDep, client_ip
from stockdash.core.security import TokenError, decode_access_token
from stockdash.users.identity import canonical_email
from stockdash.users.records import UserRecord
from stockdash.users.service import WrongPassword

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Read-only API key (GET routes only)."
)


def _unauthenticated(message: str) -> NotAuthenticated:
    return NotAuthenticated(message, headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    container: ContainerDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> UserRecord:
    """The active user the bearer token belongs to (a domain value, whatever the backend);
    401 otherwise.

    Served from the current-user cache while the user's version is unchanged; otherwise read
    in its own short read-only unit of work, so no transaction (and, on SQLite, no write lock)
    is held for the rest of the request.
    """
    if not token:
        raise _unauthenticated("Not authenticated: send `Authorization: Bearer <token>`.")
    settings = container.settings
    try:
        claims = decode_access_token(
            token, secret=settings.jwt_secret_key, algorithm=settings.jwt_algorithm
        )
        user_id, version = int(claims["sub"]), claims.get("ver")
    except (TokenError, ValueError) as exc:
        raise _unauthenticated("Invalid or expired token.") from exc

    async def load() -> UserRecord | None:
        # The primary: a stale secondary read after a password change would be cached under
        # the new version and let the old tokens in.
        async with container.storage.unit(read_only=True, primary=True) as unit:
            return await unit.users.get(user_id)

    user = await container.user_cache.user(user_id, load)
    # A password change bumps token_version, so tokens issued before it stop working.
    if user is None or not user.is_active or version != user.token_version:
        raise _unauthenticated("Invalid or expired token.")
    return user


def lane_authenticator(container: Container) -> Callable[[str], Awaitable[UserRecord | None]]:
    """How the fast lane knows its caller: the bearer token's user, counted against their rate
    limit like any API request; None for a token the full stack must refuse (its 401)."""

    async def authenticate(token: str) -> UserRecord | None:
        try:
            return await bearer_user(container, token)
        except NotAuthenticated:
            return None

    return authenticate


async def bearer_user(container: Container, token: str | None) -> UserRecord:
    """The bearer token's active user, counted against their plan's request limit."""
    user = await get_current_user(container, token)
    await limit_user(container.rate_limiter, container.settings, user)
    return user


def _refuse_api_key(request: Request) -> None:
    if request.method in ("GET", "HEAD"):
        raise Forbidden(
            "API keys can read market, analysis and watchlist data only.",
            code="api_key_not_allowed",
        )
    raise Forbidden("API keys are read-only.", code="api_key_read_only")


async def limit_user(limiter: RateLimiterDep, settings: Settings, user: UserRecord) -> None:
    """Count one request against the user's tier limit."""
    limit = getattr(settings, f"rate_limit_api_{user.subscription_tier}")
    await limiter.hit(limit, "api-user", str(user.id))


# The per-request dependencies below take the container from the request rather than as a
# dependency of their own: every dependency node costs a little on every request.


async def get_api_user(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> UserRecord:
    """The bearer token's user, rate-limited; an API key alone is refused (403)."""
    container = container_of(request)
    if not token and request.headers.get("x-api-key"):
        _refuse_api_key(request)
    return await bearer_user(container, token)


async def get_reader(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> UserRecord:
    """The user behind a bearer token or, on GET routes, a read-only API key; rate-limited."""
    if token or not api_key:
        return await get_api_user(request, token)
    container = container_of(request)
    if request.method not in ("GET", "HEAD"):
        _refuse_api_key(request)
    settings, limiter = container.settings, container.rate_limiter
    owner = await apikeys.authenticate(container.storage, api_key)
    if owner is None:
        raise NotAuthenticated("Invalid API key.", code="invalid_api_key")
    await limiter.hit(settings.rate_limit_api_key, "api-key", str(owner.key_id))
    await limit_user(limiter, settings, owner.user)
    request.state.api_key_id = owner.key_id
    return owner.user


CurrentUser = Annotated[UserRecord, Depends(get_api_user)]
CurrentReader = Annotated[UserRecord, Depends(get_reader)]


async def get_admin_user(user: CurrentUser) -> UserRecord:
    """The current user, who must be an admin; 403 otherwise."""
    if user.role != "admin":
        raise Forbidden("This needs an administrator account.", code="admin_required")
    return user


AdminUser = Annotated[UserRecord, Depends(get_admin_user)]


async def limit_verify_resend(
    user: CurrentUser, limiter: RateLimiterDep, settings: SettingsDep
) -> None:
    """Count a verification-email resend against the user."""
    await limiter.hit(
        settings.rate_limit_verify_resend, "verify-resend", str(user.id), what="verification emails"
    )


@asynccontextmanager
async def failed_login_guard(
    request: Request, limiter: RateLimiter, account: str
) -> AsyncIterator[None]:
    """Reserve failed-login slots for the client IP and the account around a password check.

    A wrong password (NotAuthenticated, WrongPassword) keeps the slots; any other outcome gives
    them back, so only failed attempts count, yet parallel guesses never get more checks than
    the limits allow. The account is limited per client, so a guesser elsewhere cannot lock its
    owner out, and across all clients by a higher ceiling against distributed guessing.
    """
    settings: Settings = get_infrastructure(request).settings
    ip = client_ip(request)
    reservation = await limiter.reserve(
        [
            (settings.rate_limit_login_ip, ("login-ip", ip)),
            (settings.rate_limit_login_account, ("login-account", account, ip)),
            (settings.rate_limit_login_account_total, ("login-account-total", account)),
        ],
        what="failed logins",
    )
    try:
        yield
    except (NotAuthenticated, WrongPassword):
        raise
    except Exception:
        await reservation.release()
        raise
    await reservation.release()


async def limit_password_reset(request: Request, limiter: RateLimiterDep) -> None:
    """Count a password-reset request against the client's IP (the address: `limit_reset_address`)."""
    settings: Settings = get_infrastructure(request).settings
    limit = settings.rate_limit_password_reset
    await limiter.hit(limit, "reset-ip", client_ip(request), what="password-reset requests")


async def limit_reset_address(limiter: RateLimiter, settings: Settings, address: str) -> None:
    """Count a password-reset request against the mailbox a validated address names.

    Keyed on the canonical address, so other spellings of one mailbox share one quota.
    """
    limit = settings.rate_limit_password_reset
    await limiter.hit(
        limit, "reset-email", canonical_email(address), what="password-reset requests"
    )


async def limit_register(request: Request, limiter: RateLimiterDep) -> None:
    """Count a sign-up attempt against the client's IP."""
    settings: Settings = get_infrastructure(request).settings
    await limiter.hit(
        settings.rate_limit_register_ip, "register-ip", client_ip(request), what="sign-ups"
    )
