"""Security test fixtures: a client that keeps every response, and a recording mailbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.admin.helpers import make_admin  # noqa: F401 - a fixture
from tests.users.auth_helpers import mailbox  # noqa: F401 - a fixture


@pytest.fixture
def responses() -> list[httpx.Response]:
    """Every response the `client` fixture received in this test."""
    return []


@pytest.fixture
async def client(app: Any, responses: list[httpx.Response]) -> AsyncIterator[httpx.AsyncClient]:
    """The usual in-process client, recording responses so tests can scan them for secrets."""

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        responses.append(response)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks={"response": [keep]}
    ) as c:
        yield c
