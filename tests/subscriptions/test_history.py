"""Subscription history: every tier change is recorded with the change, and billing can veto it."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.subscriptions.billing import BillingDecision
from stockdash.subscriptions.tiers import Tier
from stockdash.users.models import User
from tests.conftest import UserFactory, WatchlistFactory, assert_error

HISTORY = "/api/v1/subscriptions/me/history"
TIER = "/api/v1/subscriptions/me"


async def test_history_lists_own_changes_newest_first(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user("pro")
    other = await make_user("expert")
    assert (
        await client.put(TIER, json={"tier": "expert"}, headers=user.headers)
    ).status_code == 200
    assert (
        await client.put(TIER, json={"tier": "expert"}, headers=user.headers)
    ).status_code == 200
    r = await client.get(HISTORY, headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2  # the repeated change to the same tier records nothing
    assert [(e["from_tier"], e["to_tier"]) for e in body["data"]] == [
        ("pro", "expert"),
        ("free", "pro"),
    ]
    assert all(e["changed_by_user_id"] == user.id for e in body["data"])
    other_body = (await client.get(HISTORY, headers=other.headers)).json()
    assert [(e["from_tier"], e["to_tier"]) for e in other_body["data"]] == [("free", "expert")]


async def test_refused_downgrade_records_nothing(
    client: httpx.AsyncClient, make_user: UserFactory, fill_watchlist: WatchlistFactory
) -> None:
    user = await make_user("pro")
    await fill_watchlist(user, ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"])
    assert_error(
        await client.put(TIER, json={"tier": "free"}, headers=user.headers),
        409,
        "watchlist_exceeds_tier",
    )
    assert (await client.get(HISTORY, headers=user.headers)).json()["count"] == 1


async def test_history_needs_a_login(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(HISTORY), 401)


class RefuseUpgrades:
    """A billing provider whose card is always declined for upgrades."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, Tier, Tier]] = []

    async def authorize_change(self, user: User, from_tier: Tier, to_tier: Tier) -> BillingDecision:
        self.calls.append((user.id, from_tier, to_tier))
        if to_tier == Tier.FREE:
            return BillingDecision(approved=True)
        return BillingDecision(approved=False, reason="Card declined.", reference="ch_123")


async def test_billing_provider_can_refuse_a_change(
    settings: Settings, snapshot: SnapshotProvider
) -> None:
    billing = RefuseUpgrades()
    app = create_app(settings, snapshot=snapshot, billing=billing)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            creds = {
                "username": "payer",
                "email": "payer@example.com",
                "password": "ochre-walnut-ferry-43",
            }
            assert (await client.post("/api/v1/auth/register", json=creds)).status_code == 201
            login = {"username": "payer", "password": "ochre-walnut-ferry-43"}
            token = (await client.post("/api/v1/auth/login", data=login)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            r = await client.put(TIER, json={"tier": "pro"}, headers=headers)
            error = assert_error(r, 402, "payment_required")
            assert error["message"] == "Card declined."
            me = (await client.get("/api/v1/users/me", headers=headers)).json()
            assert me["subscription_tier"] == "free"
            assert (await client.get(HISTORY, headers=headers)).json()["count"] == 0
            assert (
                await client.put(TIER, json={"tier": "free"}, headers=headers)
            ).status_code == 200
    assert [(f.value, t.value) for _, f, t in billing.calls] == [("free", "pro")]
