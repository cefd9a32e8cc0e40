"""Request and response bodies for accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from stockdash.subscriptions.tiers import AnalystModel, Tier
from stockdash.users.identity import USERNAME_PATTERN, canonical_email, looks_like_another, nfkc


def _nfkc(value: object) -> object:
    return nfkc(value) if isinstance(value, str) else value


def _email(address: str) -> str:
    local = address.rpartition("@")[0]
    if looks_like_another(local):
        raise ValueError("the part before @ mixes in letters that look like Latin ones")
    return canonical_email(address)


# NFKC first, so a fullwidth "alice" is the plain one (and taken if "alice" is).
Username = Annotated[
    str,
    BeforeValidator(_nfkc),
    StringConstraints(strip_whitespace=True, min_length=3, max_length=32, pattern=USERNAME_PATTERN),
]
# One spelling per mailbox: NFKC, lower case, punycode domain; look-alike local parts refused.
Email = Annotated[EmailStr, BeforeValidator(_nfkc), AfterValidator(_email)]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class UserCreate(BaseModel):
    """Sign-up form."""

    model_config = ConfigDict(extra="forbid")

    username: Username = Field(
        description="3-32 letters, digits, `_`, `.` or `-`; starting and ending with a letter "
        "or digit, no two of `_.-` in a row."
    )
    email: Email
    password: Password = Field(
        description="At least 8 characters, and not easy to guess (zxcvbn score >= "
        "PASSWORD_MIN_SCORE, 3 by default; 422 `weak_password` otherwise)."
    )


class UserPublic(BaseModel):
    """A user as the API shows them: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    subscription_tier: Tier
    max_stocks: int
    allowed_models: list[AnalystModel]
    role: Literal["user", "admin"]
    is_active: bool
    email_verified: bool
    created_at: datetime


class TokenResponse(BaseModel):
    """An OAuth2 bearer token and the refresh token that renews it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 scheme name
    expires_in: int = Field(description="Lifetime of the access token in seconds.")
    refresh_token: str = Field(
        description="Single-use: POST it to /auth/refresh for a new pair before it expires."
    )


OpaqueToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class RefreshRequest(BaseModel):
    """A refresh token to spend (refresh) or revoke (logout)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: OpaqueToken


class EmailTokenRequest(BaseModel):
    """The token from an emailed link."""

    model_config = ConfigDict(extra="forbid")

    token: OpaqueToken


class PasswordResetRequest(BaseModel):
    """Ask for a password reset link."""

    model_config = ConfigDict(extra="forbid")

    email: Email


class PasswordResetConfirm(BaseModel):
    """Set a new password with the token from a reset link."""

    model_config = ConfigDict(extra="forbid")

    token: OpaqueToken
    new_password: Password = Field(description="At least 8 characters.")


class PasswordChange(BaseModel):
    """Change the signed-in user's password."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=128)
    new_password: Password = Field(description="At least 8 characters.")


class MessageResponse(BaseModel):
    """A human-readable acknowledgement."""

    message: str
