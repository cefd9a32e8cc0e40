"""Structured logs: every record, stockdash's, uvicorn's and the libraries', goes through one
structlog pipeline and comes out as one JSON object per line (LOG_FORMAT=json) carrying the
request id of the request or job it belongs to. Secrets are redacted before rendering."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import structlog
from asgi_correlation_id import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockdash.apikeys.service import KEY_SCHEME
from stockdash.core.metrics import HTTP_IN_FLIGHT

REDACTED = "[redacted]"
# Field names whose values are secret whatever they hold.
SECRET_KEY = re.compile(r"pass(word)?|secret|token|authori[sz]ation|api[_-]?key|cookie|dsn", re.I)
# Secrets inside free text: JWTs, API keys, ?token= links, credentials in URLs, bearer headers.
SECRET_TEXT = (
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"), REDACTED),
    (re.compile(rf"\b{re.escape(KEY_SCHEME)}_[\w-]+"), REDACTED),
    (re.compile(r"(?i)(token=)[^&\s\"'<>]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.I), rf"\g<1>{REDACTED}@"),
    (re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"), rf"\g<1>{REDACTED}"),
)
_HANDLER_NAME = "stockdash-structlog"
ACCESS_LOGGER = "stockdash.access"


def scrub(text: str) -> str:
    """Text with every recognisable secret replaced."""
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: secret fields replaced, secrets in text scrubbed."""
    for key, value in list(event.items()):
        if SECRET_KEY.search(key):
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = scrub(value)
    return event


def add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current request's (or job's) id, when there is one."""
    request_id = correlation_id.get()
    if request_id and "request_id" not in event:
        event["request_id"] = request_id
    return event


def drop_color_message(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: uvicorn's ANSI-coloured copy of its message is noise in JSON."""
    event.pop("color_message", None)
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class AccessLineWriter:
    """Writes JSON access lines straight to the log handler's stream: the same fields, request id
    and timestamp as the structlog pipeline renders, at a fraction of its cost (an access line is
    written for every request; the stdlib logging round trip cost more than a cached request)."""

    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self.handler = handler
        self.logger = logging.getLogger(ACCESS_LOGGER)

    def write(self, fields: dict[str, Any]) -> None:
        """One access line (dropped when the access logger is disabled or above INFO)."""
        if self.logger.disabled or not self.logger.isEnabledFor(logging.INFO):
            return
        line: dict[str, Any] = {"event": "request", **fields}
        request_id = correlation_id.get()
        if request_id:
            line["request_id"] = request_id
        line["path"] = scrub(str(line.get("path", "")))
        line.update(
            level="info",
            logger=ACCESS_LOGGER,
            timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        text = json.dumps(line) + "\n"
        with self.handler.lock or contextlib.nullcontext():
            self.handler.stream.write(text)
            self.handler.flush()


# Set by configure_logging when lines are JSON; None: access lines go through structlog.
_access_writer: AccessLineWriter | None = None


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route the standard library's logging through structlog (idempotent; keeps handlers that
    others, e.g. pytest, installed on the root logger)."""
    global _access_writer
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    _access_writer = AccessLineWriter(handler) if fmt == "json" else None
    root.setLevel(level.upper())
    # uvicorn's loggers log through the root handler; its access log is replaced by ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class AccessLogMiddleware:
    """One access-log line per HTTP request (method, path without the query, status, duration),
    inside the request-id middleware so it carries the request's id; counts requests in flight."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = structlog.get_logger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and log how it ended."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering
        logged = False

        def log() -> None:
            nonlocal logged
            logged = True
            client = scope.get("client")
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "client": client[0] if client else None,
            }
            if _access_writer is not None:
                _access_writer.write(fields)
            else:
                self.logger.info("request", **fields)

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            # Logged when the response is complete, not after the background tasks that run
            # in the same call (a watchlist add's warm-up would count as response time).
            if message["type"] == "http.response.body" and not message.get("more_body"):
                log()

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, watch)
        finally:
            HTTP_IN_FLIGHT.dec()
            if not logged:
                log()
