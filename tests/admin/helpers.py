"""Admin test helpers: promote a registered user to administrator (import `make_admin` as a fixture)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from stockdash.users.models import User
from tests.conftest import UserFactory, UserHandle

AdminFactory = Callable[[], Awaitable[UserHandle]]


async def promote(app: Any, user_id: int) -> None:
    """Make a user an admin directly in the database."""
    async with app.state.container.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user_id).values(role="admin"))
        await session.commit()


@pytest.fixture
def make_admin(app: Any, make_user: UserFactory) -> AdminFactory:
    """Register, log in and promote a user."""

    async def factory() -> UserHandle:
        user = await make_user()
        await promote(app, user.id)
        return user

    return factory
