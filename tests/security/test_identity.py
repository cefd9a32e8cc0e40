"""Identities: the owner admin cannot be ousted; look-alike names cannot sit next to the original."""

from __future__ import annotations

from typing import Any

import httpx

from tests.admin.helpers import promote
from tests.conftest import UserFactory, assert_error
from tests.users.auth_helpers import RecordingSender, link_token

USERS = "/api/v1/admin/users"


async def test_no_admin_can_demote_or_deactivate_the_owner(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    owner, other = await make_user(), await make_user()
    await promote(app, owner.id)
    await promote(app, other.id)
    for body in ({"role": "user"}, {"is_active": False}):
        r = await client.patch(f"{USERS}/{owner.id}", json=body, headers=other.headers)
        assert_error(r, 409, "cannot_modify_owner")
    assert (await client.get("/api/v1/admin/stats", headers=owner.headers)).status_code == 200
    # The owner can still manage the other admins.
    r = await client.patch(f"{USERS}/{other.id}", json={"role": "user"}, headers=owner.headers)
    assert r.status_code == 200, r.text


REGISTER = "/api/v1/auth/register"
STRONG = "quartz-lantern-meadow-91"


async def _register(client: httpx.AsyncClient, username: str, email: str) -> httpx.Response:
    return await client.post(
        REGISTER, json={"username": username, "email": email, "password": STRONG}
    )


async def test_look_alike_identities_cannot_sit_next_to_the_original(
    client: httpx.AsyncClient,
) -> None:
    assert (await _register(client, "alice", "alice@example.com")).status_code == 201
    # A fullwidth username and local part (NFKC folds them onto the original): taken.
    fullwidth = "\uff41\uff4c\uff49\uff43\uff45"
    r = await _register(client, fullwidth, f"{fullwidth}@example.com")
    assert_error(r, 409)
    r = await _register(client, "alice2", f"{fullwidth}@example.com")
    assert_error(r, 409, "email_taken")
    # A Cyrillic letter in the local part: refused as a look-alike.
    r = await _register(client, "alice3", "\u0430lice@example.com")
    assert_error(r, 422, "validation_error")
    # A trailing dot or doubled separator on a username: refused.
    for name in ("alice.", ".alice", "al..ice", "alice-"):
        assert_error(await _register(client, name, f"x{len(name)}@example.com"), 422)


async def test_unicode_domains_are_stored_as_punycode_and_sign_in_either_way(
    client: httpx.AsyncClient,
) -> None:
    r = await _register(client, "jose", "jose@ex\u00e4mple.com")
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "jose@xn--exmple-cua.com"
    assert_error(await _register(client, "jose2", "JOSE@xn--exmple-cua.com"), 409, "email_taken")
    for login_name in ("jose@ex\u00c4mple.com", "jose@xn--exmple-cua.com"):
        r = await client.post(
            "/api/v1/auth/login", data={"username": login_name, "password": STRONG}
        )
        assert r.status_code == 200, r.text


async def test_weak_and_context_derived_passwords_are_refused(client: httpx.AsyncClient) -> None:
    for password in ("password", "12345678", " " * 8, "mallorymallory", "qwertyuiop"):
        r = await client.post(
            REGISTER,
            json={"username": "mallory", "email": "mallory@example.com", "password": password},
        )
        error = assert_error(r, 422, "weak_password")
        assert error["details"]["min_score"] == 3
        assert error["details"]["score"] < 3
    assert (await _register(client, "mallory", "mallory@example.com")).status_code == 201


async def test_password_change_and_reset_apply_the_policy(
    client: httpx.AsyncClient, make_user: UserFactory, mailbox: RecordingSender
) -> None:
    user = await make_user()
    r = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": user.password, "new_password": f"{user.username}123"},
        headers=user.headers,
    )
    assert_error(r, 422, "weak_password")
    await client.post("/api/v1/auth/password-reset/request", json={"email": user.email})
    token = link_token(mailbox.to(user.email)[-1].text, "reset-password")
    confirm = "/api/v1/auth/password-reset/confirm"
    r = await client.post(confirm, json={"token": token, "new_password": "password123"})
    assert_error(r, 422, "weak_password")
    # The refused attempt did not spend the link.
    r = await client.post(confirm, json={"token": token, "new_password": STRONG})
    assert r.status_code == 200, r.text
