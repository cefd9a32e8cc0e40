"""Migration 0004 (case-insensitive unique usernames and emails) on the test backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from stockdash.core.db import create_engine
from stockdash.core.migrate import downgrade, upgrade
from tests.conftest import BACKEND, PG_URL

INDEXES = {"uq_users_lower_username", "uq_users_lower_email"}
INSERT = (
    "INSERT INTO users (username, email, password_hash, subscription_tier, role, is_active, "
    "email_verified, token_version, created_at, updated_at) VALUES "
    "(:u, :e, 'x', 'free', 'user', true, false, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


async def _run(url: str, schema: str | None, *statements: tuple[str, dict[str, str]]) -> None:
    engine = create_engine(url, schema=schema)
    async with engine.begin() as conn:
        for statement, params in statements:
            await conn.execute(text(statement), params)
    await engine.dispose()


async def _indexes(url: str, schema: str | None) -> set[str]:
    """Index names on users (read from the catalogue: reflection skips expression indexes)."""
    if schema is None:
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = 'users'"
    engine = create_engine(url, schema=schema)
    async with engine.connect() as conn:
        names = set((await conn.execute(text(query), {"s": schema} if schema else {})).scalars())
    await engine.dispose()
    return names


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """A database of its own: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if BACKEND != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", None
        return
    schema = f"stockdash_mig_{uuid.uuid4().hex[:10]}"
    yield PG_URL, schema
    asyncio.run(_run(PG_URL, None, (f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', {})))


def test_upgrade_refuses_existing_case_duplicates_then_applies(
    target: tuple[str, str | None],
) -> None:
    url, schema = target
    upgrade(url, "0003", schema=schema)
    rows = [("Dana", "dana@example.com"), ("dana", "dana2@example.com"), ("eve", "e@x.com")]
    asyncio.run(_run(url, schema, *((INSERT, {"u": u, "e": e}) for u, e in rows)))
    with pytest.raises(RuntimeError, match="'dana' \\(2 accounts\\)"):
        upgrade(url, "head", schema=schema)
    assert not INDEXES & asyncio.run(_indexes(url, schema))

    asyncio.run(_run(url, schema, ("DELETE FROM users WHERE username = 'dana'", {})))
    upgrade(url, "head", schema=schema)
    assert asyncio.run(_indexes(url, schema)) >= INDEXES
    downgrade(url, "0003", schema=schema)
    assert not INDEXES & asyncio.run(_indexes(url, schema))
    upgrade(url, "head", schema=schema)
    assert asyncio.run(_indexes(url, schema)) >= INDEXES
