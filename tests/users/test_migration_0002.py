"""Migration 0002 (auth lifecycle) upgrades and downgrades cleanly on the test backend."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import inspect, text

from stockdash.core.db import create_engine
from stockdash.core.migrate import downgrade, upgrade
from tests.conftest import BACKEND, PG_URL

NEW_TABLES = {"refresh_tokens", "email_tokens"}


async def _shape(url: str, schema: str | None) -> tuple[set[str], set[str]]:
    engine = create_engine(url, schema=schema)
    async with engine.connect() as conn:

        def read(sync_conn: object) -> tuple[set[str], set[str]]:
            inspector = inspect(sync_conn)
            tables = set(inspector.get_table_names(schema=schema))
            columns = {c["name"] for c in inspector.get_columns("users", schema=schema)}
            return tables, columns

        shape = await conn.run_sync(read)
    await engine.dispose()
    return shape


async def _drop_schema(schema: str) -> None:
    engine = create_engine(PG_URL)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    if BACKEND == "postgres":
        url, schema = PG_URL, f"stockdash_mig_{uuid.uuid4().hex[:10]}"
    else:
        url, schema = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", None
    try:
        upgrade(url, "0002", schema=schema)
        tables, columns = asyncio.run(_shape(url, schema))
        assert tables >= NEW_TABLES and "token_version" in columns
        downgrade(url, "0001", schema=schema)
        tables, columns = asyncio.run(_shape(url, schema))
        assert not NEW_TABLES & tables and "token_version" not in columns
        upgrade(url, "head", schema=schema)
        tables, columns = asyncio.run(_shape(url, schema))
        assert tables >= NEW_TABLES and "token_version" in columns
    finally:
        if schema:
            asyncio.run(_drop_schema(schema))
