"""Admin rules: search accounts, change them (never your own admin rights), audit every change."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from stockdash.admin.repository import AuditRecord, NewAuditEntry, UserFilter
from stockdash.admin.schemas import (
    AdminStats,
    AdminUserList,
    AdminUserUpdate,
    AuditLogList,
    AuditLogPublic,
    DayCount,
    SymbolCount,
)
from stockdash.core.db import utcnow
from stockdash.core.errors import Conflict, NotFound
from stockdash.storage.base import UnitOfWork
from stockdash.subscriptions import service as subscriptions
from stockdash.subscriptions.tiers import TIER_ORDER
from stockdash.users.account import revoke_credentials
from stockdash.users.records import UserRecord, UserUpdate
from stockdash.users.service import to_public

STATS_DAYS = 30
TOP_SYMBOLS = 10


async def list_users(unit: UnitOfWork, f: UserFilter, *, page: int, size: int) -> AdminUserList:
    """One page of users matching the filter."""
    users, total = await unit.admin.search_users(f, offset=(page - 1) * size, limit=size)
    return AdminUserList(data=[to_public(u) for u in users], count=total, page=page, size=size)


def _refuse_self_lockout(actor: UserRecord, user_id: int, data: AdminUserUpdate) -> None:
    if actor.id != user_id:
        return
    if data.is_active is False:
        raise Conflict("You cannot deactivate your own account.", code="cannot_modify_self")
    if data.role == "user":
        raise Conflict("You cannot remove your own admin role.", code="cannot_modify_self")


async def _refuse_owner_lockout(unit: UnitOfWork, user_id: int, data: AdminUserUpdate) -> None:
    """Nobody else may demote or deactivate the owner (the first admin): admins cannot oust them."""
    if data.role != "user" and data.is_active is not False:
        return
    if await unit.admin.owner_id() == user_id:
        raise Conflict(
            "The owner (the first administrator) cannot be demoted or deactivated.",
            code="cannot_modify_owner",
        )


async def update_user(
    unit: UnitOfWork, actor: UserRecord, user_id: int, data: AdminUserUpdate
) -> UserRecord:
    """Apply an admin's changes to an account, with the tier event and audit entry (the caller
    commits: on SQL all of it atomically)."""
    _refuse_self_lockout(actor, user_id, data)
    user = await unit.users.lock(user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    await _refuse_owner_lockout(unit, user_id, data)
    changes: dict[str, Any] = {}
    if data.tier is not None and data.tier.value != user.subscription_tier:
        changes["tier"] = {"from": user.subscription_tier, "to": data.tier.value}
        user = await subscriptions.apply_tier(unit, user, data.tier, changed_by=actor.id)
    change = UserUpdate()
    if data.role is not None and data.role != user.role:
        changes["role"] = {"from": user.role, "to": data.role}
        change = replace(change, role=data.role)
    if data.is_active is not None and data.is_active != user.is_active:
        changes["is_active"] = {"from": user.is_active, "to": data.is_active}
        # Both ways: a reactivated account must not revive what it held before.
        user = await revoke_credentials(unit, user.id, replace(change, is_active=data.is_active))
    elif change.values():
        user = await _updated(unit, user.id, change)
    await audit(unit, actor, "user.update", "user", user.id, {"changes": changes})
    return user


async def _updated(unit: UnitOfWork, user_id: int, change: UserUpdate) -> UserRecord:
    """The user after `change`; 404 if deleted meanwhile."""
    user = await unit.users.update(user_id, change)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def audit(
    unit: UnitOfWork,
    actor: UserRecord | None,
    action: str,
    target_type: str,
    target_id: int | str,
    details: dict[str, Any],
) -> AuditRecord:
    """Record an admin action in the caller's unit of work (actor None: the command line)."""
    entry = NewAuditEntry(
        actor_user_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details,
    )
    return await unit.admin.add_audit(entry)


async def audit_log(unit: UnitOfWork, *, page: int, size: int) -> AuditLogList:
    """One page of the audit log, newest first."""
    rows, total = await unit.admin.list_audit(offset=(page - 1) * size, limit=size)
    data = [AuditLogPublic.model_validate(r) for r in rows]
    return AuditLogList(data=data, count=total, page=page, size=size)


def registrations_per_day(times: list[datetime], today: datetime, days: int) -> list[DayCount]:
    """Daily sign-up counts (UTC), oldest first, including days with none."""
    per_day = Counter(t.date() for t in times)
    first = today.date() - timedelta(days=days - 1)
    return [
        DayCount(date=day, count=per_day.get(day, 0))
        for day in (first + timedelta(days=i) for i in range(days))
    ]


async def stats(unit: UnitOfWork, now: datetime | None = None) -> AdminStats:
    """Users by tier, sign-ups per day, active users, upgrades and the most tracked symbols."""
    now = now or utcnow()
    repo = unit.admin
    by_tier = await repo.users_by_tier()
    since = datetime.combine(
        now.date() - timedelta(days=STATS_DAYS - 1), datetime.min.time(), now.tzinfo
    )
    return AdminStats(
        total_users=await repo.count_users(),
        active_users=await repo.count_users(active=True),
        users_by_tier={tier: by_tier.get(tier.value, 0) for tier in TIER_ORDER},
        registrations_per_day=registrations_per_day(
            await repo.registration_times(since), now, STATS_DAYS
        ),
        conversions=await unit.subscription_events.count_upgrades(),
        most_tracked=[
            SymbolCount(symbol=s, count=n) for s, n in await repo.most_tracked(TOP_SYMBOLS)
        ],
    )
