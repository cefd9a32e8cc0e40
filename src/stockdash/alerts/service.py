"""Alerts: the rules (create, change, delete within the tier's limit) and their evaluation.

Evaluation rules (README, "Notifications and alerts"):

- An alert fires once when its condition becomes true and is then disarmed; it re-arms when the
  condition is false at a later refresh, and fires again at the next crossing. A new (or
  re-thresholded) alert is armed: if its condition already holds at the next refresh, it fires.
- `signal_change` fires whenever the consensus signal differs from the one last seen (the first
  refresh after creating it only records the signal).
- A condition that cannot be judged (no price, an analyst that is not rated) changes nothing.
- An alert whose symbol left the watchlist is paused: kept, not evaluated, shown as `paused`;
  it resumes (still armed or not, as it was) when the symbol is added back.
"""

from __future__ import annotations

from typing import Any

from stockdash.alerts.models import CONSENSUS, AlertKind
from stockdash.alerts.repository import AlertLimitReached, AlertRecord, NewAlert
from stockdash.alerts.schemas import (
    AlertCreate,
    AlertList,
    AlertPublic,
    AlertUpdate,
    check_threshold,
)
from stockdash.core.db import utcnow
from stockdash.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from stockdash.events.snapshots import SymbolSnapshot
from stockdash.notifications.service import NewNotification
from stockdash.storage.base import UnitOfWork
from stockdash.subscriptions import tiers


def to_public(alert: AlertRecord, watched: bool) -> AlertPublic:
    """The API view of an alert."""
    return AlertPublic(
        id=alert.id,
        symbol=alert.symbol,
        kind=AlertKind(alert.kind),
        threshold=alert.threshold,
        model=alert.model,
        enabled=alert.enabled,
        armed=alert.armed,
        paused=not watched,
        created_at=alert.created_at,
        last_fired_at=alert.last_fired_at,
    )


async def list_alerts(unit: UnitOfWork, user_id: int, tier: str, symbol: str | None) -> AlertList:
    """The user's alerts (optionally on one symbol)."""
    rows = await unit.alerts.list_for_user(user_id, symbol)
    data = [to_public(a, w) for a, w in rows]
    return AlertList(data=data, count=len(data), max_alerts=tiers.max_alerts(tier))


def _alert_not_found() -> NotFound:
    return NotFound("No such alert.", code="alert_not_found")


def _limit_reached(tier: str, limit: int) -> Forbidden:
    return Forbidden(
        f"Your {tiers.spec(tier).name} plan allows {limit} alerts; delete one or upgrade "
        "your plan to add more.",
        code="alert_limit_reached",
        details={"max_alerts": limit, "tier": tier},
    )


async def create_alert(unit: UnitOfWork, user_id: int, body: AlertCreate) -> AlertPublic:
    """Add an alert on a watched symbol, within the tier's limit and analysts (the caller
    commits)."""
    symbol = body.symbol.strip().upper()
    user = await unit.users.lock(user_id)  # SQL: serialises concurrent creates (the limit)
    if user is None:
        raise NotFound("User not found.")
    repo = unit.alerts
    if not await repo.watched(user_id, symbol):
        raise Unprocessable(
            f"{symbol} is not on your watchlist: add it first, then set alerts on it.",
            code="symbol_not_watched",
            details={"symbol": symbol},
        )
    tier = user.subscription_tier
    if body.model not in (None, CONSENSUS) and tiers.AnalystModel(
        body.model
    ) not in tiers.allowed_models(tier):
        raise Unprocessable(
            f"Your {tiers.spec(tier).name} plan does not include the {body.model} analyst.",
            code="model_not_in_plan",
            details={"model": body.model, "required_tier": tiers.required_tier(body.model)},
        )
    limit = tiers.max_alerts(tier)
    if await repo.count(user_id) >= limit:
        raise _limit_reached(tier, limit)
    existing = await repo.list_for_user(user_id, symbol)
    if any(
        a.kind == body.kind and a.threshold == body.threshold and a.model == body.model
        for a, _ in existing
    ):
        raise Conflict("You already have this alert.", code="alert_exists")
    new = NewAlert(user_id, symbol, str(body.kind), body.threshold, body.model)
    try:
        # MongoDB has no user lock: the repository's atomic slot counter holds the limit.
        alert = await repo.add_within_limit(new, limit)
    except AlertLimitReached as exc:
        raise _limit_reached(tier, limit) from exc
    return to_public(alert, True)


async def update_alert(
    unit: UnitOfWork, user_id: int, alert_id: int, body: AlertUpdate
) -> AlertPublic:
    """Change an alert's threshold (which re-arms it) or switch it on or off (the caller
    commits)."""
    repo = unit.alerts
    alert = await repo.get(user_id, alert_id)
    if alert is None:
        raise _alert_not_found()
    if "threshold" in body.model_fields_set:
        problem = check_threshold(AlertKind(alert.kind), body.threshold)
        if problem:
            raise Unprocessable(problem[0].upper() + problem[1:] + ".", code="invalid_threshold")
        alert.threshold = body.threshold
        alert.armed = True
    if body.enabled is not None:
        alert.enabled = body.enabled
    await repo.save(alert)
    return to_public(alert, await repo.watched(user_id, alert.symbol))


async def delete_alert(unit: UnitOfWork, user_id: int, alert_id: int) -> None:
    """Delete one of the user's alerts (the caller commits)."""
    if not await unit.alerts.remove(user_id, alert_id):
        raise _alert_not_found()


# -- evaluation -----------------------------------------------------------------------------


def _score(snap: SymbolSnapshot, tier: str, model: str | None) -> float | None:
    view = snap.view(tier)
    if view is None:
        return None
    return view.consensus_score if model == CONSENSUS else view.scores.get(str(model))


def _condition(
    alert: AlertRecord, snap: SymbolSnapshot, tier: str
) -> tuple[bool | None, float | None]:
    """Whether the alert's condition holds now (None: cannot tell), and the value it looked at."""
    kind, limit = AlertKind(alert.kind), alert.threshold or 0.0
    if kind in (AlertKind.PRICE_ABOVE, AlertKind.PRICE_BELOW):
        value = snap.price
    elif kind == AlertKind.DAILY_MOVE:
        value = snap.change_percent
    else:
        value = _score(snap, tier, alert.model)
    if value is None:
        return None, None
    if kind in (AlertKind.PRICE_ABOVE, AlertKind.SCORE_ABOVE):
        return value >= limit, value
    if kind in (AlertKind.PRICE_BELOW, AlertKind.SCORE_BELOW):
        return value <= limit, value
    return abs(value) >= limit, value


def _describe(
    alert: AlertRecord, value: float | None, signal: str | None = None
) -> tuple[str, str]:
    """The notification's title and body."""
    s, t = alert.symbol, alert.threshold
    match AlertKind(alert.kind):
        case AlertKind.PRICE_ABOVE:
            return f"{s} rose to {value:,.2f}", f"{s} is at or above your alert price {t:,.2f}."
        case AlertKind.PRICE_BELOW:
            return f"{s} fell to {value:,.2f}", f"{s} is at or below your alert price {t:,.2f}."
        case AlertKind.DAILY_MOVE:
            return (
                f"{s} moved {value:+.2f}% today",
                f"{s}'s daily change passed your ±{t:g}% alert.",
            )
        case AlertKind.SCORE_ABOVE | AlertKind.SCORE_BELOW:
            way = "above" if alert.kind == AlertKind.SCORE_ABOVE else "below"
            return (
                f"{s} {alert.model} score {value:.1f}",
                f"The {alert.model} score of {s} is at or {way} your threshold {t:g}.",
            )
        case _:
            return (
                f"{s} consensus is now {signal}",
                f"The consensus signal of {s} changed from {alert.last_signal} to {signal}.",
            )


def evaluate(alert: AlertRecord, snap: SymbolSnapshot, tier: str) -> NewNotification | None:
    """Judge one alert against a fresh snapshot; updates its state; what fired (if it did)."""
    if alert.kind == AlertKind.SIGNAL_CHANGE:
        view = snap.view(tier)
        signal = view.signal if view else None
        if signal is None or signal == alert.last_signal:
            return None
        previous, alert.last_signal = alert.last_signal, signal
        if previous is None:
            return None  # first look: only recorded
        alert.last_signal = previous  # for the description
        title, body = _describe(alert, None, signal)
        alert.last_signal = signal
        return _fired(alert, title, body, {"from": previous, "to": signal})
    holds, value = _condition(alert, snap, tier)
    if holds is None:
        return None
    if not holds:
        alert.armed = True
        return None
    if not alert.armed:
        return None
    alert.armed = False
    title, body = _describe(alert, value)
    return _fired(alert, title, body, {"value": value, "threshold": alert.threshold})


def _fired(alert: AlertRecord, title: str, body: str, data: dict[str, Any]) -> NewNotification:
    alert.last_fired_at = utcnow()
    return NewNotification(
        user_id=alert.user_id,
        alert_id=alert.id,
        kind="alert",
        symbol=alert.symbol,
        title=title,
        body=body,
        data={"alert_id": alert.id, "alert_kind": alert.kind, "model": alert.model, **data},
    )
