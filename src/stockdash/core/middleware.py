"""ASGI middleware: security headers on every response, a body size limit, and a text guard."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockdash.core.errors import error_body

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Answers under these paths carry tokens, keys or personal data: no cache may keep them
# (RFC 6749 section 5.1). Public market data is cheap to serve again, so the rule is kept simple.
NO_STORE_PREFIXES = ("/api/",)
BASE_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": CSP,
}
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class SecurityHeadersMiddleware:
    """Add CSP, nosniff, referrer, framing and (on HTTPS) HSTS headers to every response."""

    def __init__(self, app: ASGIApp, *, trust_proxy_headers: bool, hsts_max_age: int) -> None:
        self.app = app
        self.trust_proxy_headers = trust_proxy_headers
        self.hsts_max_age = hsts_max_age
        # Encoded once: these run on every response, so no per-request header objects.
        self._base = _raw(BASE_SECURITY_HEADERS)
        self._api = self._base + _raw(NO_STORE_HEADERS)
        self._hsts = _raw(
            {"Strict-Transport-Security": f"max-age={hsts_max_age}; includeSubDomains"}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Any iterable of pairs may come (ASGI): copied into a list of our own.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        path = str(scope.get("path", ""))
        headers = self._api if path.startswith(NO_STORE_PREFIXES) else self._base
        if self.hsts_max_age and self._is_https(scope):
            headers = headers + self._hsts
        return headers

    def _is_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        proto = Headers(scope=scope).get("x-forwarded-proto", "")
        return self.trust_proxy_headers and proto.split(",")[0].strip().lower() == "https"


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI pairs (lower-case names)."""
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


class HeaderSizeLimitMiddleware:
    """Refuse requests whose headers together exceed max_bytes with 431, before any work."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))
            if size > self.max_bytes:
                message = f"The request headers are larger than the {self.max_bytes} bytes allowed."
                details = {"max_bytes": self.max_bytes}
                body = error_body("headers_too_large", message, details)
                await _send_json(send, 431, body)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """The streamed body went past the limit (an HTTPException so FastAPI answers it as 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than the {max_bytes} bytes allowed.")


class RequestSizeLimitMiddleware:
    """Refuse request bodies larger than max_bytes with 413, by Content-Length or as they stream."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await _send_json(
            send,
            413,
            error_body(
                "payload_too_large",
                f"The request body is larger than the {self.max_bytes} bytes allowed.",
                {"max_bytes": self.max_bytes},
            ),
        )


# NUL and UTF-16 surrogate code points: PostgreSQL text cannot hold NUL, and a lone surrogate
# (JSON allows "\ud800") cannot be encoded as UTF-8 by anything downstream.
_INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")
_MAX_REPORTED = 10
# No request body of this API holds more than a few hundred values; tens of thousands of keys or
# items are an attack on the validator (one error, and one echoed input, per value).
MAX_JSON_NODES = 5_000
INVALID_TEXT_MESSAGE = "Text may not contain NUL characters or unpaired UTF-16 surrogates"
Location = tuple[str | int, ...]


class TooComplex(Exception):
    """A JSON body with more keys and values than any request of this API needs."""


class _NonFinite:
    """A NaN or Infinity literal in a JSON body (Python's parser accepts them, JSON does not)."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _is_invalid(text: str) -> bool:
    return _INVALID_TEXT.search(text) is not None


def _label(text: str) -> str:
    """A key shown in an error location, with the offending characters escaped."""
    return _INVALID_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def invalid_json_locations(
    document: Any, max_nodes: int = MAX_JSON_NODES
) -> tuple[list[Location], list[Location]]:
    """Where a parsed JSON document holds invalid text, and where it holds NaN/Infinity (in order).

    Raises TooComplex past `max_nodes` values (keys included), before walking any further.
    """
    bad_text: list[Location] = []
    non_finite: list[Location] = []
    # (location, value, whether the key that leads there is itself invalid); iterative, so deep
    # nesting cannot overflow the stack.
    stack: list[tuple[Location, Any, bool]] = [(("body",), document, False)]
    nodes = 1
    while stack and len(bad_text) + len(non_finite) < _MAX_REPORTED:
        loc, value, bad_key = stack.pop()
        # Counted when their container is opened, so one huge object fails at once.
        nodes += len(value) if isinstance(value, dict | list) else 0
        if nodes > max_nodes:
            raise TooComplex
        if bad_key or (isinstance(value, str) and _is_invalid(value)):
            bad_text.append(loc)
        if isinstance(value, _NonFinite):
            non_finite.append(loc)
        elif isinstance(value, dict):
            children = [((*loc, _label(k)), v, _is_invalid(k)) for k, v in value.items()]
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([((*loc, i), v, False) for i, v in enumerate(value)]))
    return bad_text, non_finite


def _pairs_locations(where: str, pairs: Iterable[tuple[str, Any]]) -> list[Location]:
    found: list[Location] = []
    for key, value in pairs:
        text = value if isinstance(value, str) else str(getattr(value, "filename", "") or "")
        if _is_invalid(key) or _is_invalid(text):
            found.append((where, _label(key)))
    return found[:_MAX_REPORTED]


def _is_json(content_type: str | None) -> bool:
    # The same rule as FastAPI: no content type, application/json or any +json type.
    if not content_type:
        return True
    main, _, sub = content_type.split(";", 1)[0].strip().lower().partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _is_form(content_type: str | None) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


class InvalidTextMiddleware:
    """Refuse text no storage can hold before any route sees it: 422 `invalid_text`.

    It checks the percent-decoded path and query, and every key and string value of a JSON or
    form body, at any depth, for NUL and unpaired surrogates; JSON bodies must also not use
    NaN/Infinity. Bodies are read once (the size limit outside bounds them) and replayed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self._url_locations(scope)
        if found:
            await _send_json(send, 422, _invalid_text(found))
            return
        content_type = Headers(scope=scope).get("content-type")
        if not (_is_json(content_type) or _is_form(content_type)):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        refusal = await self._body_refusal(scope, body, content_type)
        if refusal is not None:
            await _send_json(send, 422, refusal)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    def _url_locations(scope: Scope) -> list[Location]:
        found: list[Location] = []
        if _is_invalid(str(scope.get("path", ""))):
            found.append(("path",))
        query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
        return found + _pairs_locations("query", query.multi_items())

    async def _body_refusal(
        self, scope: Scope, body: bytes, content_type: str | None
    ) -> dict[str, Any] | None:
        if not body:
            return None
        if _is_form(content_type):
            found = await _form_locations(scope, body)
            return _invalid_text(found) if found else None
        try:
            document = json.loads(body, parse_constant=_NonFinite)
        except UnicodeDecodeError:
            return _invalid_text([("body",)], "The body is not valid UTF-8")
        except (ValueError, RecursionError):
            return None  # not JSON: the route answers with its own validation error
        try:
            bad_text, non_finite = invalid_json_locations(document)
        except TooComplex:
            return error_body(
                "body_too_complex",
                f"The JSON body holds more than {MAX_JSON_NODES} keys and values; "
                "no request needs that many.",
                {"max_nodes": MAX_JSON_NODES},
            )
        if bad_text:
            return _invalid_text(bad_text)
        if non_finite:
            return error_body(
                "invalid_json",
                "JSON numbers must be finite: NaN and Infinity are not JSON.",
                [
                    {"type": "invalid_json", "loc": list(loc), "msg": "Not a JSON number"}
                    for loc in non_finite
                ],
            )
        return None


async def _form_locations(scope: Scope, body: bytes) -> list[Location]:
    """Parse a form body exactly as the routes will (Starlette's parser) and check its fields."""
    request = Request(scope, _replay(body, _never))
    try:
        form = await request.form()
    except Exception:
        return []  # unparseable: the route refuses it itself
    try:
        return _pairs_locations("body", form.multi_items())
    finally:
        await form.close()


async def _never() -> Message:
    return {"type": "http.disconnect"}


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out the buffered body once, then defers to the real one."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _invalid_text(found: list[Location], problem: str = INVALID_TEXT_MESSAGE) -> dict[str, Any]:
    fields = ", ".join(".".join(str(p) for p in loc) for loc in found)
    details = [{"type": "invalid_text", "loc": list(loc), "msg": problem} for loc in found]
    return error_body("invalid_text", f"{problem}: {fields}.", details)


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    """A JSON answer encoded like Starlette's JSONResponse."""
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class KeepAliveOnErrorMiddleware:
    """Swallow an exception Starlette re-raises after its 500 answer went out in full.

    ServerErrorMiddleware sends the 500 and then re-raises for the server's log; uvicorn then
    closes the keep-alive connection without `Connection: close`, so the client's next request
    on it gets no answer. The handler has logged the error already, so it stops here; an error
    before any answer gets the 500 in the usual shape, one in mid-answer still propagates.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "done": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if state["done"]:
                return
            if state["started"]:
                raise
            logging.getLogger(__name__).exception("unhandled error before any answer")
            await _send_json(
                send,
                500,
                error_body(
                    "internal_error", "Something went wrong on our side; it has been logged."
                ),
            )


class SecureHeadersFastAPI(FastAPI):
    """A FastAPI app whose security headers wrap everything, the 500 error answer included.

    Middleware added with `add_middleware` sits inside Starlette's ServerErrorMiddleware, whose
    500 response would go out without the headers; this one is put around the whole stack.
    """

    def __init__(
        self,
        *args: Any,
        trust_proxy_headers: bool,
        hsts_max_age: int,
        max_header_bytes: int,
        **kwargs: Any,
    ) -> None:
        self._trust_proxy_headers = trust_proxy_headers
        self._hsts_max_age = hsts_max_age
        self._max_header_bytes = max_header_bytes
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack behind the header size limit, wrapped in the security headers."""
        return SecurityHeadersMiddleware(
            HeaderSizeLimitMiddleware(
                KeepAliveOnErrorMiddleware(super().build_middleware_stack()),
                max_bytes=self._max_header_bytes,
            ),
            trust_proxy_headers=self._trust_proxy_headers,
            hsts_max_age=self._hsts_max_age,
        )
