"""Admin test helpers: promote a registered user to administrator (import `make_admin` as a fixture)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from stockdash.users.records import UserUpdate
from tests.conftest import UserFactory, UserHandle

AdminFactory = Callable[[], Awaitable[UserHandle]]


async def promote(app: Any, user_id: int) -> None:
    """Make a user an admin directly in the storage (SQL or MongoDB)."""
    async with app.state.container.storage.unit() as uow:
        assert await uow.users.update(user_id, UserUpdate(role="admin")) is not None
        await uow.commit()


@pytest.fixture
def make_admin(app: Any, make_user: UserFactory) -> AdminFactory:
    """Register, log in and promote a user."""

    async def factory() -> UserHandle:
        user = await make_user()
        await promote(app, user.id)
        return user

    return factory
