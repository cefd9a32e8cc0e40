"""Attacks on a real `stockdash serve` process: forged proxy headers from loopback, oversized
headers, and abusive bodies while /healthz must keep answering."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.served import own_storage, served_env, serving

PASSWORD = "quartz-lantern-meadow-91"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real server that trusts no proxy headers, even with uvicorn's
    FORWARDED_ALLOW_IPS set to trust everyone (the app alone owns the client address)."""
    data_dir = tmp_path_factory.mktemp("served")
    with own_storage(data_dir, "served") as storage:
        env = {
            **served_env(data_dir, "served"),
            **storage,
            "WARM_ANALYSIS_CONTEXT": "false",
            "RATE_LIMIT_REGISTER_IP": "3/minute",
            "TRUST_PROXY_HEADERS": "false",
            "FORWARDED_ALLOW_IPS": "*",
        }
        with serving(env, data_dir / "server.log") as base:
            yield base


def test_forged_forwarded_for_from_loopback_does_not_reset_the_sign_up_limit(
    served: str,
) -> None:
    answers = []
    for i in range(4):
        body = {"username": f"xff{i}", "email": f"xff{i}@example.com", "password": PASSWORD}
        forged = {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"203.0.113.{i + 1}"}
        answers.append(httpx.post(f"{served}/api/v1/auth/register", json=body, headers=forged))
    assert [r.status_code for r in answers] == [201, 201, 201, 429], [r.text for r in answers]


def test_forged_forwarded_proto_does_not_switch_hsts_on(served: str) -> None:
    r = httpx.get(f"{served}/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    assert "Strict-Transport-Security" not in r.headers


def test_an_oversized_header_is_refused(served: str) -> None:
    r = httpx.get(f"{served}/healthz", headers={"X-Padding": "a" * 1_000_000})
    assert r.status_code in (400, 431), r.status_code
    assert httpx.get(f"{served}/healthz").status_code == 200


async def test_healthz_answers_while_abusive_bodies_are_rejected(served: str) -> None:
    """An upper bound with generous slack (the unbounded handler stalled for seconds)."""
    body = json.dumps({f"k{i:05d}": i for i in range(60_000)})
    async with httpx.AsyncClient(base_url=served, timeout=60) as client:
        abuse = [
            asyncio.create_task(
                client.post(
                    "/api/v1/auth/refresh",
                    content=body,
                    headers={"content-type": "application/json"},
                )
            )
            for _ in range(4)
        ]
        worst = 0.0
        while not all(t.done() for t in abuse):
            asked = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            worst = max(worst, time.perf_counter() - asked)
        answers = await asyncio.gather(*abuse)
    assert all(r.status_code == 422 and len(r.content) < 8_192 for r in answers)
    assert worst < 1.5, worst
