"""Market-wide context shared by all analysts: sector P/E medians, index returns, rates."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from stockdash.analysis.metrics import (
    BETA_WINDOW_DAYS,
    beta_against,
    blume,
    daily_returns,
    finite,
    mean,
    stock_pe,
    usable_bars,
)
from stockdash.core.config import Settings
from stockdash.market.types import StockData


def _setting_default(name: str) -> float:
    """The settings' default for a finance assumption: one default everywhere (no second copy)."""
    value = Settings.model_fields[name].default
    assert isinstance(value, float)
    return value


DEFAULT_RISK_FREE_RATE = _setting_default("risk_free_rate")
DEFAULT_EQUITY_RISK_PREMIUM = _setting_default("equity_risk_premium")
DEFAULT_CREDIT_SPREAD = _setting_default("dcf_credit_spread")  # roughly a BBB/A spread
DEFAULT_TAX_RATE = _setting_default("dcf_tax_rate")  # US federal statutory rate since 2018
# An industry median beta stands in for a short history only when this many peers have their own.
MIN_INDUSTRY_BETAS = 3


@dataclass(frozen=True, slots=True)
class MarketContext:
    """Inputs that depend on the whole universe rather than on one stock."""

    sector_pe_median: Mapping[str, float] = field(default_factory=dict)
    index_returns: Mapping[date, float] = field(default_factory=dict)
    risk_free_rate: float = DEFAULT_RISK_FREE_RATE
    equity_risk_premium: float = DEFAULT_EQUITY_RISK_PREMIUM
    as_of: date = date(1970, 1, 1)
    credit_spread: float = DEFAULT_CREDIT_SPREAD
    tax_rate: float = DEFAULT_TAX_RATE
    # Median Blume-adjusted beta of the industry's (else the sector's) stocks with a year or more
    # of returns: the labelled stand-in for a stock whose own history is too short.
    sector_beta_median: Mapping[str, float] = field(default_factory=dict)
    industry_beta_median: Mapping[str, float] = field(default_factory=dict)

    def parameters(self) -> dict[str, float]:
        """The finance assumptions every analysis depends on (part of the cache key)."""
        return {
            "risk_free_rate": self.risk_free_rate,
            "equity_risk_premium": self.equity_risk_premium,
            "credit_spread": self.credit_spread,
            "tax_rate": self.tax_rate,
        }


def sector_pe_medians(stocks: Iterable[StockData]) -> dict[str, float]:
    """Median of the positive P/Es of each sector (stocks without a sector are skipped)."""
    by_sector: dict[str, list[float]] = defaultdict(list)
    for stock in stocks:
        pe = stock_pe(stock)
        if stock.profile.sector and pe is not None and pe > 0:
            by_sector[stock.profile.sector].append(pe)
    return {sector: statistics.median(pes) for sector, pes in sorted(by_sector.items())}


def equal_weight_index_returns(stocks: Iterable[StockData]) -> dict[date, float]:
    """Per date, the mean close-to-close return of every stock that has a return that day."""
    by_date: dict[date, list[float]] = defaultdict(list)
    for stock in stocks:
        for day, value in daily_returns(usable_bars(stock.history, stock.quote.as_of)).items():
            if finite(value) is not None:
                by_date[day].append(value)
    return {day: mean(values) for day, values in sorted(by_date.items())}


@dataclass(frozen=True, slots=True)
class PeerBetas:
    """Median Blume-adjusted betas of the stocks with a measured (>= 1 year) beta."""

    sector: dict[str, float]
    industry: dict[str, float]  # only industries with MIN_INDUSTRY_BETAS such stocks


def _medians(groups: Mapping[str, list[float]], least: int = 1) -> dict[str, float]:
    return {k: statistics.median(v) for k, v in sorted(groups.items()) if len(v) >= least}


def peer_beta_medians(
    stocks: Iterable[StockData], index_returns: Mapping[date, float]
) -> PeerBetas:
    """Median Blume-adjusted beta per sector and per industry (>= 3 measured stocks)."""
    by_sector: dict[str, list[float]] = defaultdict(list)
    by_industry: dict[str, list[float]] = defaultdict(list)
    for stock in stocks:
        if not stock.profile.sector and not stock.profile.industry:
            continue
        start = stock.quote.as_of - timedelta(days=BETA_WINDOW_DAYS)
        bars = [b for b in usable_bars(stock.history, stock.quote.as_of) if b.date >= start]
        raw, _, _ = beta_against(daily_returns(bars), index_returns)
        if raw is None:
            continue
        if stock.profile.sector:
            by_sector[stock.profile.sector].append(blume(raw))
        if stock.profile.industry:
            by_industry[stock.profile.industry].append(blume(raw))
    return PeerBetas(_medians(by_sector), _medians(by_industry, MIN_INDUSTRY_BETAS))


def check_rates(
    risk_free_rate: float, equity_risk_premium: float, credit_spread: float, tax_rate: float
) -> None:
    """Raise ValueError unless every assumption is a finite rate in its sane range."""
    for name, rate, low, high in (
        ("risk_free_rate", risk_free_rate, -0.05, 0.30),
        ("equity_risk_premium", equity_risk_premium, -0.05, 0.30),
        ("credit_spread", credit_spread, 0.0, 0.30),
        ("tax_rate", tax_rate, 0.0, 0.99),
    ):
        if finite(rate) is None or not low <= rate <= high:
            raise ValueError(f"{name} must be a finite rate between {low} and {high}, got {rate!r}")


def build_market_context(
    stocks: Iterable[StockData],
    risk_free_rate: float = DEFAULT_RISK_FREE_RATE,
    equity_risk_premium: float = DEFAULT_EQUITY_RISK_PREMIUM,
    as_of: date | None = None,
    credit_spread: float = DEFAULT_CREDIT_SPREAD,
    tax_rate: float = DEFAULT_TAX_RATE,
) -> MarketContext:
    """Context from a universe of stocks; as_of defaults to the latest quote date."""
    universe = list(stocks)
    check_rates(risk_free_rate, equity_risk_premium, credit_spread, tax_rate)
    latest = max((s.quote.as_of for s in universe), default=date(1970, 1, 1))
    index = equal_weight_index_returns(universe)
    peers = peer_beta_medians(universe, index)
    return MarketContext(
        sector_pe_median=sector_pe_medians(universe),
        index_returns=index,
        sector_beta_median=peers.sector,
        industry_beta_median=peers.industry,
        risk_free_rate=risk_free_rate,
        equity_risk_premium=equity_risk_premium,
        as_of=as_of or latest,
        credit_spread=credit_spread,
        tax_rate=tax_rate,
    )
