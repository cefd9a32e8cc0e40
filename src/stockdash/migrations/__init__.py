"""Alembic migrations, shipped inside the package so `stockdash migrate` works anywhere."""
