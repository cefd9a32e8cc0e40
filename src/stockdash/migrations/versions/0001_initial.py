"""initial schema: users, user_stocks, stock_cache

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_cache",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(length=16), nullable=False),
        sa.Column("stock_data", sa.JSON(), nullable=False),
        sa.Column("ai_analyses", sa.JSON(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_cache")),
        sa.UniqueConstraint("symbol", name=op.f("uq_stock_cache_symbol")),
    )
    with op.batch_alter_table("stock_cache", schema=None) as batch_op:
        batch_op.create_index("ix_stock_cache_last_updated", ["last_updated"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("subscription_tier", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.CheckConstraint(
            "subscription_tier IN ('free', 'pro', 'expert')", name=op.f("ck_users_tier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "user_stocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_stocks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_stocks")),
        sa.UniqueConstraint("user_id", "symbol", name="uq_user_stocks_user_id_symbol"),
    )
    with op.batch_alter_table("user_stocks", schema=None) as batch_op:
        batch_op.create_index("ix_user_stocks_symbol", ["symbol"], unique=False)
        batch_op.create_index("ix_user_stocks_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_stocks", schema=None) as batch_op:
        batch_op.drop_index("ix_user_stocks_user_id")
        batch_op.drop_index("ix_user_stocks_symbol")

    op.drop_table("user_stocks")
    op.drop_table("users")
    with op.batch_alter_table("stock_cache", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_cache_last_updated")

    op.drop_table("stock_cache")
