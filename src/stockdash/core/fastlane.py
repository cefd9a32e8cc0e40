"""The fast lane: the hottest authenticated reads answered before Starlette's routing.

A warm dashboard, watchlist or quote is a few dictionary lookups and one ready-made JSON body,
yet FastAPI's route matching, dependency solving and the inner middleware (CORS, size limits,
text guard, HTTP metrics) cost several times that on every request. The lane sits inside the
request-id and access-log middleware (so those, and the security headers around the whole
stack, apply unchanged) and in front of everything else. It answers a request only when it is
a plain `GET` of a registered route template with a bearer token, no `Origin` (CORS) and no
body, with query parameters the route lists; the route's `answer` gets the caller and returns
the same bytes its FastAPI route returns, or None when the full stack should answer (an
unusual parameter, an invalid token). Errors raised while answering get the app's own
exception handlers, so one error shape holds; anything without a specific handler is left to
the server-error middleware above, as it would be on the full stack.

The FastAPI routes stay the documented API (OpenAPI, API keys, CORS, HEAD); each shares its body
function with its lane entry, and tests compare the two answers byte for byte.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from cachetools import LRUCache
from prometheus_fastapi_instrumentator.routing import get_route_name
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from stockdash.core.metrics import FAST_LANE

Caller = Any
Answer = Callable[[Caller, Mapping[str, str], Mapping[str, str]], Awaitable[bytes | None]]
Authenticate = Callable[[str], Awaitable[Caller | None]]
Observe = Callable[[str, str, int, float], None]
ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]

_PARAM = re.compile(r"\{(\w+)\}")
# Headers that send a request down the full stack: CORS needs its headers; a GET with a body
# needs the size limit and text guard.
_FULL_STACK_HEADERS = frozenset({b"origin", b"content-length", b"transfer-encoding"})
# As the full stack sends them: the JSON type, and the CORS middleware's `Vary: Origin` (an
# answer to a request without Origin differs from one with it).
_JSON_HEADERS = [(b"content-type", b"application/json"), (b"vary", b"Origin")]


@dataclass(frozen=True, slots=True)
class HotRoute:
    """A route template (as the FastAPI route declares it) and what answers it in the lane."""

    template: str
    answer: Answer
    query: frozenset[str] = frozenset()
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.template))

    def under(self, prefix: str) -> HotRoute:
        """The same route mounted under a path prefix."""
        return HotRoute(f"{prefix}{self.template}", self.answer, self.query)


class FastLane:
    """ASGI middleware answering registered hot reads; every other request passes through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: tuple[HotRoute, ...],
        authenticate: Authenticate,
        observe: Observe,
        exception_handlers: Mapping[Any, ExceptionHandler],
        enabled: bool = True,
    ) -> None:
        self.app = app
        self.routes = {r.template: r for r in routes} if enabled else {}
        # Which route template the app's own router gives a path (bounded: paths come from
        # clients), so the lane never answers a path that an earlier route would take.
        self._templates: LRUCache[str, str | None] = LRUCache(4096)
        self.authenticate = authenticate
        self.observe = observe
        self.exception_handlers = exception_handlers
        self._answered = FAST_LANE.labels("answered")
        self._handed_on = FAST_LANE.labels("handed_on")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._hot(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        route, params, query, token = found
        started = time.perf_counter()
        try:
            caller = await self.authenticate(token)
            body = None if caller is None else await route.answer(caller, params, query)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            self._answered.inc()
            handled = handler(Request(scope, receive), exc)
            response = await handled if inspect.isawaitable(handled) else handled
            response.headers["vary"] = ", ".join([*response.headers.getlist("vary"), "Origin"])
            await response(scope, receive, send)
            self.observe(route.template, "GET", response.status_code, _since(started))
            return
        if body is None:
            self._handed_on.inc()
            await self.app(scope, receive, send)
            return
        self._answered.inc()
        headers = [(b"content-length", str(len(body)).encode()), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.observe(route.template, "GET", 200, _since(started))

    def _hot(self, scope: Scope) -> tuple[HotRoute, dict[str, str], dict[str, str], str] | None:
        """The route, path parameters, query and bearer token of a lane request, else None."""
        if scope["method"] != "GET" or not self.routes:
            return None
        path: str = scope["path"]
        route = self.routes.get(self._template(scope, path) or "")
        if route is None:
            return None
        match = route.pattern.fullmatch(path)
        token = _bearer(scope["headers"])
        query = _query(scope["query_string"], route.query)
        if match is None or token is None or query is None:
            self._handed_on.inc()
            return None
        return route, match.groupdict(), query, token

    def _template(self, scope: Scope, path: str) -> str | None:
        """The template of the route the app's router would run for a GET of this path."""
        try:
            return self._templates[path]
        except KeyError:
            template = get_route_name(Request(scope), should_include_root_path=False)
            self._templates[path] = template
            return template

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        """The app's handler for this exception class (None for the catch-all: the server-error
        middleware answers and reports those, as it does for every route)."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                return handler
        return None


def _compile(template: str) -> re.Pattern[str]:
    """The template as a regex; a path parameter is one segment of printable ASCII (anything
    else takes the full stack)."""
    parts = _PARAM.split(template)
    # split() alternates literal text and parameter names.
    regex = "".join(
        re.escape(part) if i % 2 == 0 else rf"(?P<{part}>[!-.0-~]+)" for i, part in enumerate(parts)
    )
    return re.compile(regex)


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The request's bearer token, or None when it has none or needs the full stack."""
    token = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() != b"bearer" or not credentials or token is not None:
                return None
            token = credentials.decode("latin-1")
        elif name in _FULL_STACK_HEADERS:
            return None
    return token


def _query(raw: bytes, accepted: frozenset[str]) -> dict[str, str] | None:
    """The query as a dict when every parameter is one the route takes, once, in plain text."""
    if not raw:
        return {}
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs) or not accepted.issuperset(query):
        return None
    if not all(v.isascii() and v.isprintable() for v in query.values()):
        return None
    return query


def _since(started: float) -> float:
    return max(time.perf_counter() - started, 0.0)
