"""The optional LLM voice is wired into the analysis API and never changes a number."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import UserFactory

LLM = "http://127.0.0.1:11434/v1"


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1764000000,
        "model": "local-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps({"reasoning": text})},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


@pytest.fixture
async def llm_client(
    settings: Settings, snapshot: SnapshotProvider
) -> AsyncIterator[httpx.AsyncClient]:
    llm_settings = settings.model_copy(update={"llm_base_url": LLM, "llm_model": "local-model"})
    app = create_app(llm_settings, snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        yield c


async def test_reasoning_is_rewritten_and_numbers_are_untouched(
    llm_client: httpx.AsyncClient, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    plain = (await client.get("/api/v1/stocks/KO/analysis", headers=user.headers)).json()[
        "analyses"
    ]["basic"]
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{LLM}/chat/completions").mock(
            return_value=httpx.Response(
                200, json=_completion("A steady, well-run business, in plain words.")
            )
        )
        token = (
            await llm_client.post(
                "/api/v1/auth/login", data={"username": user.username, "password": user.password}
            )
        ).json()["access_token"]
        voiced = (
            await llm_client.get(
                "/api/v1/stocks/KO/analysis", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()["analyses"]["basic"]
    assert route.called
    assert voiced["reasoning"] == "A steady, well-run business, in plain words."
    assert {k: v for k, v in voiced.items() if k != "reasoning"} == {
        k: v for k, v in plain.items() if k != "reasoning"
    }


async def test_llm_failure_falls_back_to_the_deterministic_text(
    llm_client: httpx.AsyncClient, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    plain = (await client.get("/api/v1/stocks/PG/analysis", headers=user.headers)).json()[
        "analyses"
    ]["basic"]
    with respx.mock() as mock:
        mock.post(f"{LLM}/chat/completions").mock(return_value=httpx.Response(500))
        token = (
            await llm_client.post(
                "/api/v1/auth/login", data={"username": user.username, "password": user.password}
            )
        ).json()["access_token"]
        r = await llm_client.get(
            "/api/v1/stocks/PG/analysis", headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 200
    assert r.json()["analyses"]["basic"] == plain
