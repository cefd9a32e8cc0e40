"""One contract for the repositories (users, refresh tokens, watchlists, API keys, subscription
events), run unchanged on SQLite or PostgreSQL and on MongoDB: every method, uniqueness, the
watchlist limit and single-use tokens under concurrency, the commit signal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from stockdash.apikeys.entities import ApiKeyRecord, NewApiKey
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact
from stockdash.subscriptions.entities import NewSubscriptionEvent
from stockdash.users.records import NewUser, UsernameOrEmailTaken, UserRecord
from stockdash.users.token_repository import NewRefreshToken, RefreshTokenRecord
from stockdash.watchlist.entities import AlreadyTracked, LimitReached, WatchEntry
from tests.contract.conftest import RecordingListener

PARALLEL_ADDS = 30
FREE_LIMIT = 5
SYMBOLS = [f"S{i:02d}" for i in range(PARALLEL_ADDS)]


async def add_user(storage: Storage, name: str = "Alice", tier: str = "free") -> UserRecord:
    """A committed user (its own unit, tried again after a transaction conflict)."""
    new = NewUser(
        username=name,
        email=f"{name}@Example.com",
        password_hash="x" * 60,
        subscription_tier=tier,
    )
    return await transact(storage, lambda unit: unit.users.add(new))


async def add_stock(storage: Storage, user_id: int, symbol: str, limit: int) -> WatchEntry:
    """Add one symbol in its own unit of work (lock the user first, as the service does; tried
    again after a transaction conflict)."""

    async def work(unit: UnitOfWork) -> WatchEntry:
        assert await unit.users.lock(user_id) is not None
        return await unit.watchlist.add_within_limit(user_id, symbol, limit)

    return await transact(storage, work)


# -- users ------------------------------------------------------------------------------------


async def test_add_assigns_ids_and_get_reads_back(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob", tier="pro")
    assert alice.id != bob.id
    async with storage.unit(read_only=True) as unit:
        got = await unit.users.get(bob.id)
        missing = await unit.users.get(max(alice.id, bob.id) + 100)
    assert got == bob
    assert (got.username, got.email, got.subscription_tier) == ("Bob", "Bob@Example.com", "pro")
    assert (got.role, got.is_active, got.email_verified, got.token_version) == (
        "user",
        True,
        False,
        0,
    )
    assert got.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - got.created_at).total_seconds()) < 3600
    assert missing is None


async def test_login_lookup_is_case_insensitive(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit(read_only=True) as unit:
        by_name = await unit.users.get_by_login("  aLiCe ")
        by_email = await unit.users.get_by_login("ALICE@example.COM")
        nobody = await unit.users.get_by_login("carol")
        nul = await unit.users.get_by_login("alice\x00")
    assert by_name == alice
    assert by_email == alice
    assert nobody is None
    assert nul is None


async def test_exists_reports_username_and_email_separately(storage: Storage) -> None:
    await add_user(storage, "Alice")
    async with storage.unit(read_only=True) as unit:
        assert await unit.users.exists(username="ALICE", email="x@example.com") == (True, False)
        assert await unit.users.exists(username="zed", email="alice@EXAMPLE.com") == (False, True)
        assert await unit.users.exists(username="zed", email="zed@example.com") == (False, False)


@pytest.mark.parametrize(
    "username,email", [("ALICE", "other@example.com"), ("Other", "alice@example.COM")]
)
async def test_username_and_email_are_unique_regardless_of_case(
    storage: Storage, username: str, email: str
) -> None:
    await add_user(storage, "Alice")
    async with storage.unit() as unit:
        with pytest.raises(UsernameOrEmailTaken):
            await unit.users.add(NewUser(username=username, email=email, password_hash="x"))


async def test_concurrent_sign_ups_of_one_name_keep_exactly_one(storage: Storage) -> None:
    async def sign_up(i: int) -> bool:
        try:
            await add_user(storage, "Dana" if i % 2 else "DANA")
        except UsernameOrEmailTaken:
            return False
        return True

    results = await asyncio.gather(*(sign_up(i) for i in range(10)))
    assert results.count(True) == 1


async def test_set_tier_changes_the_tier_and_tells_the_listeners(
    storage: Storage, listener: RecordingListener
) -> None:
    alice = await add_user(storage, "Alice")
    listener.commits.clear()
    async with storage.unit() as unit:
        assert await unit.users.set_tier(alice.id, "expert") is True
        assert await unit.users.set_tier(alice.id + 100, "expert") is False
        assert listener.commits == []  # told on commit, not before
        await unit.commit()
    assert listener.told == {alice.id}
    async with storage.unit(read_only=True) as unit:
        got = await unit.users.get(alice.id)
    assert got is not None and got.subscription_tier == "expert"


async def test_lock_reads_the_user(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    async with storage.unit() as unit:
        assert await unit.users.lock(alice.id) == alice
        assert await unit.users.lock(alice.id + 100) is None


# -- watchlists -------------------------------------------------------------------------------


async def test_add_get_list_count_remove(storage: Storage, listener: RecordingListener) -> None:
    alice = await add_user(storage, "Alice")
    listener.commits.clear()
    for symbol in ("MSFT", "AAPL", "KO"):
        await add_stock(storage, alice.id, symbol, FREE_LIMIT)
    assert listener.told == {alice.id}
    async with storage.unit(read_only=True) as unit:
        entries = await unit.watchlist.list_for_user(alice.id)
        assert [e.symbol for e in entries] == ["MSFT", "AAPL", "KO"]  # oldest first
        assert all(e.user_id == alice.id and e.added_at.tzinfo is not None for e in entries)
        assert await unit.watchlist.count(alice.id) == 3
        got = await unit.watchlist.get(alice.id, "AAPL")
        assert got is not None and got.symbol == "AAPL"
        assert await unit.watchlist.get(alice.id, "NVDA") is None
    listener.commits.clear()
    async with storage.unit() as unit:
        assert await unit.watchlist.remove(alice.id, "AAPL") is True
        assert await unit.watchlist.remove(alice.id, "AAPL") is False
        await unit.commit()
    assert listener.told == {alice.id}
    async with storage.unit(read_only=True) as unit:
        assert [e.symbol for e in await unit.watchlist.list_for_user(alice.id)] == ["MSFT", "KO"]
        assert await unit.watchlist.count(alice.id) == 2


async def test_duplicate_symbol_is_refused(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    await add_stock(storage, alice.id, "AAPL", FREE_LIMIT)
    with pytest.raises(AlreadyTracked):
        await add_stock(storage, alice.id, "AAPL", FREE_LIMIT)
    async with storage.unit(read_only=True) as unit:
        assert await unit.watchlist.count(alice.id) == 1


async def test_limit_is_enforced_and_a_removal_frees_a_slot(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    for symbol in SYMBOLS[:FREE_LIMIT]:
        await add_stock(storage, alice.id, symbol, FREE_LIMIT)
    with pytest.raises(LimitReached):
        await add_stock(storage, alice.id, "LAST", FREE_LIMIT)
    async with storage.unit() as unit:
        assert await unit.watchlist.remove(alice.id, SYMBOLS[0])
        await unit.commit()
    await add_stock(storage, alice.id, "LAST", FREE_LIMIT)
    # A higher limit (an upgrade) applies at once.
    await add_stock(storage, alice.id, "MORE", FREE_LIMIT + 1)
    async with storage.unit(read_only=True) as unit:
        assert await unit.watchlist.count(alice.id) == FREE_LIMIT + 1


async def test_parallel_adds_store_exactly_the_limit(storage: Storage) -> None:
    await check_parallel_adds_store_exactly_the_limit(storage)


async def check_parallel_adds_store_exactly_the_limit(storage: Storage) -> None:
    """Thirty parallel adds to one free user's watchlist: exactly the limit is stored."""
    alice = await add_user(storage, "Alice")

    async def attempt(symbol: str) -> str:
        try:
            await add_stock(storage, alice.id, symbol, FREE_LIMIT)
        except LimitReached:
            return "limit"
        return "added"

    results = await asyncio.gather(*(attempt(s) for s in SYMBOLS))
    assert results.count("added") == FREE_LIMIT
    assert results.count("limit") == PARALLEL_ADDS - FREE_LIMIT
    async with storage.unit(read_only=True) as unit:
        assert await unit.watchlist.count(alice.id) == FREE_LIMIT


async def test_parallel_adds_of_one_symbol_store_it_once(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")

    async def attempt() -> str:
        try:
            await add_stock(storage, alice.id, "AAPL", FREE_LIMIT)
        except AlreadyTracked:
            return "duplicate"
        return "added"

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    assert results.count("added") == 1
    # The refused duplicates gave their slots back: the rest of the limit is still free.
    for symbol in SYMBOLS[: FREE_LIMIT - 1]:
        await add_stock(storage, alice.id, symbol, FREE_LIMIT)
    with pytest.raises(LimitReached):
        await add_stock(storage, alice.id, "LAST", FREE_LIMIT)


async def test_tracked_symbols_and_distinct_count(storage: Storage) -> None:
    alice = await add_user(storage, "Alice", tier="free")
    bob = await add_user(storage, "Bob", tier="expert")
    await add_stock(storage, alice.id, "AAPL", FREE_LIMIT)
    await add_stock(storage, bob.id, "AAPL", FREE_LIMIT)
    await add_stock(storage, bob.id, "KO", FREE_LIMIT)
    async with storage.unit(read_only=True) as unit:
        tracked = await unit.watchlist.tracked_symbols()
        distinct = await unit.watchlist.distinct_symbol_count()
    assert {symbol: sorted(t) for symbol, t in tracked.items()} == {
        "AAPL": ["expert", "free"],
        "KO": ["expert"],
    }
    assert list(tracked) == ["AAPL", "KO"]
    assert distinct == 2


async def test_unit_without_commit_tells_no_listener(
    storage: Storage, listener: RecordingListener
) -> None:
    alice = await add_user(storage, "Alice")
    listener.commits.clear()
    async with storage.unit() as unit:
        await unit.watchlist.add_within_limit(alice.id, "AAPL", FREE_LIMIT)
        await unit.rollback()
    assert listener.commits == []


# -- API keys ---------------------------------------------------------------------------------


async def add_key(storage: Storage, user_id: int, name: str, prefix: str) -> ApiKeyRecord:
    """A committed key."""
    async with storage.unit() as unit:
        key = await unit.api_keys.add(
            NewApiKey(user_id=user_id, name=name, prefix=prefix, key_hash="h" * 64)
        )
        await unit.commit()
    return key


async def test_api_keys_add_list_find_touch_remove(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    first = await add_key(storage, alice.id, "sheet", "aaaa11112222")
    second = await add_key(storage, alice.id, "bot", "bbbb11112222")
    other = await add_key(storage, bob.id, "bob", "cccc11112222")
    assert len({first.id, second.id, other.id}) == 3
    assert (first.user_id, first.name, first.last_used_at) == (alice.id, "sheet", None)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with storage.unit() as unit:
        assert [k.name for k in await unit.api_keys.list_for_user(alice.id)] == ["sheet", "bot"]
        assert await unit.api_keys.count(alice.id) == 2
        assert await unit.api_keys.by_prefix("bbbb11112222") == second
        assert await unit.api_keys.by_prefix("nope") is None
        await unit.api_keys.touch(first.id, when)
        await unit.commit()
    async with storage.unit() as unit:
        touched = await unit.api_keys.by_prefix("aaaa11112222")
        assert touched is not None and touched.last_used_at == when
        assert await unit.api_keys.remove(bob.id, first.id) is False  # not Bob's key
        assert await unit.api_keys.remove(alice.id, first.id) is True
        assert await unit.api_keys.remove(alice.id, first.id) is False
        await unit.commit()
    async with storage.unit() as unit:
        assert await unit.api_keys.remove_all(alice.id) == 1
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert await unit.api_keys.count(alice.id) == 0
        assert [k.id for k in await unit.api_keys.list_for_user(bob.id)] == [other.id]


# -- subscription events ----------------------------------------------------------------------


async def test_subscription_events_add_list_and_count_upgrades(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    changes = [
        (alice.id, "free", "pro", alice.id),
        (alice.id, "pro", "expert", None),
        (alice.id, "expert", "free", alice.id),
        (bob.id, "free", "expert", alice.id),
    ]
    recorded = []
    for user_id, low, high, by in changes:
        async with storage.unit() as unit:
            recorded.append(
                await unit.subscription_events.add(NewSubscriptionEvent(user_id, low, high, by))
            )
            await unit.commit()
    assert len({e.id for e in recorded}) == len(changes)
    assert recorded[0].created_at.tzinfo is not None
    async with storage.unit(read_only=True) as unit:
        history = await unit.subscription_events.list_for_user(alice.id)
        upgrades = await unit.subscription_events.count_upgrades()
    assert history == recorded[2::-1]  # newest first
    assert [(e.from_tier, e.to_tier, e.changed_by_user_id) for e in history] == [
        ("expert", "free", alice.id),
        ("pro", "expert", None),
        ("free", "pro", alice.id),
    ]
    assert upgrades == 3


# -- refresh tokens ---------------------------------------------------------------------------


async def add_token(
    storage: Storage, user_id: int, family: str, digest: str, parent: int | None = None
) -> RefreshTokenRecord:
    """A committed refresh token."""
    now = datetime.now(UTC)
    async with storage.unit() as unit:
        token = await unit.refresh_tokens.add(
            NewRefreshToken(user_id, family, digest, now, now + timedelta(hours=1), parent)
        )
        await unit.commit()
    return token


async def test_refresh_tokens_store_spend_link_and_revoke(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    first = await add_token(storage, alice.id, "fam1", "a" * 64)
    assert (first.user_id, first.family_id, first.revoked_at, first.replaced_by) == (
        alice.id,
        "fam1",
        None,
        None,
    )
    now = datetime.now(UTC)
    async with storage.unit() as unit:
        assert await unit.refresh_tokens.get_by_hash("a" * 64) == first
        assert await unit.refresh_tokens.get_by_hash("z" * 64) is None
        assert await unit.refresh_tokens.spend(first.id, now) is True
        assert await unit.refresh_tokens.spend(first.id, now) is False  # spent once only
        await unit.commit()
    child = await add_token(storage, alice.id, "fam1", "b" * 64, parent=first.id)
    other = await add_token(storage, alice.id, "fam2", "c" * 64)
    bobs = await add_token(storage, bob.id, "fam3", "d" * 64)
    async with storage.unit() as unit:
        await unit.refresh_tokens.set_replaced_by(first.id, child.id)
        assert await unit.refresh_tokens.revoke_family("fam1", now) == 1  # only the live child
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        spent = await unit.refresh_tokens.get_by_hash("a" * 64)
        revoked = await unit.refresh_tokens.get_by_hash("b" * 64)
    assert spent is not None and spent.replaced_by == child.id and spent.revoked_at is not None
    assert revoked is not None and revoked.parent_id == first.id and revoked.revoked_at
    async with storage.unit() as unit:
        assert await unit.refresh_tokens.revoke_all_for_user(alice.id, now) == 1  # fam2
        await unit.commit()
        still = await unit.refresh_tokens.get_by_hash(bobs.token_hash)
        gone = await unit.refresh_tokens.get_by_hash(other.token_hash)
    assert still is not None and still.revoked_at is None
    assert gone is not None and gone.revoked_at is not None


async def test_concurrent_spends_of_one_refresh_token_let_exactly_one_win(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    token = await add_token(storage, alice.id, "fam", "e" * 64)

    async def spend() -> bool:
        return await transact(
            storage, lambda unit: unit.refresh_tokens.spend(token.id, datetime.now(UTC))
        )

    assert (await asyncio.gather(*(spend() for _ in range(10)))).count(True) == 1


async def test_a_login_session_is_alive_while_it_holds_a_live_token(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    now = datetime.now(UTC)
    await add_token(storage, alice.id, "live", "f" * 64)
    revoked = await add_token(storage, alice.id, "gone", "g" * 64)
    async with storage.unit() as unit:
        await unit.refresh_tokens.add(
            NewRefreshToken(alice.id, "old", "h" * 64, now - timedelta(hours=2), now, None)
        )
        assert await unit.refresh_tokens.revoke_family(revoked.family_id, now) == 1
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert await unit.refresh_tokens.family_alive("live", now) is True
        assert await unit.refresh_tokens.family_alive("gone", now) is False  # revoked
        assert await unit.refresh_tokens.family_alive("old", now) is False  # expired
        assert await unit.refresh_tokens.family_alive("nobody", now) is False
        # The live token expires in an hour: past that the session is over.
        later = now + timedelta(hours=2)
        assert await unit.refresh_tokens.family_alive("live", later) is False
