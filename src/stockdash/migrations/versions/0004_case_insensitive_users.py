"""users: usernames and emails unique regardless of case (unique indexes on lower(...))

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {"uq_users_lower_username": "username", "uq_users_lower_email": "email"}


def _refuse_existing_duplicates(column: str) -> None:
    """Name the accounts that differ only by case: they must be merged or renamed by hand first."""
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT lower({column}) AS value, count(*) AS n FROM users "  # noqa: S608 - a fixed column name
                f"GROUP BY lower({column}) HAVING count(*) > 1"
            )
        )
        .all()
    )
    if rows:
        listed = ", ".join(f"{r.value!r} ({r.n} accounts)" for r in rows[:20])
        raise RuntimeError(
            f"Cannot make users.{column} unique regardless of case; these values are shared by "
            f"several accounts: {listed}. Rename or merge them, then migrate again."
        )


def upgrade() -> None:
    for name, column in INDEXES.items():
        _refuse_existing_duplicates(column)
        op.create_index(name, "users", [sa.text(f"lower({column})")], unique=True)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="users")
