"""Bodies for API keys: the secret appears once, in the creation response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ApiKeyCreate(BaseModel):
    """A new key's label."""

    model_config = ConfigDict(extra="forbid")

    name: KeyName = Field(description="A label to recognise the key by, e.g. `spreadsheet`.")


class ApiKeyPublic(BaseModel):
    """A key as listed: never its secret or hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """A freshly created key, with the full secret shown this one time."""

    key: str = Field(description="Send as `X-API-Key`; it cannot be shown again.")


class ApiKeyList(BaseModel):
    """The current user's keys."""

    data: list[ApiKeyPublic]
    count: int
