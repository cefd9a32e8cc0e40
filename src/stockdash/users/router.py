"""Sign-up, login, sessions, email verification, password reset and the current user's profile."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from stockdash.container import ContainerDep, UnitOfWorkDep
from stockdash.core.deps import SettingsDep
from stockdash.core.errors import AppError, Forbidden, error_responses
from stockdash.core.metrics import USER_LOGINS, USER_REGISTRATIONS
from stockdash.core.ratelimit import RateLimiterDep
from stockdash.core.routes import RetryRoute
from stockdash.notifications.deps import EmailSenderDep
from stockdash.notifications.email import deliver
from stockdash.users import account, service, sessions
from stockdash.users.deps import (
    CurrentUser,
    failed_login_guard,
    limit_password_reset,
    limit_register,
    limit_reset_address,
    limit_verify_resend,
)
from stockdash.users.schemas import (
    EmailTokenRequest,
    MessageResponse,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserPublic,
)

auth_router = APIRouter(
    route_class=RetryRoute, prefix="/auth", tags=["auth"], responses=error_responses(422)
)
users_router = APIRouter(
    route_class=RetryRoute, prefix="/users", tags=["users"], responses=error_responses(401)
)


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=error_responses(403, 409, 429, 503),
    dependencies=[Depends(limit_register)],
)
async def register(
    data: UserCreate,
    unit: UnitOfWorkDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    sender: EmailSenderDep,
) -> UserPublic:
    """Create an account on the free tier and email a link that verifies its address."""
    if not settings.feature_user_registration:
        raise Forbidden("Registration is closed on this server.", code="registration_disabled")
    user, email = await account.sign_up(unit, data, settings)
    await unit.commit()
    USER_REGISTRATIONS.inc()
    background.add_task(deliver, sender, email)
    return service.to_public(user)


@auth_router.post(
    "/login", response_model=TokenResponse, responses=error_responses(401, 403, 429, 503)
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    unit: UnitOfWorkDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> TokenResponse:
    """Exchange a username (or email) and password for an access and a refresh token."""
    try:
        user = await service.authenticate(
            unit,
            form.username,
            form.password,
            rounds=settings.bcrypt_rounds,
            attempt=partial(failed_login_guard, request, limiter),
        )
    except AppError:
        USER_LOGINS.labels("failure").inc()
        raise
    USER_LOGINS.labels("success").inc()
    pair = await sessions.start_session(unit, user, settings)
    await unit.commit()
    return _token_response(pair)


@users_router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> UserPublic:
    """The signed-in user's profile, tier limits and allowed models."""
    return service.to_public(user)


def _token_response(pair: sessions.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access.token,
        expires_in=pair.access.expires_in,
        refresh_token=pair.refresh_token,
    )


@auth_router.post("/refresh", response_model=TokenResponse, responses=error_responses(401))
async def refresh(
    body: RefreshRequest, unit: UnitOfWorkDep, settings: SettingsDep
) -> TokenResponse:
    """Spend a refresh token for a new access and refresh token (reusing one ends the session)."""
    try:
        pair = await sessions.rotate(unit, body.refresh_token, settings)
    except sessions.RefreshReused:
        await unit.commit()  # the family's revocation stands though the request fails
        raise
    await unit.commit()
    return _token_response(pair)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(body: RefreshRequest, unit: UnitOfWorkDep) -> Response:
    """Revoke the refresh token's session."""
    await sessions.logout(unit, body.refresh_token)
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post("/verify", response_model=MessageResponse)
async def verify_email(body: EmailTokenRequest, unit: UnitOfWorkDep) -> MessageResponse:
    """Confirm an email address with the token from the emailed link (works once)."""
    await account.verify_email(unit, body.token)
    await unit.commit()
    return MessageResponse(message="Your email address is verified.")


@auth_router.post(
    "/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageResponse,
    responses=error_responses(401, 409, 429),
    dependencies=[Depends(limit_verify_resend)],
)
async def resend_verification_email(
    user: CurrentUser,
    unit: UnitOfWorkDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    sender: EmailSenderDep,
) -> MessageResponse:
    """Email a new verification link to the signed-in user (earlier links stop working)."""
    email = await account.resend_verification(unit, user, settings)
    await unit.commit()
    background.add_task(deliver, sender, email)
    return MessageResponse(message=f"A new verification link is on its way to {user.email}.")


@auth_router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageResponse,
    dependencies=[Depends(limit_password_reset)],
    responses=error_responses(429),
)
async def request_password_reset(
    body: PasswordResetRequest,
    container: ContainerDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    background: BackgroundTasks,
    sender: EmailSenderDep,
) -> MessageResponse:
    """Email a password reset link; the answer is the same whether or not the address is known.

    The lookup, the token and the email all happen after the answer, so its timing is the same
    for every address too.
    """
    await limit_reset_address(limiter, settings, body.email)
    background.add_task(
        account.send_password_reset, container.storage, sender, body.email, settings
    )
    return MessageResponse(message=account.RESET_REQUESTED_MESSAGE)


@auth_router.post(
    "/password-reset/confirm", response_model=MessageResponse, responses=error_responses(503)
)
async def confirm_password_reset(
    body: PasswordResetConfirm, unit: UnitOfWorkDep, settings: SettingsDep
) -> MessageResponse:
    """Set a new password with a reset token; every earlier session is signed out."""
    await account.reset_password(unit, body.token, body.new_password, settings)
    await unit.commit()
    return MessageResponse(message="Your password has been changed; sign in with the new one.")


@users_router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(403, 422, 429, 503),
)
async def change_password(
    request: Request,
    body: PasswordChange,
    user: CurrentUser,
    unit: UnitOfWorkDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> Response:
    """Change your password; every earlier session and API key, this one included, is revoked.

    A wrong current password counts as a failed login (429 past the limits).
    """
    await account.change_password(
        unit,
        user.id,
        body.current_password,
        body.new_password,
        settings,
        attempt=partial(failed_login_guard, request, limiter),
    )
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
