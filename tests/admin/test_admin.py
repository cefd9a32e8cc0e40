"""Admin API: user search and paging, account changes with audit rows, statistics."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from stockdash.admin.repository import AuditRecord, UserFilter
from stockdash.core.db import utcnow
from stockdash.subscriptions.entities import SubscriptionEventRecord
from stockdash.users.models import User
from tests.admin.helpers import AdminFactory
from tests.conftest import UserFactory, WatchlistFactory, assert_error

USERS = "/api/v1/admin/users"


async def _audit_rows(app: Any) -> list[AuditRecord]:
    """The whole audit log as stored (SQL or MongoDB), oldest first."""
    async with app.state.container.storage.unit(read_only=True) as uow:
        rows, _ = await uow.admin.list_audit(offset=0, limit=1000)
    return sorted(rows, key=lambda row: row.id)


async def _events(app: Any, user_id: int) -> list[SubscriptionEventRecord]:
    """A user's stored tier changes, oldest first."""
    async with app.state.container.storage.unit(read_only=True) as uow:
        events = await uow.subscription_events.list_for_user(user_id)
    return sorted(events, key=lambda event: event.id)


async def _backdate(app: Any, user_id: int, created: datetime) -> None:
    """Move a user's sign-up time (no API changes it: straight into SQL or MongoDB)."""
    storage = app.state.container.storage
    if storage.backend == "mongodb":
        await storage.db["users"].update_one({"_id": user_id}, {"$set": {"created_at": created}})
        return
    async with app.state.container.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user_id).values(created_at=created))
        await session.commit()


async def _sign_up_times(app: Any) -> dict[int, datetime]:
    """Every stored user's sign-up time, by id."""
    async with app.state.container.storage.unit(read_only=True) as uow:
        users, _ = await uow.admin.search_users(UserFilter(), offset=0, limit=1000)
    return {user.id: user.created_at for user in users}


async def test_list_users_pages_searches_and_filters(
    client: httpx.AsyncClient, make_user: UserFactory, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    users = [await make_user() for _ in range(4)]
    pro = await make_user("pro")
    r = await client.get(USERS, params={"page": 1, "size": 2}, headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["count"], body["page"], body["size"]) == (6, 1, 2)
    assert [u["id"] for u in body["data"]] == [admin.id, users[0].id]
    last = (await client.get(USERS, params={"page": 3, "size": 2}, headers=admin.headers)).json()
    assert [u["id"] for u in last["data"]] == [users[3].id, pro.id]
    beyond = (await client.get(USERS, params={"page": 9, "size": 2}, headers=admin.headers)).json()
    assert beyond["data"] == [] and beyond["count"] == 6

    by_name = await client.get(
        USERS, params={"q": users[1].username.upper()}, headers=admin.headers
    )
    assert [u["id"] for u in by_name.json()["data"]] == [users[1].id]
    by_email = await client.get(USERS, params={"q": "@EXAMPLE.com"}, headers=admin.headers)
    assert by_email.json()["count"] == 6
    wildcard = await client.get(USERS, params={"q": "%"}, headers=admin.headers)
    assert wildcard.json()["count"] == 0
    tier = await client.get(USERS, params={"tier": "pro"}, headers=admin.headers)
    assert [u["id"] for u in tier.json()["data"]] == [pro.id]
    assert "password_hash" not in tier.text


async def test_list_users_validates_size(
    client: httpx.AsyncClient, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    assert_error(await client.get(USERS, params={"size": 101}, headers=admin.headers), 422)
    assert_error(await client.get(USERS, params={"page": 0}, headers=admin.headers), 422)
    assert_error(await client.get(USERS, params={"tier": "gold"}, headers=admin.headers), 422)


async def test_active_filter_and_deactivation_revokes_tokens_at_once(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    user = await make_user()
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 200
    r = await client.patch(f"{USERS}/{user.id}", json={"is_active": False}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is False
    assert_error(await client.get("/api/v1/users/me", headers=user.headers), 401)
    inactive = await client.get(USERS, params={"active": "false"}, headers=admin.headers)
    assert [u["id"] for u in inactive.json()["data"]] == [user.id]
    active = await client.get(USERS, params={"active": "true"}, headers=admin.headers)
    assert [u["id"] for u in active.json()["data"]] == [admin.id]
    [row] = await _audit_rows(app)
    assert (row.actor_user_id, row.action, row.target_type, row.target_id) == (
        admin.id,
        "user.update",
        "user",
        str(user.id),
    )
    assert row.details == {"changes": {"is_active": {"from": True, "to": False}}}


async def test_patch_tier_and_role_writes_event_and_audit(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    user = await make_user()
    r = await client.patch(
        f"{USERS}/{user.id}", json={"tier": "expert", "role": "admin"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["subscription_tier"], r.json()["role"], r.json()["max_stocks"]) == (
        "expert",
        "admin",
        20,
    )
    [event] = await _events(app, user.id)
    assert (event.from_tier, event.to_tier, event.changed_by_user_id) == (
        "free",
        "expert",
        admin.id,
    )
    [row] = await _audit_rows(app)
    assert row.details["changes"] == {
        "tier": {"from": "free", "to": "expert"},
        "role": {"from": "user", "to": "admin"},
    }
    # The promoted user can now use the admin API.
    assert (await client.get("/api/v1/admin/stats", headers=user.headers)).status_code == 200


async def test_admin_cannot_demote_or_deactivate_themselves(
    app: Any, client: httpx.AsyncClient, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    for body in ({"role": "user"}, {"is_active": False}, {"tier": "pro", "is_active": False}):
        r = await client.patch(f"{USERS}/{admin.id}", json=body, headers=admin.headers)
        assert_error(r, 409, "cannot_modify_self")
    ok = await client.patch(f"{USERS}/{admin.id}", json={"tier": "pro"}, headers=admin.headers)
    assert ok.status_code == 200 and ok.json()["role"] == "admin"
    assert len(await _audit_rows(app)) == 1


async def test_tier_change_below_watchlist_size_is_refused_without_trace(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_admin: AdminFactory,
    fill_watchlist: WatchlistFactory,
) -> None:
    admin = await make_admin()
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"])
    r = await client.patch(f"{USERS}/{user.id}", json={"tier": "free"}, headers=admin.headers)
    error = assert_error(r, 409, "watchlist_exceeds_tier")
    assert error["details"] == {"tracked": 6, "max_stocks": 5, "remove": 1}
    me = (await client.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["subscription_tier"] == "pro"
    assert await _audit_rows(app) == []
    assert len(await _events(app, user.id)) == 1  # only the user's own upgrade


async def test_patch_unknown_user_and_bad_body(
    client: httpx.AsyncClient, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    assert_error(
        await client.patch(f"{USERS}/999999", json={"tier": "pro"}, headers=admin.headers),
        404,
        "user_not_found",
    )
    assert_error(
        await client.patch(
            f"{USERS}/{admin.id}", json={"password_hash": "x"}, headers=admin.headers
        ),
        422,
    )
    assert_error(
        await client.patch(f"{USERS}/{admin.id}", json={"role": "root"}, headers=admin.headers), 422
    )


async def test_stats_match_a_seeded_setup(
    app: Any,
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_admin: AdminFactory,
    fill_watchlist: WatchlistFactory,
) -> None:
    admin = await make_admin()
    a, b = await make_user("pro"), await make_user("expert")  # two upgrades
    c = await make_user()
    await fill_watchlist(a, ["AAPL", "MSFT"])
    await fill_watchlist(b, ["AAPL", "NVDA", "MSFT"])
    await fill_watchlist(c, ["AAPL"])
    r = await client.put("/api/v1/subscriptions/me", json={"tier": "pro"}, headers=b.headers)
    assert r.status_code == 200  # a downgrade: not a conversion
    await client.patch(f"{USERS}/{c.id}", json={"is_active": False}, headers=admin.headers)
    await _backdate(app, a.id, utcnow() - timedelta(days=3))  # one account registered 3 days ago

    r = await client.get("/api/v1/admin/stats", headers=admin.headers)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["total_users"] == 4
    assert stats["active_users"] == 3
    assert stats["users_by_tier"] == {"free": 2, "pro": 2, "expert": 0}
    assert stats["conversions"] == 2
    assert stats["most_tracked"] == [
        {"symbol": "AAPL", "count": 3},
        {"symbol": "MSFT", "count": 2},
        {"symbol": "NVDA", "count": 1},
    ]
    days = stats["registrations_per_day"]
    # Compare with the stored sign-up times, not with "now": the test may straddle midnight UTC.
    created = await _sign_up_times(app)
    today = date.fromisoformat(days[-1]["date"])
    assert today in {created[admin.id].date(), utcnow().date()}
    assert [d["date"] for d in days] == [
        (today - timedelta(days=29 - i)).isoformat() for i in range(30)
    ]
    per_day = Counter(t.date().isoformat() for t in created.values())
    assert [d["count"] for d in days] == [per_day.get(d["date"], 0) for d in days]
    assert per_day[created[a.id].date().isoformat()] == 1  # the back-dated sign-up, days ago
    assert today - created[a.id].date() >= timedelta(days=2)
    assert sum(d["count"] for d in days) == 4


async def test_audit_log_lists_admin_actions_newest_first(
    client: httpx.AsyncClient, make_user: UserFactory, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    user = await make_user()
    await client.patch(f"{USERS}/{user.id}", json={"tier": "pro"}, headers=admin.headers)
    await client.patch(f"{USERS}/{user.id}", json={"is_active": False}, headers=admin.headers)
    r = await client.get("/api/v1/admin/audit", params={"size": 1}, headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2 and len(body["data"]) == 1
    assert body["data"][0]["details"] == {"changes": {"is_active": {"from": True, "to": False}}}
