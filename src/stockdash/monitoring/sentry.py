"""Error reporting to Sentry (sentry-sdk) when SENTRY_DSN is set; nothing at all otherwise."""

from __future__ import annotations

import sentry_sdk

from stockdash import __version__
from stockdash.core.config import Settings


def init_sentry(settings: Settings, role: str) -> bool:
    """Start the Sentry client for this process (FastAPI/Starlette are auto-enabled, logged
    errors become events, queue failures come through the taskiq middleware); False if off."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        release=f"stockdash@{__version__}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        # PII collection is left at the SDK's default, off: no user emails, IPs, cookies or
        # auth headers in the request data. Frame locals are off too: an ASGI scope in a frame
        # holds the raw headers (bearer tokens, cookies, API keys), which no scrubber sees.
        include_local_variables=False,
    )
    sentry_sdk.set_tag("role", role)
    return True
