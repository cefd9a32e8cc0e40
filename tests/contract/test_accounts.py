"""The contract of the account repositories (user lookups and updates, one-time email tokens,
the admin queries and the audit log), run unchanged on SQLite or PostgreSQL and on MongoDB."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from stockdash.admin.repository import NewAuditEntry, UserFilter
from stockdash.apikeys.entities import KeyLimitReached, NewApiKey
from stockdash.market.repository import RowWrite
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact
from stockdash.users.records import UserUpdate
from stockdash.users.token_repository import NewEmailToken, NewRefreshToken
from tests.contract.conftest import RecordingListener
from tests.contract.test_repositories import PARALLEL_ADDS, add_stock, add_user

# -- users: lookups and updates ----------------------------------------------------------------


async def test_lookup_by_email_or_username_alone_ignores_case(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit(read_only=True) as unit:
        assert await unit.users.get_by_email(" ALICE@example.com ") == alice
        assert await unit.users.get_by_email("Alice") is None
        assert await unit.users.get_by_username("aLIce") == alice
        assert await unit.users.get_by_username("alice@example.com") is None


async def test_update_sets_fields_bumps_the_token_version_and_tells_listeners(
    storage: Storage, listener: RecordingListener
) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit() as unit:
        changed = await unit.users.update(
            alice.id,
            UserUpdate(
                password_hash="y" * 60, role="admin", is_active=False, bump_token_version=True
            ),
        )
        await unit.commit()
    assert changed is not None
    assert (changed.password_hash, changed.role, changed.is_active) == ("y" * 60, "admin", False)
    assert changed.token_version == alice.token_version + 1
    assert changed.email_verified is False  # untouched
    assert changed.updated_at >= alice.updated_at
    assert alice.id in listener.told
    async with storage.unit(read_only=True) as unit:
        assert await unit.users.get(alice.id) == changed


async def test_update_of_a_missing_user_is_none(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit() as unit:
        assert await unit.users.update(alice.id + 100, UserUpdate(email_verified=True)) is None


async def test_update_applies_only_while_the_password_hash_is_the_expected_one(
    storage: Storage,
) -> None:
    alice = await add_user(storage, "Alice")  # password hash "x" * 60
    stale = UserUpdate(password_hash="z" * 60, if_password_hash="w" * 60, bump_token_version=True)
    current = UserUpdate(password_hash="z" * 60, if_password_hash="x" * 60, bump_token_version=True)
    async with storage.unit() as unit:
        assert await unit.users.update(alice.id, stale) is None
        changed = await unit.users.update(alice.id, current)
        await unit.commit()
    assert changed is not None and changed.password_hash == "z" * 60
    async with storage.unit(read_only=True) as unit:
        got = await unit.users.get(alice.id)
    assert got is not None and got.token_version == 1


async def test_concurrent_password_changes_from_one_checked_hash_let_exactly_one_win(
    storage: Storage,
) -> None:
    alice = await add_user(storage, "Alice")

    async def change(i: int) -> bool:
        update = UserUpdate(password_hash=f"{i:060d}", if_password_hash="x" * 60)
        done = await transact(storage, lambda unit: unit.users.update(alice.id, update))
        return done is not None

    results = await asyncio.gather(*(change(i) for i in range(8)))
    assert results.count(True) == 1


# -- email tokens -----------------------------------------------------------------------------


def _token(user_id: int, token_hash: str, purpose: str = "verify_email") -> NewEmailToken:
    now = datetime.now(UTC).replace(microsecond=0)
    return NewEmailToken(
        user_id=user_id,
        purpose=purpose,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


async def test_email_tokens_store_find_use_once_and_invalidate(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    now = datetime.now(UTC)
    async with storage.unit() as unit:
        first = await unit.email_tokens.add(_token(alice.id, "a" * 64))
        second = await unit.email_tokens.add(_token(alice.id, "b" * 64))
        reset = await unit.email_tokens.add(_token(alice.id, "c" * 64, "password_reset"))
        bobs = await unit.email_tokens.add(_token(bob.id, "d" * 64))
        await unit.commit()
    assert len({first.id, second.id, reset.id, bobs.id}) == 4
    assert first.used_at is None and first.expires_at.tzinfo is not None
    async with storage.unit() as unit:
        assert await unit.email_tokens.get_by_hash("a" * 64, "verify_email") == first
        assert await unit.email_tokens.get_by_hash("a" * 64, "password_reset") is None
        assert await unit.email_tokens.use(first.id, now) is True
        assert await unit.email_tokens.use(first.id, now) is False
        # The verification tokens of Alice still unused: the second one only.
        assert await unit.email_tokens.invalidate(alice.id, "verify_email", now) == 1
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        spent = await unit.email_tokens.get_by_hash("b" * 64, "verify_email")
        untouched = await unit.email_tokens.get_by_hash("c" * 64, "password_reset")
        others = await unit.email_tokens.get_by_hash("d" * 64, "verify_email")
    assert spent is not None and spent.used_at is not None
    assert untouched is not None and untouched.used_at is None
    assert others is not None and others.used_at is None


async def test_concurrent_uses_of_one_email_token_let_exactly_one_win(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit() as unit:
        token = await unit.email_tokens.add(_token(alice.id, "e" * 64))
        await unit.commit()

    async def use() -> bool:
        return await transact(
            storage, lambda unit: unit.email_tokens.use(token.id, datetime.now(UTC))
        )

    results = await asyncio.gather(*(use() for _ in range(8)))
    assert results.count(True) == 1


# -- admin queries and the audit log ----------------------------------------------------------


async def test_search_users_filters_pages_and_counts(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob", tier="pro")
    carol = await add_user(storage, "Carol_100%", tier="pro")
    async with storage.unit() as unit:
        await unit.users.update(bob.id, UserUpdate(is_active=False))
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        everyone, total = await unit.admin.search_users(UserFilter(), offset=0, limit=2)
        rest, _ = await unit.admin.search_users(UserFilter(), offset=2, limit=2)
        pro, pro_total = await unit.admin.search_users(UserFilter(tier="pro"), offset=0, limit=10)
        active, _ = await unit.admin.search_users(UserFilter(active=True), offset=0, limit=10)
        by_text, _ = await unit.admin.search_users(UserFilter(q="EXAMPLE"), offset=0, limit=10)
        literal, _ = await unit.admin.search_users(UserFilter(q="0%"), offset=0, limit=10)
        wildcard, _ = await unit.admin.search_users(UserFilter(q="a.i"), offset=0, limit=10)
    assert total == 3
    assert [u.id for u in everyone + rest] == [alice.id, bob.id, carol.id]
    assert pro_total == 2 and {u.id for u in pro} == {bob.id, carol.id}
    assert [u.id for u in active] == [alice.id, carol.id]
    assert len(by_text) == 3
    assert [u.id for u in literal] == [carol.id]  # "%" is a literal, not a wildcard
    assert wildcard == []  # "." too


async def test_owner_is_the_lowest_admin_id(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    async with storage.unit() as unit:
        assert await unit.admin.owner_id() is None
        await unit.users.update(bob.id, UserUpdate(role="admin"))
        await unit.commit()
    async with storage.unit() as unit:
        assert await unit.admin.owner_id() == bob.id
        await unit.users.update(alice.id, UserUpdate(role="admin"))
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert await unit.admin.owner_id() == alice.id


async def test_statistics_count_users_tiers_sign_ups_and_symbols(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob", tier="pro")
    await add_user(storage, "Carol", tier="pro")
    async with storage.unit() as unit:
        await unit.users.update(bob.id, UserUpdate(is_active=False))
        await unit.commit()
    for symbol in ("AAPL", "MSFT"):
        await add_stock(storage, alice.id, symbol, 10)
    await add_stock(storage, bob.id, "MSFT", 10)
    async with storage.unit(read_only=True) as unit:
        assert await unit.admin.count_users() == 3
        assert await unit.admin.count_users(active=True) == 2
        assert await unit.admin.count_users(active=False) == 1
        assert await unit.admin.users_by_tier() == {"free": 1, "pro": 2}
        recent = await unit.admin.registration_times(datetime.now(UTC) - timedelta(hours=1))
        future = await unit.admin.registration_times(datetime.now(UTC) + timedelta(hours=1))
        assert await unit.admin.most_tracked(10) == [("MSFT", 2), ("AAPL", 1)]
        assert await unit.admin.most_tracked(1) == [("MSFT", 2)]
    assert len(recent) == 3 and all(t.tzinfo is not None for t in recent)
    assert future == []


async def test_audit_log_adds_and_lists_newest_first(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit() as unit:
        first = await unit.admin.add_audit(
            NewAuditEntry(None, "user.create_admin", "user", str(alice.id), {"via": "cli"})
        )
        second = await unit.admin.add_audit(
            NewAuditEntry(alice.id, "user.update", "user", "7", {"changes": {"role": {"to": "x"}}})
        )
        await unit.commit()
    assert second.id > first.id
    assert first.created_at.tzinfo is not None
    async with storage.unit(read_only=True) as unit:
        page, total = await unit.admin.list_audit(offset=0, limit=1)
        rest, _ = await unit.admin.list_audit(offset=1, limit=5)
    assert total == 2
    assert page == [second] and rest == [first]
    assert second.details == {"changes": {"role": {"to": "x"}}}


# -- the persisted stock cache ----------------------------------------------------------------


async def test_stock_cache_upserts_merges_keys_and_keeps_expiry_and_attachment(
    storage: Storage,
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)  # recent: the TTL monitor keeps it
    later = t0 + timedelta(minutes=5)
    async with storage.unit() as unit:
        assert await unit.stock_cache.get("AAPL") is None
        await unit.stock_cache.write_many(
            {
                "AAPL": RowWrite({"quote": {"price": 1.5}}, expires=t0 + timedelta(minutes=30)),
                "MSFT": RowWrite({"fundamentals": {"pe": 30}}),
            },
            t0,
        )
        await unit.commit()
    async with storage.unit() as unit:
        # A second write merges its key, leaves the expiry; the attachment is set apart.
        await unit.stock_cache.write_many({"AAPL": RowWrite({"fundamentals": {"pe": 20}})}, later)
        await unit.stock_cache.set_attachment("AAPL", {"model": {"score": 3}}, later)
        await unit.stock_cache.set_attachment("NONE", {"x": 1}, later)  # no entry: nothing
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        aapl = await unit.stock_cache.get("AAPL")
        many = await unit.stock_cache.get_many(["AAPL", "MSFT", "NONE"])
        none = await unit.stock_cache.get("NONE")
    assert aapl is not None
    assert aapl.stock_data == {"quote": {"price": 1.5}, "fundamentals": {"pe": 20}}
    assert aapl.ai_analyses == {"model": {"score": 3}}
    assert aapl.expires_at == t0 + timedelta(minutes=30)
    assert aapl.last_updated == later
    assert set(many) == {"AAPL", "MSFT"} and many["AAPL"] == aapl
    msft = many["MSFT"]
    assert msft.stock_data == {"fundamentals": {"pe": 30}} and msft.ai_analyses == {}
    assert msft.expires_at == t0  # no quote yet: already expired
    assert none is None


# -- the API key cap --------------------------------------------------------------------------

KEY_LIMIT = 5


async def _add_key_within_limit(storage: Storage, user_id: int, i: int) -> bool:
    """Create one key in its own unit of work (locking the user first, as the service does;
    tried again after a transaction conflict); whether the cap let it in."""
    key = NewApiKey(user_id=user_id, name=f"k{i}", prefix=f"p{user_id}x{i:03d}", key_hash="h")

    async def work(unit: UnitOfWork) -> None:
        await unit.users.lock(user_id)
        await unit.api_keys.add_within_limit(key, KEY_LIMIT)

    try:
        await transact(storage, work)
    except KeyLimitReached:
        return False
    return True


async def test_parallel_key_creations_store_exactly_the_cap(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    results = await asyncio.gather(
        *(_add_key_within_limit(storage, alice.id, i) for i in range(PARALLEL_ADDS))
    )
    async with storage.unit(read_only=True) as unit:
        stored = await unit.api_keys.count(alice.id)
    assert results.count(True) == KEY_LIMIT == stored


async def test_removing_keys_frees_slots_under_the_cap(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    for i in range(KEY_LIMIT):
        assert await _add_key_within_limit(storage, alice.id, i)
    assert not await _add_key_within_limit(storage, alice.id, 100)
    async with storage.unit() as unit:
        first = (await unit.api_keys.list_for_user(alice.id))[0]
        assert await unit.api_keys.remove(alice.id, first.id)
        await unit.commit()
    assert await _add_key_within_limit(storage, alice.id, 101)
    assert not await _add_key_within_limit(storage, alice.id, 102)
    async with storage.unit() as unit:
        assert await unit.api_keys.remove_all(alice.id) == KEY_LIMIT
        await unit.commit()
    for i in range(KEY_LIMIT):
        assert await _add_key_within_limit(storage, alice.id, 200 + i)
    assert not await _add_key_within_limit(storage, alice.id, 300)


# -- the figures /metrics reads at scrape time ------------------------------------------------


async def test_active_users_by_tier_and_users_with_recent_sessions(storage: Storage) -> None:
    alice = await add_user(storage, "Alice", tier="pro")
    bob = await add_user(storage, "Bob", tier="pro")
    carol = await add_user(storage, "Carol")
    now = datetime.now(UTC).replace(microsecond=0)
    async with storage.unit() as unit:
        await unit.users.update(bob.id, UserUpdate(is_active=False))
        for user, age in (
            (alice, timedelta(minutes=5)),
            (alice, timedelta(0)),
            (carol, timedelta(days=3)),
        ):
            await unit.refresh_tokens.add(
                NewRefreshToken(
                    user_id=user.id,
                    family_id=f"f{user.id}",
                    token_hash=f"{user.id}-{age.total_seconds()}",
                    created_at=now - age,
                    expires_at=now + timedelta(days=1),
                )
            )
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert await unit.admin.users_by_tier(active_only=True) == {"pro": 1, "free": 1}
        assert await unit.admin.users_by_tier() == {"pro": 2, "free": 1}
        assert await unit.refresh_tokens.users_with_sessions_since(now - timedelta(hours=1)) == 1
        assert await unit.refresh_tokens.users_with_sessions_since(now - timedelta(days=7)) == 2
        assert await unit.refresh_tokens.users_with_sessions_since(now + timedelta(hours=1)) == 0
