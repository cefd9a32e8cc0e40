"""Account test fixtures."""

from __future__ import annotations

from tests.users.auth_helpers import mailbox  # noqa: F401 - a fixture
