"""Lossless JSON round-trips of the market data types (for caches and the stock_cache table)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from stockdash.market.types import Bar, FundamentalsYear, Profile, Quote


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON text for dataclasses, lists and dicts of them."""
    return json.dumps(_plain(value), default=_default, separators=(",", ":"), allow_nan=False)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def quote_from(data: dict[str, Any]) -> Quote:
    """A Quote from its JSON form."""
    return Quote(**{**data, "as_of": date.fromisoformat(data["as_of"])})


def profile_from(data: dict[str, Any]) -> Profile:
    """A Profile from its JSON form."""
    return Profile(**data)


def bars_columns(bars: list[Bar]) -> dict[str, list[Any]]:
    """Bars as columns (histories are long; this is the hot path of a refresh)."""
    return {
        "date": [b.date.isoformat() for b in bars],
        "open": [b.open for b in bars],
        "high": [b.high for b in bars],
        "low": [b.low for b in bars],
        "close": [b.close for b in bars],
        "volume": [b.volume for b in bars],
    }


def dumps_bars(bars: list[Bar]) -> str:
    """Bars as compact columnar JSON."""
    return json.dumps(bars_columns(bars), separators=(",", ":"), allow_nan=False)


def loads_bars(text: str) -> list[Bar]:
    """Bars from their columnar JSON form."""
    return bars_from_columns(json.loads(text))


def bars_from_columns(c: dict[str, list[Any]]) -> list[Bar]:
    """Bars from their columns."""
    dates = [date.fromisoformat(d) for d in c["date"]]
    return [
        Bar(d, o, h, low, close, v)
        for d, o, h, low, close, v in zip(
            dates, c["open"], c["high"], c["low"], c["close"], c["volume"], strict=True
        )
    ]


FUNDAMENTALS_FIELDS = tuple(f.name for f in dataclasses.fields(FundamentalsYear))


def fundamentals_json(rows: list[FundamentalsYear]) -> list[dict[str, Any]]:
    """Statements as JSON-ready dicts, in one pass (the inverse of `fundamentals_from`)."""
    return [
        {
            **{name: getattr(r, name) for name in FUNDAMENTALS_FIELDS},
            "period_end": r.period_end.isoformat(),
            "filed": r.filed.isoformat(),
            "sources": dict(r.sources),
        }
        for r in rows
    ]


def fundamentals_from(rows: list[dict[str, Any]]) -> list[FundamentalsYear]:
    """Fundamentals from their JSON form."""
    return [
        FundamentalsYear(
            **{
                **r,
                "period_end": date.fromisoformat(r["period_end"]),
                "filed": date.fromisoformat(r["filed"]),
            }
        )
        for r in rows
    ]
