"""`stockdash serve` with DATABASE_URL=mongodb://… against the MongoDB test server: the whole
product on MongoDB (sign-up, login, the watchlist limit, the dashboard, admin, API keys,
notification settings, metrics), with nothing written to the SQL database beside it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import mongo_server
from tests.served import CLI, own_mongo_server_database, served_env, serving

PASSWORD = "correct horse battery staple 42"
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"]

pytestmark = pytest.mark.skipif(
    not mongo_server.available(), reason="no MongoDB test server: run `make mongo-server`"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server on its own MongoDB database (dropped afterwards), an admin created by the CLI."""
    data_dir = tmp_path_factory.mktemp("serve-mongo")
    with own_mongo_server_database("serve") as storage:
        env = {**served_env(data_dir, "mongo"), **storage, "BROKER_URL": ""}
        admin = ["--email", "root@example.com", "--username", "root", "--password", PASSWORD]
        subprocess.run([*CLI, "create-admin", *admin], env=env, check=True, timeout=120)
        with serving(env, data_dir / "server.log") as base:
            yield base, data_dir


def _login(client: httpx.Client, login: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", data={"username": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_product_runs_on_mongodb(served: tuple[str, Path]) -> None:
    base, data_dir = served
    with httpx.Client(base_url=base, timeout=60) as client:
        r = client.post(
            "/api/v1/auth/register",
            json={"username": "Alice", "email": "alice@example.com", "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        alice_id = r.json()["id"]
        again = client.post(
            "/api/v1/auth/register",
            json={"username": "ALICE", "email": "other@example.com", "password": PASSWORD},
        )
        assert again.status_code == 409  # unique regardless of case
        alice = _login(client, "alice")
        assert client.get("/api/v1/users/me", headers=alice).json()["username"] == "Alice"

        # The free tier's limit of 5 holds.
        codes = [
            client.post("/api/v1/watchlist", json={"symbol": s}, headers=alice).status_code
            for s in SYMBOLS
        ]
        assert codes == [201] * 5 + [403], codes
        listed = client.get("/api/v1/watchlist", headers=alice).json()
        assert sorted(i["symbol"] for i in listed["data"]) == sorted(SYMBOLS[:5])
        dashboard = client.get("/api/v1/dashboard", headers=alice)
        assert dashboard.status_code == 200, dashboard.text

        # A read-only API key reads the watchlist; it cannot write.
        r = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=alice)
        assert r.status_code == 201, r.text
        key = {"X-API-Key": r.json()["key"]}
        assert client.get("/api/v1/watchlist", headers=key).status_code == 200
        assert (
            client.post("/api/v1/watchlist", json={"symbol": "KO"}, headers=key).status_code == 403
        )

        # Notification settings and a refresh-token rotation.
        r = client.put("/api/v1/notifications/settings", json={"email": "digest"}, headers=alice)
        assert r.status_code == 200 and r.json()["email"] == "digest"

        # The admin (created by the CLI on MongoDB) upgrades Alice; stats and the audit log.
        root = _login(client, "root@example.com")
        r = client.patch(f"/api/v1/admin/users/{alice_id}", json={"tier": "pro"}, headers=root)
        assert r.status_code == 200 and r.json()["subscription_tier"] == "pro", r.text
        stats = client.get("/api/v1/admin/stats", headers=root).json()
        assert stats["total_users"] == 2 and stats["users_by_tier"]["pro"] == 1
        assert stats["most_tracked"][0]["count"] == 1
        audit = client.get("/api/v1/admin/audit", headers=root).json()
        assert [e["action"] for e in audit["data"]] == ["user.update", "user.create_admin"]
        assert (
            client.post("/api/v1/watchlist", json={"symbol": "META"}, headers=alice).status_code
            == 201
        )

        # Deactivation ends Alice's tokens and keys at once.
        r = client.patch(f"/api/v1/admin/users/{alice_id}", json={"is_active": False}, headers=root)
        assert r.status_code == 200, r.text
        assert client.get("/api/v1/users/me", headers=alice).status_code == 401
        assert client.get("/api/v1/watchlist", headers=key).status_code == 401

        metrics = client.get("/metrics").text
        assert "stockdash_metrics_db_up 1.0" in metrics
        assert client.get("/readyz").status_code == 200
    # Nothing went to the SQL database beside it: no SQLite file was even created.
    assert not (data_dir / "stockdash.db").exists()


def test_parallel_adds_hold_the_limit_through_transaction_conflicts(
    served: tuple[str, Path],
) -> None:
    """Concurrent adds of one user conflict in their transactions (the slot counter): each
    request is answered again until it gets through, so exactly the limit is stored and none
    answers a 5xx."""
    import asyncio

    base, _ = served
    symbols = [
        "A",
        "ABBV",
        "ABNB",
        "ABT",
        "ACGL",
        "ACN",
        "ADBE",
        "ADI",
        "ADM",
        "ADP",
        "ADSK",
        "AEE",
    ]

    async def scenario() -> tuple[list[int], list[str]]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            r = await client.post(
                "/api/v1/auth/register",
                json={"username": "Para", "email": "para@example.com", "password": PASSWORD},
            )
            assert r.status_code == 201, r.text
            r = await client.post(
                "/api/v1/auth/login", data={"username": "para", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/watchlist", json={"symbol": s}, headers=headers)
                    for s in symbols
                )
            )
            listed = await client.get("/api/v1/watchlist", headers=headers)
        return [a.status_code for a in answers], [i["symbol"] for i in listed.json()["data"]]

    codes, stored = asyncio.run(scenario())
    assert sorted(codes) == [201] * 5 + [403] * (len(symbols) - 5), codes
    assert len(stored) == 5 and set(stored) <= set(symbols)
