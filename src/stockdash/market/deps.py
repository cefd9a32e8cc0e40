"""Dependency alias for the market data service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from stockdash.container import ContainerDep
from stockdash.market.service import MarketService


async def get_market(container: ContainerDep) -> MarketService:
    """The app's market data service."""
    return container.market


MarketDep = Annotated[MarketService, Depends(get_market)]
