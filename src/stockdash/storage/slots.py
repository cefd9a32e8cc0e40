"""Per-owner limits on MongoDB without locks or transactions: a counter document per owner,
incremented only while below the limit (one atomic conditional update).

The owner's items are inserted after a slot is taken; an insert that fails gives the slot back.
A crash between the two writes leaves the counter one too high, so before answering "limit
reached" the counter is reconciled with the real count: such a slot is never lost for good. It
works on a standalone server and on a sharded cluster (counter and items keyed by the owner),
where a transaction would need a replica set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class SlotCounter:
    """Slots per owner in `counts` (`_id` = owner id, `count`); `actual(owner)` counts the
    owner's stored items."""

    def __init__(
        self, counts: AsyncCollection[dict[str, Any]], actual: Callable[[int], Awaitable[int]]
    ) -> None:
        self.counts = counts
        self.actual = actual

    async def take(self, owner: int, limit: int) -> bool:
        """Take a slot if the owner holds fewer than `limit`; whether one was taken."""
        await self._ensure(owner)
        for _ in range(2):
            taken = await self.counts.find_one_and_update(
                {"_id": owner, "count": {"$lt": limit}},
                {"$inc": {"count": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if taken is not None:
                return True
            if not await self._reconcile(owner):
                return False
        return False

    async def give_back(self, owner: int, slots: int = 1) -> None:
        """Return slots (an item removed, or an insert that failed)."""
        if slots:
            await self.counts.update_one({"_id": owner}, {"$inc": {"count": -slots}})

    async def _ensure(self, owner: int) -> None:
        """Create the counter from the stored items the first time an owner takes a slot."""
        if await self.counts.find_one({"_id": owner}, {"_id": 1}) is not None:
            return
        # A concurrent first take may create it in between: its counter is as good as ours.
        with contextlib.suppress(DuplicateKeyError):
            await self.counts.insert_one({"_id": owner, "count": await self.actual(owner)})

    async def _reconcile(self, owner: int) -> bool:
        """Lower a counter left above the real count (a crash between slot and insert)."""
        doc = await self.counts.find_one({"_id": owner})
        actual = await self.actual(owner)
        if doc is None or doc["count"] <= actual:
            return False
        # Conditional on the value read: a concurrent take or give-back makes this a no-op.
        result = await self.counts.update_one(
            {"_id": owner, "count": doc["count"]}, {"$set": {"count": actual}}
        )
        return result.modified_count == 1
