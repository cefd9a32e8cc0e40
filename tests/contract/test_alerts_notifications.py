"""The contract of the alert and notification repositories, run unchanged on SQLite or
PostgreSQL and on MongoDB: every method, the alert cap under concurrency, digests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from stockdash.alerts.repository import AlertLimitReached, NewAlert
from stockdash.notifications.models import EmailMode
from stockdash.notifications.repository import NotificationDraft
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.storage.retry import transact
from stockdash.users.records import UserUpdate
from tests.contract.test_repositories import PARALLEL_ADDS, add_stock, add_user

ALERT_LIMIT = 5


async def _add_alert(
    storage: Storage, user_id: int, threshold: float, symbol: str = "AAPL"
) -> bool:
    """Create one alert in its own unit of work (locking the user first, as the service does);
    whether the cap let it in (tried again after a transaction conflict)."""

    async def work(unit: UnitOfWork) -> None:
        await unit.users.lock(user_id)
        await unit.alerts.add_within_limit(
            NewAlert(user_id, symbol, "price_above", threshold, None), ALERT_LIMIT
        )

    try:
        await transact(storage, work)
    except AlertLimitReached:
        return False
    return True


async def test_alerts_add_list_get_save_remove(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    await add_stock(storage, alice.id, "AAPL", 10)
    assert await _add_alert(storage, alice.id, 150.0)
    assert await _add_alert(storage, alice.id, 10.0, symbol="MSFT")  # not watched: paused
    async with storage.unit() as unit:
        listed = await unit.alerts.list_for_user(alice.id)
        only = await unit.alerts.list_for_user(alice.id, "AAPL")
        assert await unit.alerts.count(alice.id) == 2
        assert await unit.alerts.watched(alice.id, "AAPL")
        assert not await unit.alerts.watched(alice.id, "MSFT")
        msft, aapl = (a for a, _ in listed)  # newest first
        assert [w for _, w in listed] == [False, True]
        assert [a.id for a, _ in only] == [aapl.id]
        assert (aapl.enabled, aapl.armed, aapl.last_signal, aapl.last_fired_at) == (
            True,
            True,
            None,
            None,
        )
        assert await unit.alerts.get(bob.id, aapl.id) is None  # someone else's
        fired = datetime.now(UTC).replace(microsecond=0)
        aapl.armed, aapl.last_fired_at, aapl.threshold = False, fired, 155.0
        await unit.alerts.save(aapl)
        await unit.commit()
    async with storage.unit() as unit:
        got = await unit.alerts.get(alice.id, aapl.id)
        assert got == aapl
        assert not await unit.alerts.remove(bob.id, aapl.id)
        assert await unit.alerts.remove(alice.id, aapl.id)
        assert not await unit.alerts.remove(alice.id, aapl.id)
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert [a.id for a, _ in await unit.alerts.list_for_user(alice.id)] == [msft.id]


async def test_to_evaluate_keeps_enabled_watched_alerts_of_active_owners(storage: Storage) -> None:
    alice = await add_user(storage, "Alice", tier="pro")
    bob = await add_user(storage, "Bob")
    for user in (alice, bob):
        await add_stock(storage, user.id, "AAPL", 10)
    assert await _add_alert(storage, alice.id, 1.0)
    assert await _add_alert(storage, alice.id, 2.0)
    assert await _add_alert(storage, alice.id, 3.0, symbol="MSFT")  # not watched
    assert await _add_alert(storage, bob.id, 4.0)
    async with storage.unit() as unit:
        off = next(a for a, _ in await unit.alerts.list_for_user(alice.id) if a.threshold == 2.0)
        off.enabled = False
        await unit.alerts.save(off)
        await unit.users.update(bob.id, UserUpdate(is_active=False))
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        due = await unit.alerts.to_evaluate(["AAPL", "MSFT"])
        none = await unit.alerts.to_evaluate(["KO"])
    assert [(a.user_id, a.threshold, tier) for a, tier in due] == [(alice.id, 1.0, "pro")]
    assert none == []


async def test_parallel_alert_creations_store_exactly_the_cap(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    results = await asyncio.gather(
        *(_add_alert(storage, alice.id, float(i)) for i in range(PARALLEL_ADDS))
    )
    async with storage.unit(read_only=True) as unit:
        stored = await unit.alerts.count(alice.id)
    assert results.count(True) == ALERT_LIMIT == stored


# -- notifications ----------------------------------------------------------------------------


def _draft(user_id: int, title: str, *, pending: bool = False) -> NotificationDraft:
    return NotificationDraft(user_id, None, "alert", "AAPL", title, "body", {"n": 1}, pending)


async def test_notifications_add_page_read_and_count_unread(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    async with storage.unit() as unit:
        added = await unit.notifications.add_many(
            [_draft(alice.id, "one"), _draft(alice.id, "two"), _draft(bob.id, "bob's")]
        )
        await unit.commit()
    assert len({n.id for n in added}) == 3
    one, two, _ = added
    assert (one.title, one.data, one.read_at, one.email_pending) == ("one", {"n": 1}, None, False)
    async with storage.unit() as unit:
        page, total = await unit.notifications.page(alice.id, page=1, size=1, unread_only=False)
        assert total == 2 and [n.id for n in page] == [two.id]  # newest first
        assert await unit.notifications.unread(alice.id) == 2
        now = datetime.now(UTC).replace(microsecond=0)
        read = await unit.notifications.mark_read(alice.id, one.id, now)
        assert read is not None and read.read_at == now
        again = await unit.notifications.mark_read(alice.id, one.id, now + timedelta(hours=1))
        assert again is not None and again.read_at == now  # kept as it was
        assert await unit.notifications.mark_read(bob.id, one.id, now) is None
        await unit.commit()
    async with storage.unit() as unit:
        unread, count = await unit.notifications.page(alice.id, page=1, size=10, unread_only=True)
        assert count == 1 and [n.id for n in unread] == [two.id]
        assert await unit.notifications.mark_all_read(alice.id, now) == 1
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert await unit.notifications.unread(alice.id) == 0
        assert await unit.notifications.unread(bob.id) == 1


async def test_email_modes_recipients_and_digests(storage: Storage) -> None:
    alice = await add_user(storage, "Alice")
    bob = await add_user(storage, "Bob")
    long_ago = datetime.now(UTC) - timedelta(days=2)
    async with storage.unit() as unit:
        assert await unit.notifications.user_exists(alice.id)
        assert not await unit.notifications.user_exists(bob.id + 100)
        assert await unit.notifications.email_mode(alice.id) == EmailMode.OFF
        await unit.notifications.set_email_mode(alice.id, EmailMode.DIGEST)
        await unit.notifications.set_email_mode(bob.id, EmailMode.IMMEDIATE)
        await unit.commit()
    async with storage.unit() as unit:
        to = await unit.notifications.recipients([alice.id, bob.id])
        assert {uid: r.mode for uid, r in to.items()} == {
            alice.id: EmailMode.DIGEST,
            bob.id: EmailMode.IMMEDIATE,
        }
        assert (to[alice.id].username, to[alice.id].email) == ("Alice", "Alice@Example.com")
        assert await unit.notifications.digest_due(long_ago) == []  # nothing pending yet
        first, second = await unit.notifications.add_many(
            [_draft(alice.id, "a", pending=True), _draft(alice.id, "b", pending=True)]
        )
        await unit.commit()
    async with storage.unit() as unit:
        due = await unit.notifications.digest_due(datetime.now(UTC))
        assert [r.user_id for r in due] == [alice.id]
        pending = await unit.notifications.pending(alice.id, 1)
        assert [n.id for n in pending] == [first.id]  # oldest first
        sent_at = datetime.now(UTC).replace(microsecond=0)
        await unit.notifications.digest_sent(alice.id, [first.id], sent_at)
        await unit.commit()
    async with storage.unit() as unit:
        # Sent just now: not due again before the interval, whatever is still pending.
        assert await unit.notifications.digest_due(sent_at - timedelta(hours=1)) == []
        assert [n.id for n in await unit.notifications.pending(alice.id, 10)] == [second.id]
        # Leaving digests drops what waited for one.
        await unit.notifications.set_email_mode(alice.id, EmailMode.OFF)
        await unit.commit()
    async with storage.unit(read_only=True) as unit:
        assert await unit.notifications.pending(alice.id, 10) == []
        assert await unit.notifications.email_mode(alice.id) == EmailMode.OFF
