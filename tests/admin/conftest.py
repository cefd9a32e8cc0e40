"""Admin fixtures."""

from tests.admin.helpers import make_admin  # noqa: F401 - a fixture
