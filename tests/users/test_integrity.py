"""Accounts are written whole or not at all, and unique regardless of case, even under races."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from stockdash.users.models import EmailToken, User
from tests.conftest import BACKEND, assert_error

REGISTER = "/api/v1/auth/register"

_PG_TRIGGER = [
    "CREATE FUNCTION refuse_email_tokens() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'email tokens are refused by this test'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_email_tokens BEFORE INSERT ON email_tokens "
    "FOR EACH ROW EXECUTE FUNCTION refuse_email_tokens()",
]
_PG_DROP = ["DROP FUNCTION IF EXISTS refuse_email_tokens() CASCADE"]
_SQLITE_TRIGGER = [
    "CREATE TRIGGER refuse_email_tokens BEFORE INSERT ON email_tokens "
    "BEGIN SELECT RAISE(ABORT, 'email tokens are refused by this test'); END"
]
_SQLITE_DROP = ["DROP TRIGGER IF EXISTS refuse_email_tokens"]


async def _execute(app: Any, statements: list[str]) -> None:
    async with app.state.container.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


@pytest.fixture
async def failing_email_tokens(app: Any) -> AsyncIterator[None]:
    """The database itself refuses every new email token (a real failure, no mock)."""
    postgres = BACKEND == "postgres"
    await _execute(app, _PG_TRIGGER if postgres else _SQLITE_TRIGGER)
    try:
        yield
    finally:
        # The PostgreSQL schema is shared by the whole session: leave no trigger behind.
        await _execute(app, _PG_DROP if postgres else _SQLITE_DROP)


async def _count(app: Any, model: Any) -> int:
    """How many rows (SQL) or documents (MongoDB: the collection of the table's name) there are."""
    storage = app.state.container.storage
    if storage.backend == "mongodb":
        return int(await storage.db[model.__tablename__].count_documents({}))
    async with app.state.container.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.mark.sql_only(reason="a database trigger makes the token insert fail")
async def test_registration_writes_nothing_when_the_verification_token_fails(
    app: Any, failing_email_tokens: None
) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.post(
            REGISTER,
            json={
                "username": "half",
                "email": "half@example.com",
                "password": "ochre-walnut-ferry-41",
            },
        )
    assert_error(r, 500, "internal_error")
    assert await _count(app, User) == 0
    assert await _count(app, EmailToken) == 0


async def test_registration_stores_the_user_and_its_token_together(
    app: Any, client: httpx.AsyncClient
) -> None:
    r = await client.post(
        REGISTER,
        json={
            "username": "whole",
            "email": "whole@example.com",
            "password": "ochre-walnut-ferry-43",
        },
    )
    assert r.status_code == 201, r.text
    assert (await _count(app, User), await _count(app, EmailToken)) == (1, 1)


@pytest.mark.parametrize(
    "variants",
    [
        [(name, f"alice{i}@example.com") for i, name in enumerate(["Alice", "alice", "ALICE"])],
        [(f"bob{i}", email) for i, email in enumerate(["bob@x.com", "BOB@x.com", "Bob@X.COM"])],
    ],
    ids=["username", "email"],
)
async def test_concurrent_sign_ups_differing_only_by_case_let_exactly_one_through(
    app: Any, client: httpx.AsyncClient, variants: list[tuple[str, str]]
) -> None:
    answers = await asyncio.gather(
        *(
            client.post(
                REGISTER, json={"username": u, "email": e, "password": "ochre-walnut-ferry-41"}
            )
            for u, e in variants
        )
    )
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 409: len(variants) - 1}, [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert_error(r, 409)
    assert await _count(app, User) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("Carol", "carol1@example.com"), ("carol", "carol2@example.com")),
        (("carol1", "Carol@example.com"), ("carol2", "carol@EXAMPLE.com")),
    ],
    ids=["username", "email"],
)
@pytest.mark.sql_only(
    reason="writes ORM rows; tests/contract/test_repositories.py checks MongoDB's unique keys"
)
async def test_the_database_refuses_case_variants_whatever_the_code_checks(
    app: Any, first: tuple[str, str], second: tuple[str, str]
) -> None:
    """The unique indexes on lower(...) hold even for writes that skip the service's check."""

    def user(username: str, email: str) -> User:
        return User(
            username=username,
            email=email,
            password_hash="x",
            subscription_tier="free",
            role="user",
            is_active=True,
            email_verified=False,
        )

    async with app.state.container.sessionmaker() as session:
        session.add(user(*first))
        await session.commit()
        session.add(user(*second))
        with pytest.raises(IntegrityError):
            await session.commit()
