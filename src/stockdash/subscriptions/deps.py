"""Dependency alias for the billing provider."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from stockdash.container import ContainerDep
from stockdash.subscriptions.billing import BillingProvider


async def get_billing(container: ContainerDep) -> BillingProvider:
    """The app's billing provider."""
    return container.billing


BillingDep = Annotated[BillingProvider, Depends(get_billing)]
