"""`stockdash create-admin`: creates, promotes (audited) or refuses with a clear message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from stockdash.admin.repository import UserFilter
from stockdash.cli import app as cli_app
from stockdash.container import open_storage
from stockdash.core.config import Settings, get_settings
from stockdash.storage.base import UnitOfWork
from stockdash.users import service
from stockdash.users.schemas import UserCreate
from tests.conftest import BACKEND, PG_SCHEMA


@pytest.fixture
def cli_settings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Point the CLI (which reads the environment) at this test's database."""
    env = {
        "DATABASE_URL": database_url,
        "DATABASE_SCHEMA": PG_SCHEMA if BACKEND == "postgres" else "",
        "DATA_DIR": str(tmp_path),
        "BCRYPT_ROUNDS": "4",
        "ENVIRONMENT": "test",
        "JWT_SECRET_KEY": "k" * 40,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _run(async_fn: Any, settings: Settings) -> Any:
    """Run `async_fn` on a unit of work of the settings' storage (SQL or MongoDB)."""

    async def runner() -> Any:
        async with open_storage(settings) as storage, storage.unit() as unit:
            return await async_fn(unit)

    return asyncio.run(runner())


def _add_user(settings: Settings, username: str, email: str, password: str) -> None:
    async def add(unit: UnitOfWork) -> None:
        data = UserCreate(username=username, email=email, password=password)
        await service.register(unit, data, rounds=4, min_score=0)
        await unit.commit()

    _run(add, settings)


def _state(settings: Settings) -> tuple[list[tuple[str, str, str]], list[tuple[Any, ...]]]:
    """(username, email, role) of every user, and (actor, action, target, details) of every audit row."""

    async def read(unit: UnitOfWork) -> Any:
        found, _ = await unit.admin.search_users(UserFilter(), offset=0, limit=1000)
        users = sorted(found, key=lambda user: user.id)
        entries, _ = await unit.admin.list_audit(offset=0, limit=1000)
        audit = sorted(entries, key=lambda entry: entry.id)
        return (
            [(u.username, u.email, u.role) for u in users],
            [(a.actor_user_id, a.action, a.target_id, a.details) for a in audit],
        )

    result: tuple[list[tuple[str, str, str]], list[tuple[Any, ...]]] = _run(read, settings)
    return result


def _create_admin(email: str, username: str, password: str) -> Result:
    args = ["create-admin", "--email", email, "--username", username, "--password", password]
    return CliRunner().invoke(cli_app, args)


def test_creates_an_admin_then_reports_that_it_exists(cli_settings: Settings) -> None:
    first = _create_admin("root@example.com", "root", "ochre-walnut-ferry-45")
    assert first.exit_code == 0, first.output
    assert "Created admin root <root@example.com>" in first.output
    users, audit = _state(cli_settings)
    assert users == [("root", "root@example.com", "admin")]
    [(actor, action, target, details)] = audit
    assert (actor, action, details) == (None, "user.create_admin", {"via": "cli"})
    assert target.isdigit()
    again = _create_admin("ROOT@example.com", "Root", "ochre-walnut-ferry-45")
    assert again.exit_code == 0, again.output
    assert "already an admin; nothing changed" in again.output
    assert len(_state(cli_settings)[1]) == 1


def test_promotes_an_existing_account_with_its_password_and_audits_it(
    cli_settings: Settings,
) -> None:
    _add_user(cli_settings, "alice", "alice@example.com", "alice-pass-1")
    result = _create_admin("Alice@Example.com", "ALICE", "alice-pass-1")
    assert result.exit_code == 0, result.output
    assert "Promoted the existing account" in result.output
    users, audit = _state(cli_settings)
    assert users == [("alice", "alice@example.com", "admin")]
    [(actor, action, _, details)] = audit
    assert (actor, action) == (None, "user.promote")
    assert details == {"via": "cli", "changes": {"role": {"from": "user", "to": "admin"}}}


@pytest.mark.parametrize(
    ("email", "username", "password", "says"),
    [
        # The email exists under another username: it used to be promoted silently.
        ("alice@example.com", "root", "alice-pass-1", "--username alice"),
        # The username belongs to another account: it used to crash with a traceback.
        ("root@example.com", "alice", "ochre-walnut-ferry-45", "belongs to another account"),
        # Email and username each belong to a different account.
        ("alice@example.com", "bob", "alice-pass-1", "yet another account"),
        # The right account, the wrong password: create-admin never changes a password.
        ("alice@example.com", "alice", "not-her-password", "not its password"),
    ],
)
def test_refuses_clearly_when_email_username_and_password_do_not_fit(
    cli_settings: Settings, email: str, username: str, password: str, says: str
) -> None:
    _add_user(cli_settings, "alice", "alice@example.com", "alice-pass-1")
    _add_user(cli_settings, "bob", "bob@example.com", "bob-pass-123")
    before = _state(cli_settings)
    result = _create_admin(email, username, password)
    assert result.exit_code == 1, result.output
    assert says in result.output
    assert "Nothing changed" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert _state(cli_settings) == before
