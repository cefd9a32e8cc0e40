"""Dependency alias for the market data service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stockdash.market.service import MarketService


def get_market(request: Request) -> MarketService:
    """The app's market data service."""
    market: MarketService = request.app.state.market
    return market


MarketDep = Annotated[MarketService, Depends(get_market)]
