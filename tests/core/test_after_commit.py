"""after_commit: an action waits for its transaction's commit and dies with its rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.db import after_commit, create_engine, create_sessionmaker

pytestmark = pytest.mark.sql_only(reason="the SQLAlchemy session hook core.db.after_commit")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_an_action_runs_once_after_the_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ran: list[str] = []
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        after_commit(session, lambda: ran.append("counted"))
        assert ran == []  # not before the commit
        await session.commit()
        assert ran == ["counted"]
        await session.execute(text("SELECT 1"))
        await session.commit()  # a later commit does not repeat it
    assert ran == ["counted"]


async def test_a_rollback_drops_the_action(sessions: async_sessionmaker[AsyncSession]) -> None:
    ran: list[str] = []
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        after_commit(session, lambda: ran.append("counted"))
        await session.rollback()
        await session.execute(text("SELECT 1"))
        await session.commit()
    assert ran == []
