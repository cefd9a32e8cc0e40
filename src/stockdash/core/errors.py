"""Application errors and the handlers that turn every failure into one stable JSON shape."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import OperationFailure
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from stockdash.core.mongo import MONGO_FAILURES, is_transient

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


class AppError(Exception):
    """An expected failure with a status, a stable code and a human message."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers
        if code:
            self.code = code


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "validation_error"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error shape every endpoint returns."""
    return {"error": {"code": code, "message": message, "details": details}}


def printable(text: str) -> str:
    """Text that always encodes as UTF-8: lone surrogates become `\\udXXX` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def json_safe(value: Any) -> Any:
    """A JSON-encodable copy: printable strings and keys, non-finite floats as their names."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {printable(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _encode_bytes(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(
        error_body(exc.code, exc.message, json_safe(jsonable_encoder(exc.details))),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = printable(exc.detail) if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


# A caller's mistake needs a few errors to fix, not one per bad value: the rest are counted.
MAX_REPORTED_ERRORS = 10
MAX_ECHOED_CHARS = 64
_SECRET_FIELDS = ("password", "token", "secret", "key")


def _is_secret(loc: Sequence[Any]) -> bool:
    return any(isinstance(p, str) and any(s in p.lower() for s in _SECRET_FIELDS) for p in loc)


def _echo(value: Any) -> Any:
    """A short, encodable copy of a scalar input; containers and long bytes are left out."""
    if isinstance(value, bytes):
        value = _encode_bytes(value[: MAX_ECHOED_CHARS * 4])
    if isinstance(value, str):
        text = printable(value)
        return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "…"
    if value is None or isinstance(value, bool | int | float):
        return json_safe(value)
    return None


def _bounded_error(error: dict[str, Any]) -> dict[str, Any]:
    """One error reported with its place, type and message, its input truncated (never secrets)."""
    loc = [
        p if isinstance(p, int) else printable(str(p))[:MAX_ECHOED_CHARS]
        for p in error.get("loc", ())
    ]
    out: dict[str, Any] = {"type": str(error.get("type")), "loc": loc, "msg": str(error.get("msg"))}
    if "input" in error and not _is_secret(loc):
        out["input"] = _echo(error["input"])
    ctx = error.get("ctx")
    if isinstance(ctx, dict):
        out["ctx"] = {
            str(k): _echo(v) if not isinstance(v, Exception) else str(v) for k, v in ctx.items()
        }
    return out


def _validation_details(errors: Sequence[Any]) -> list[Any]:
    """The first few of FastAPI's errors, small and encodable whatever the input was."""
    return [_bounded_error(e) for e in errors[:MAX_REPORTED_ERRORS]]


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    details = _validation_details(errors)
    fields = list(dict.fromkeys(".".join(str(p) for p in e["loc"][1:]) or "body" for e in details))
    message = "Invalid input: " + ", ".join(fields) if fields else "Invalid input."
    if len(errors) > len(details):
        message += f" (and {len(errors) - len(details)} more errors)"
    return JSONResponse(error_body("validation_error", message, details), status_code=422)


# What a down, unreachable or black-holed database raises: the driver's connection errors
# (SQLAlchemy wraps them as OperationalError/InterfaceError), the pool's wait timeout, on
# MongoDB PyMongo's connection failures (no server selectable, network errors), and (see
# `from_database`) a refused socket or asyncpg's connect or command timeout.
DATABASE_FAILURES: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    *MONGO_FAILURES,
)
# Raised by anything that talks over a socket: the database's only when it comes from its driver.
SOCKET_FAILURES: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)
DATABASE_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "psycopg", "pymongo")
# Seconds a client is asked to wait after a 503 database_unavailable or service_unavailable.
DATABASE_RETRY_AFTER_SECONDS = 5


def from_database(exc: BaseException) -> bool:
    """Whether a socket error or timeout was raised inside the database driver or SQLAlchemy
    (a frame of theirs on its way up, in it or in what it was raised from or during: a
    deadline that cancelled a query raises from the cancelled query)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            module = str(tb.tb_frame.f_globals.get("__name__", ""))
            if module.split(".", 1)[0] in DATABASE_MODULES:
                return True
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return False


# PostgreSQL refusing to go on for now, not a bug: statement_timeout or a cancelled query,
# lock_timeout, a serialization failure, a deadlock victim. A retry later can succeed.
DATABASE_BUSY_SQLSTATES = frozenset({"57014", "55P03", "40001", "40P01"})


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    """The SQLSTATE of the driver's error (asyncpg's adapted error, or psycopg's pgcode)."""
    orig = exc.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


async def _driver_error(request: Request, exc: Exception) -> JSONResponse:
    """A driver error SQLAlchemy recognised as a lost connection (the server went away in
    the middle of a query), or one where the server gave up for now (a statement or lock
    timeout under load, a deadlock), is the database being unavailable; any other is a bug."""
    assert isinstance(exc, sa_exc.DBAPIError)
    if exc.connection_invalidated or _sqlstate(exc) in DATABASE_BUSY_SQLSTATES:
        return await _database_unavailable(request, exc)
    return await _unexpected_error(request, exc)


async def _mongo_error(request: Request, exc: Exception) -> JSONResponse:
    """A MongoDB transaction that still conflicted once its retries ran out is the database
    being busy (as a PostgreSQL serialization failure is); any other error is a bug."""
    if is_transient(exc):
        return await _database_unavailable(request, exc)
    return await _unexpected_error(request, exc)


async def _socket_failure(request: Request, exc: Exception) -> JSONResponse:
    """A timeout or refused connection: the database's (503 database_unavailable) when its
    driver raised it, else another dependency's (503 service_unavailable), never a 500."""
    if from_database(exc):
        return await _database_unavailable(request, exc)
    return _unavailable(
        request,
        exc,
        "dependency unavailable",
        "service_unavailable",
        "A service this request needs did not answer in time; try again shortly.",
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return _unavailable(
        request,
        exc,
        "database unavailable",
        "database_unavailable",
        "The database is not reachable right now; try again shortly.",
    )


def _unavailable(
    request: Request, exc: Exception, what: str, code: str, message: str
) -> JSONResponse:
    """A 503 with Retry-After in the usual shape, logged as one line without a traceback (an
    outage would otherwise log one per request)."""
    logger.warning(
        "%s on %s %s: %s: %s",
        what,
        request.method,
        request.url.path,
        type(exc).__name__,
        str(exc).splitlines()[0][:200] if str(exc) else "",
    )
    return JSONResponse(
        error_body(code, message, {"retry_after": DATABASE_RETRY_AFTER_SECONDS}),
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "Something went wrong on our side; it has been logged."),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception type to the stable error shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for failure in DATABASE_FAILURES:
        app.add_exception_handler(failure, _database_unavailable)
    app.add_exception_handler(sa_exc.DBAPIError, _driver_error)
    app.add_exception_handler(OperationFailure, _mongo_error)
    for failure in SOCKET_FAILURES:
        app.add_exception_handler(failure, _socket_failure)
    app.add_exception_handler(Exception, _unexpected_error)


class ErrorDetail(BaseModel):
    """The body of an error."""

    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """Every non-2xx response."""

    error: ErrorDetail


VALIDATION_ERROR_DESCRIPTION = (
    "Invalid input: a field failed validation (`validation_error`, FastAPI's field errors in "
    "`details`), or the path, query or body holds a NUL character or an unpaired surrogate "
    "(`invalid_text`)."
)


def document_validation_errors(app: FastAPI) -> None:
    """Describe 422 on every operation with the stable error body FastAPI's default hides.

    Any request can get a 422: invalid text is refused before routing, whatever the route.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _use_error_body_for_422(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _use_error_body_for_422(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" not in components:
        model = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model.pop("$defs", {}))
        components["ErrorResponse"] = model
    answer = {
        "description": VALIDATION_ERROR_DESCRIPTION,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"]["422"] = answer
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and f'/{unused}"' not in json.dumps(schema):
            del components[unused]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response declarations for the given error statuses."""
    return {
        status: {"model": ErrorResponse, "description": _STATUS_CODES[status].replace("_", " ")}
        for status in statuses
    }
