"""Text no storage can hold (NUL, lone surrogates) and non-JSON numbers are refused with 422.

PostgreSQL text cannot contain NUL and nothing can UTF-8-encode a lone surrogate, so before the
guard these reached the database or the error handler and came back as 500s.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request

from stockdash.core.errors import _validation_error
from stockdash.core.middleware import CSP
from tests.admin.helpers import AdminFactory
from tests.conftest import UserFactory, assert_error

KEYS = "/api/v1/api-keys"
JSON = {"Content-Type": "application/json"}


def _raw(document: Any) -> bytes:
    """JSON as a client may send it: lone surrogates and NUL as \\u escapes (httpx cannot)."""
    return json.dumps(document).encode("ascii")


def _assert_invalid_text(response: httpx.Response, *locations: list[Any]) -> dict[str, Any]:
    error = assert_error(response, 422, "invalid_text")
    assert [d["loc"] for d in error["details"]] == list(locations), error
    assert response.headers["content-type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == CSP
    return error


@pytest.mark.parametrize("bad", ["key\x00name", "\ud800", "ok\udfffok", "\x00"])
async def test_json_strings_with_nul_or_lone_surrogates_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, make_user: UserFactory, bad: str
) -> None:
    user = await make_user()
    r = await client.post(KEYS, content=_raw({"name": bad}), headers={**JSON, **user.headers})
    error = _assert_invalid_text(r, ["body", "name"])
    assert "body.name" in error["message"]
    listed = await client.get(KEYS, headers=user.headers)
    assert listed.json()["count"] == 0


async def test_keys_and_nested_values_are_checked_at_any_depth(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    body = {"na\x00me": "fine", "symbol": ["AAPL", {"deep": [1, "x\ud83dy"]}]}
    r = await client.post("/api/v1/watchlist", content=_raw(body), headers={**JSON, **user.headers})
    _assert_invalid_text(r, ["body", "na\\u0000me"], ["body", "symbol", 1, "deep", 1])


async def test_registration_with_nul_or_surrogate_stores_no_account(
    client: httpx.AsyncClient,
) -> None:
    for bad in ("ev\x00e", "ev\udc00e"):
        body = {"username": "eve", "email": "eve@example.com", "password": f"pass-{bad}-word"}
        r = await client.post("/api/v1/auth/register", content=_raw(body), headers=JSON)
        _assert_invalid_text(r, ["body", "password"])
    ok = await client.post(
        "/api/v1/auth/register",
        json={"username": "eve", "email": "eve@example.com", "password": "pass-good-word"},
    )
    assert ok.status_code == 201, ok.text  # nothing of the refused attempts was kept


async def test_valid_astral_characters_are_accepted(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    # A correct surrogate pair in JSON is one character, not a lone surrogate.
    r = await client.post(
        KEYS, content=b'{"name": "chart \\ud83d\\udcc8"}', headers={**JSON, **user.headers}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "chart \U0001f4c8"


async def test_form_login_with_nul_is_422(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await client.post(
        "/api/v1/auth/login", content=f"username={user.username}%00&password=x", headers=form
    )
    _assert_invalid_text(r, ["body", "username"])
    r = await client.post(
        "/api/v1/auth/login",
        content=f"username={user.username}&password={user.password}%00",
        headers=form,
    )
    _assert_invalid_text(r, ["body", "password"])
    multipart = await client.post(
        "/api/v1/auth/login", files={"username": (None, "a\x00b"), "password": (None, "pw")}
    )
    _assert_invalid_text(multipart, ["body", "username"])
    # Percent-encoded surrogate bytes decode to replacement characters: an ordinary wrong login.
    r = await client.post(
        "/api/v1/auth/login", content="username=%ED%A0%80&password=x", headers=form
    )
    assert_error(r, 401, "invalid_credentials")


async def test_query_strings_with_nul_are_422(
    client: httpx.AsyncClient, make_admin: AdminFactory
) -> None:
    admin = await make_admin()
    r = await client.get("/api/v1/admin/users?q=ali%00ce&size=5", headers=admin.headers)
    _assert_invalid_text(r, ["query", "q"])
    r = await client.get("/api/v1/stocks/search?q=%00")
    _assert_invalid_text(r, ["query", "q"])
    r = await client.get("/healthz?x%00=1")
    _assert_invalid_text(r, ["query", "x\\u0000"])
    # Percent-encoded surrogate bytes are invalid UTF-8: they decode to replacement characters,
    # never to a lone surrogate, so they are ordinary (unmatched) text.
    r = await client.get("/api/v1/stocks/search?q=%ED%A0%80")
    assert r.status_code == 200 and r.json()["count"] == 0, r.text


async def test_paths_with_nul_are_422(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.delete("/api/v1/watchlist/AA%00PL", headers=user.headers)
    _assert_invalid_text(r, ["path"])
    _assert_invalid_text(await client.get("/api/v1/stocks/%00"), ["path"])


async def test_non_json_numbers_and_invalid_utf8_are_422(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    headers = {**JSON, **user.headers}
    r = await client.post(KEYS, content=b'{"name": NaN}', headers=headers)
    error = assert_error(r, 422, "invalid_json")
    assert error["details"][0]["loc"] == ["body", "name"]
    r = await client.post(KEYS, content=b'{"name": [1, -Infinity]}', headers=headers)
    assert assert_error(r, 422, "invalid_json")["details"][0]["loc"] == ["body", "name", 1]
    _assert_invalid_text(
        await client.post(KEYS, content=b'{"name": "\xff\xfe"}', headers=headers), ["body"]
    )
    # Not JSON at all (or not declared as JSON): the route's own validation error, never a 500.
    assert_error(
        await client.post(KEYS, content=b"{nope", headers=headers), 422, "validation_error"
    )
    plain = {**user.headers, "Content-Type": "text/plain"}
    r = await client.post(KEYS, content=b"\xff\x00\xfe", headers=plain)
    assert_error(r, 422, "validation_error")


def _request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/x", "headers": []})


@pytest.mark.parametrize(
    "bad_input",
    ["\ud800", b"\xff\xfe", float("nan"), {"k\udc80": [float("inf"), "\x00"]}, object()],
)
async def test_the_422_handler_cannot_fail_on_what_it_echoes(bad_input: Any) -> None:
    """Even input that slipped past the guard is reported, escaped, instead of a 500."""
    exc = RequestValidationError(
        [{"type": "string_type", "loc": ("body", "name"), "msg": "bad", "input": bad_input}]
    )
    response = await _validation_error(_request(), exc)
    assert response.status_code == 422
    body = json.loads(bytes(response.body))
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"][0]["loc"] == ["body", "name"]


async def test_every_operation_documents_422_with_the_error_body(app: Any) -> None:
    spec = app.openapi()
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert len(operations) >= 20
    for op in operations:
        answer = op["responses"]["422"]
        assert answer["content"]["application/json"]["schema"] == ref, op["operationId"]
        assert "invalid_text" in answer["description"]
    assert "HTTPValidationError" not in json.dumps(spec)
