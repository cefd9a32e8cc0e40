"""Which dependency failed decides the 503: only a timeout or refused connection raised by the
database driver is `database_unavailable`; a provider's (or any other socket's) is
`service_unavailable`. Real sockets on both sides: the shared PostgreSQL behind a proxy that
refuses or black-holes, and plain asyncio timeouts and refused ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from stockdash.core.errors import install_error_handlers
from tests.conftest import PG_URL, assert_error, free_port
from tests.resilience.servers import TcpProxy

TIMEOUT = 0.5


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A TCP proxy in front of the shared PostgreSQL."""
    pg = urlsplit(PG_URL)
    server = TcpProxy(pg.port or 5432)
    yield server
    server.close()


def _proxied(proxy: TcpProxy) -> str:
    pg = urlsplit(PG_URL)
    return PG_URL.replace(pg.netloc, f"{pg.username}@127.0.0.1:{proxy.port}")


@pytest.fixture
async def client(proxy: TcpProxy) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose routes fail in each way, with the project's error handlers."""
    app = FastAPI()
    install_error_handlers(app)
    # As the app's engine: connect and command timeouts (stockdash.core.db).
    engine = create_async_engine(
        _proxied(proxy), connect_args={"timeout": TIMEOUT, "command_timeout": TIMEOUT}
    )

    @app.get("/provider-timeout")
    async def provider_timeout() -> None:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(30)  # stands for a provider that does not answer

    @app.get("/provider-refused")
    async def provider_refused() -> None:
        await asyncio.open_connection("127.0.0.1", free_port())

    @app.get("/db")
    async def db() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @app.get("/db-deadline")
    async def db_deadline() -> None:
        async with engine.connect() as conn:
            proxy.set_mode("blackhole")
            async with asyncio.timeout(TIMEOUT):
                await conn.execute(text("SELECT 1"))

    @app.get("/db-statement-timeout")
    async def db_statement_timeout() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL statement_timeout = 50"))
            await conn.execute(text("SELECT pg_sleep(5)"))

    @app.get("/db-bug")
    async def db_bug() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT no_such_column FROM no_such_table"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    proxy.set_mode("forward")
    await engine.dispose()


@pytest.mark.parametrize("path", ["/provider-timeout", "/provider-refused"])
async def test_other_dependencies_are_service_unavailable(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path)
    body = assert_error(r, 503, "service_unavailable")
    assert r.headers["Retry-After"] == str(body["details"]["retry_after"])


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
async def test_database_socket_failures_are_database_unavailable(
    client: httpx.AsyncClient, proxy: TcpProxy, mode: str
) -> None:
    assert (await client.get("/db")).status_code == 200  # the route works through the proxy
    proxy.set_mode(mode)
    r = await client.get("/db")
    assert_error(r, 503, "database_unavailable")
    assert "Retry-After" in r.headers


async def test_a_deadline_on_a_query_is_database_unavailable(client: httpx.AsyncClient) -> None:
    """asyncio's TimeoutError from a deadline that cancelled a query is the database's."""
    assert_error(await client.get("/db-deadline"), 503, "database_unavailable")


async def test_a_statement_timeout_under_load_is_database_unavailable(
    client: httpx.AsyncClient,
) -> None:
    """PostgreSQL cancelling a query for its statement_timeout (a lock wait under load) is a
    503 to retry, not a 500; a broken query stays a 500 (a bug must not look like an outage)."""
    r = await client.get("/db-statement-timeout")
    assert_error(r, 503, "database_unavailable")
    assert "Retry-After" in r.headers
    assert_error(await client.get("/db-bug"), 500, "internal_error")
