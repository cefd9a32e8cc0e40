"""Run Alembic migrations programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str, schema: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations and a database (and schema)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if schema:
        cfg.set_main_option("database_schema", schema)
    return cfg


def upgrade(database_url: str, revision: str = "head", *, schema: str | None = None) -> None:
    """Bring a database up to a revision."""
    command.upgrade(alembic_config(database_url, schema), revision)


def downgrade(database_url: str, revision: str, *, schema: str | None = None) -> None:
    """Take a database down to a revision."""
    command.downgrade(alembic_config(database_url, schema), revision)
