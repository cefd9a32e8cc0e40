"""Bootstrap of administrator accounts from the command line."""

from __future__ import annotations

from stockdash.core.config import Settings
from stockdash.core.db import create_engine, create_sessionmaker
from stockdash.users import service
from stockdash.users.repository import SqlUserRepository
from stockdash.users.schemas import UserCreate


async def ensure_admin(settings: Settings, data: UserCreate) -> bool:
    """Create an admin, or promote the user with that email; True when created."""
    engine = create_engine(settings.resolved_database_url, schema=settings.database_schema)
    try:
        async with create_sessionmaker(engine)() as session:
            existing = await SqlUserRepository(session).get_by_login(data.email)
            if existing is not None:
                existing.role = "admin"
                await session.commit()
                return False
            await service.register(
                session, data, rounds=settings.bcrypt_rounds, role="admin", email_verified=True
            )
            return True
    finally:
        await engine.dispose()
