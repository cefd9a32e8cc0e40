"""Identities: the owner admin cannot be ousted; look-alike names cannot sit next to the original."""

from __future__ import annotations

from typing import Any

import httpx

from tests.admin.helpers import promote
from tests.conftest import UserFactory, assert_error

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
