"""Request and response bodies for accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from stockdash.subscriptions.tiers import AnalystModel, Tier

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$"
    ),
]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class UserCreate(BaseModel):
    """Sign-up form."""

    model_config = ConfigDict(extra="forbid")

    username: Username = Field(description="3-32 letters, digits, `_`, `.` or `-`.")
    email: EmailStr
    password: Password = Field(description="At least 8 characters.")


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
    """An OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 scheme name
    expires_in: int = Field(description="Lifetime in seconds.")
