"""The route class of the API routers that write: a request whose MongoDB transaction
conflicted is answered again from the start."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from stockdash.storage.retry import retry_transient


class RetryRoute(APIRoute):
    """A route answered again, dependencies and all, while its MongoDB transaction fails
    transiently (a write conflict with a concurrent request, a failover): a unit of work cannot
    re-run by itself, the handler that did the work must. On SQL nothing fails that way, so the
    handler runs once."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The handler, tried again after a transient transaction failure (the request's body,
        read once, stays cached on it)."""
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            return await retry_transient(lambda: handler(request))

        return answer
