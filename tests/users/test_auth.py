"""Registration, login and the profile endpoint."""

from __future__ import annotations

import httpx
import jwt
import pytest

from tests.conftest import UserFactory, assert_error


async def test_register_returns_public_user_without_hash(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={
            "username": "alice",
            "email": "Alice@Example.com",
            "password": "ochre-walnut-ferry-44",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["subscription_tier"] == "free"
    assert body["max_stocks"] == 5
    assert body["allowed_models"] == ["basic"]
    assert body["role"] == "user"
    assert "password" not in r.text and "hash" not in r.text


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (
            {"username": "bob", "email": "bob@example.com"},
            {"username": "bob", "email": "b2@example.com"},
            "username_taken",
        ),
        (
            {"username": "bob", "email": "bob@example.com"},
            {"username": "bob2", "email": "BOB@example.com"},
            "email_taken",
        ),
        (
            {"username": "bob", "email": "bob@example.com"},
            {"username": "BOB", "email": "bob@example.com"},
            "user_exists",
        ),
    ],
)
async def test_duplicates_conflict(
    client: httpx.AsyncClient, first: dict[str, str], second: dict[str, str], code: str
) -> None:
    r = await client.post(
        "/api/v1/auth/register", json={**first, "password": "ochre-walnut-ferry-41"}
    )
    assert r.status_code == 201
    r = await client.post(
        "/api/v1/auth/register", json={**second, "password": "ochre-walnut-ferry-41"}
    )
    assert_error(r, 409, code)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "carol", "email": "carol@example.com", "password": "short"}, "password"),
        ({"username": "carol", "email": "not-an-email", "password": "long-enough"}, "email"),
        ({"username": "c", "email": "carol@example.com", "password": "long-enough"}, "username"),
        ({"username": "carol", "email": "carol@example.com"}, "password"),
    ],
)
async def test_invalid_registration_is_422_with_field_details(
    client: httpx.AsyncClient, payload: dict[str, str], field: str
) -> None:
    r = await client.post("/api/v1/auth/register", json=payload)
    error = assert_error(r, 422, "validation_error")
    assert any(field in d["loc"] for d in error["details"])


async def test_login_by_username_or_email(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    for login in (user.username, user.email, user.email.upper()):
        r = await client.post(
            "/api/v1/auth/login", data={"username": login, "password": user.password}
        )
        assert r.status_code == 200, login
        body = r.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60
        assert body["refresh_token"] and body["refresh_token"] != body["access_token"]


async def test_wrong_credentials_are_401(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    r = await client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": "wrong-pass"}
    )
    assert_error(r, 401, "invalid_credentials")
    r = await client.post(
        "/api/v1/auth/login", data={"username": "nobody", "password": "whatever1"}
    )
    assert_error(r, 401, "invalid_credentials")


async def test_me_requires_a_valid_token(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    assert_error(await client.get("/api/v1/users/me"), 401)
    assert_error(
        await client.get("/api/v1/users/me", headers={"Authorization": "Bearer junk"}), 401
    )
    user = await make_user()
    r = await client.get("/api/v1/users/me", headers=user.headers)
    assert r.status_code == 200
    assert set(r.json()) == {
        "id",
        "username",
        "email",
        "subscription_tier",
        "max_stocks",
        "allowed_models",
        "role",
        "is_active",
        "email_verified",
        "created_at",
    }


async def test_token_signed_with_another_key_is_rejected(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    forged = jwt.encode(
        {"sub": str(user.id), "type": "access", "iss": "stockdash", "exp": 9999999999, "iat": 0},
        "other-key-other-key-other-key-00",
        algorithm="HS256",
    )
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert_error(r, 401)


async def test_registration_can_be_switched_off(client: httpx.AsyncClient, app: object) -> None:
    app.state.container.settings.feature_user_registration = False  # type: ignore[attr-defined]
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "dan", "email": "d@example.com", "password": "password1"},
    )
    assert_error(r, 403, "registration_disabled")
