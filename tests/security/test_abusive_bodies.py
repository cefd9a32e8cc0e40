"""Abusive request bodies: validation errors stay small and cheap (the /healthz-while-abused
check runs against a real server in test_served.py)."""

from __future__ import annotations

import json
import time

import httpx

from tests.conftest import assert_error

# About 1 MB of JSON with tens of thousands of unknown keys: each one a validation error.
MANY_KEYS = json.dumps({f"k{i:05d}": i for i in range(60_000)})
# One field holding a huge array (a refresh token must be a string).
HUGE_ARRAY = json.dumps({"refresh_token": list(range(100_000))})
JSON = {"content-type": "application/json"}


async def test_many_unknown_keys_get_a_small_answer(client: httpx.AsyncClient) -> None:
    assert len(MANY_KEYS) < 1_048_576  # under the body size limit: the 422 path must cope
    started = time.perf_counter()
    r = await client.post("/api/v1/auth/refresh", content=MANY_KEYS, headers=JSON)
    elapsed = time.perf_counter() - started
    error = assert_error(r, 422)
    assert len(r.content) < 8_192, len(r.content)
    assert len(error["details"]) <= 20
    assert elapsed < 3.0, elapsed  # generous: the old handler took over 10 s


async def test_a_huge_array_is_not_echoed(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/refresh", content=HUGE_ARRAY, headers=JSON)
    assert_error(r, 422)
    assert len(r.content) < 8_192, len(r.content)
    assert "99999" not in r.text


async def test_errors_below_the_node_cap_are_reported_a_few_at_a_time(
    client: httpx.AsyncClient,
) -> None:
    body = {f"k{i}": "v" * 500 for i in range(2_000)} | {"refresh_token": "x"}
    r = await client.post("/api/v1/auth/refresh", json=body)
    error = assert_error(r, 422, "validation_error")
    assert 1 <= len(error["details"]) <= 20
    assert "more errors" in error["message"]
    assert all(len(str(d.get("input", ""))) <= 80 for d in error["details"])
    assert len(r.content) < 8_192, len(r.content)


async def test_a_non_json_body_is_not_echoed(client: httpx.AsyncClient) -> None:
    blob = "A" * 900_000
    r = await client.post(
        "/api/v1/auth/refresh", content=blob, headers={"content-type": "text/plain"}
    )
    assert_error(r, 422)
    assert len(r.content) < 4_096, len(r.content)


async def test_passwords_are_never_echoed(client: httpx.AsyncClient) -> None:
    secret = "hunter2-but-much-too-long-" * 10
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "x", "email": "not-an-email", "password": secret},
    )
    assert_error(r, 422)
    assert "hunter2" not in r.text
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "okname", "email": "a@example.com", "password": 5},
    )
    assert_error(r, 422)


async def test_long_inputs_are_truncated_in_the_echo(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/stocks/search", params={"q": "", "limit": "9" * 5000})
    error = assert_error(r, 422)
    assert len(r.content) < 4_096, len(r.content)
    assert error["details"]


async def test_a_form_with_tens_of_thousands_of_fields_is_cheap(client: httpx.AsyncClient) -> None:
    form = "&".join(f"f{i}=x" for i in range(60_000)) + "&username=nobody&password=x"
    started = time.perf_counter()
    r = await client.post(
        "/api/v1/auth/login",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    elapsed = time.perf_counter() - started
    assert r.status_code in (400, 401, 422), r.text
    assert len(r.content) < 4_096
    assert elapsed < 3.0, elapsed
