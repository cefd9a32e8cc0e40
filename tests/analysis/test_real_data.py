"""Smoke test on ~10 real companies from /work/shared/data via a tiny local adapter."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest

from stockdash.analysis.analysts import run_all
from stockdash.analysis.consensus import build_consensus
from stockdash.analysis.context import build_market_context
from stockdash.analysis.schemas import Analysis, ModelName
from stockdash.market.types import Bar, FundamentalsYear, Profile, Quote, StockData

DATA = Path("/work/shared/data")
COMPANIES = DATA / "fundamentals-sec-annual" / "companies"
OHLCV = (DATA / "ohlcv-daily-2023-2026", DATA / "ohlcv-daily-recent-2025-2026")
SYMBOLS = ("AAPL", "MSFT", "JPM", "KO", "NVDA", "TSLA", "BRK-B", "XOM", "INTC", "WFC", "AMZN")
SECTORS = {"JPM": "Financials", "WFC": "Financials", "BRK-B": "Financials", "XOM": "Energy",
           "KO": "Consumer Staples", "TSLA": "Consumer Discretionary",
           "AMZN": "Consumer Discretionary"}  # fmt: skip

pytestmark = pytest.mark.skipif(
    not COMPANIES.is_dir(), reason=f"real data folder {COMPANIES} is absent on this machine"
)


def by_end(series: list[dict[str, Any]] | None) -> dict[date, float]:
    return {date.fromisoformat(p["end"]): float(p["v"]) for p in series or []}


def load_history(symbol: str) -> list[Bar]:
    for folder in OHLCV:
        path = folder / f"{symbol}.csv"
        if path.is_file():
            with path.open() as handle:
                return [
                    Bar(date.fromisoformat(r["Date"]), float(r["Open"]), float(r["High"]),
                        float(r["Low"]), float(r["Close"]), float(r["Volume"]))
                    for r in csv.DictReader(handle)
                ]  # fmt: skip
    return []


def load_fundamentals(raw: dict[str, Any]) -> list[FundamentalsYear]:
    annual = {k: by_end(v) for k, v in raw["annual"].items()}
    balances = {k: by_end(v) for k, v in raw["balances"].items()}
    shares = by_end(raw.get("dilutedShares"))
    ends = sorted(set(annual.get("revenue", {})) | set(annual.get("netIncome", {})))
    years = []
    for end in ends:
        ocf, capex = annual.get("ocf", {}).get(end), annual.get("capex", {}).get(end)
        years.append(
            FundamentalsYear(
                fiscal_year=end.year,
                period_end=end,
                filed=end + timedelta(days=75),  # not in the source: stated estimate
                filed_estimated=True,
                revenue=annual.get("revenue", {}).get(end),
                gross_profit=annual.get("grossProfit", {}).get(end),
                operating_income=annual.get("opIncome", {}).get(end),
                net_income=annual.get("netIncome", {}).get(end),
                eps_diluted=annual.get("eps", {}).get(end),
                operating_cash_flow=ocf,
                capital_expenditure=capex,
                free_cash_flow=ocf - capex if ocf is not None and capex is not None else None,
                total_debt=balances.get("ltDebt", {}).get(end),
                cash=balances.get("cash", {}).get(end),
                shareholders_equity=balances.get("equity", {}).get(end),
                shares_outstanding=shares.get(end),
                dividends_per_share=annual.get("divPS", {}).get(end),
            )
        )
    return years


def load_stock(symbol: str) -> StockData:
    raw = json.loads((COMPANIES / f"{symbol}.json").read_text())
    history = load_history(symbol)
    as_of = history[-1].date if history else date(2026, 2, 25)
    price = history[-1].close if history else 100.0
    quote = Quote(symbol, price, None, None, None, None, None, None, None, None, None, None,
                  None, None, None, as_of)  # fmt: skip
    profile = Profile(symbol, raw["name"], SECTORS.get(symbol, "Information Technology"),
                      None, None, None)  # fmt: skip
    return StockData(profile, quote, history, load_fundamentals(raw))


def test_all_analysts_on_real_companies() -> None:
    stocks = [load_stock(s) for s in SYMBOLS if (COMPANIES / f"{s}.json").is_file()]
    assert len(stocks) >= 10
    ctx = build_market_context(stocks, risk_free_rate=0.042, equity_risk_premium=0.05)
    assert ctx.sector_pe_median and ctx.index_returns
    for stock in stocks:
        result = run_all(stock, ctx)
        assert set(result) == set(get_args(ModelName))
        for analysis in result.values():
            Analysis.model_validate_json(analysis.model_dump_json())
        assert build_consensus(result.values()) is not None
    xom = run_all(next(s for s in stocks if s.profile.symbol == "XOM"), ctx)
    assert xom["warren_buffett"].confidence < 0.5  # no income/cash-flow history in this source
