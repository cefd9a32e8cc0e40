"""Import every table module so metadata (and Alembic) sees all tables."""

from __future__ import annotations


def load_all_models() -> None:
    """Register every ORM model on Base.metadata."""
    from stockdash.admin import models as admin_models  # noqa: F401
    from stockdash.alerts import models as alert_models  # noqa: F401
    from stockdash.apikeys import models as apikey_models  # noqa: F401
    from stockdash.jobs import models as job_models  # noqa: F401
    from stockdash.market import models as market_models  # noqa: F401
    from stockdash.notifications import models as notification_models  # noqa: F401
    from stockdash.subscriptions import models as subscription_models  # noqa: F401
    from stockdash.users import models as user_models  # noqa: F401
    from stockdash.watchlist import models as watchlist_models  # noqa: F401
