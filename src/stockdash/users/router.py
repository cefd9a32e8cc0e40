"""Sign-up, login and the current user's profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from stockdash.core.deps import CurrentUser, SessionDep, SettingsDep
from stockdash.core.errors import Forbidden, error_responses
from stockdash.users import service
from stockdash.users.schemas import TokenResponse, UserCreate, UserPublic

auth_router = APIRouter(prefix="/auth", tags=["auth"], responses=error_responses(422))
users_router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(401))


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=error_responses(403, 409),
)
async def register(data: UserCreate, session: SessionDep, settings: SettingsDep) -> UserPublic:
    """Create an account on the free tier."""
    if not settings.feature_user_registration:
        raise Forbidden("Registration is closed on this server.", code="registration_disabled")
    user = await service.register(session, data, rounds=settings.bcrypt_rounds)
    return service.to_public(user)


@auth_router.post("/login", response_model=TokenResponse, responses=error_responses(401, 403))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    """Exchange a username (or email) and password for a bearer token."""
    user = await service.authenticate(
        session, form.username, form.password, rounds=settings.bcrypt_rounds
    )
    token = service.issue_token(user, settings)
    return TokenResponse(access_token=token.token, expires_in=token.expires_in)


@users_router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> UserPublic:
    """The signed-in user's profile, tier limits and allowed models."""
    return service.to_public(user)
