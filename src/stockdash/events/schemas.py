"""The live-stream API's shapes."""

from __future__ import annotations

from pydantic import BaseModel


class StreamToken(BaseModel):
    """A stream token for `GET /api/v1/events?token=...` (valid `expires_in` seconds, for that
    route only: never send your access token in a URL)."""

    token: str
    expires_in: int
    url: str
