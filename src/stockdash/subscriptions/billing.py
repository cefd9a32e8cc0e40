"""The billing seam: a provider approves (and later charges for) a tier change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from stockdash.core.errors import AppError, ErrorResponse
from stockdash.subscriptions.tiers import Tier
from stockdash.users.records import UserRecord


@dataclass(frozen=True, slots=True)
class BillingDecision:
    """Whether a change may go ahead, and why not."""

    approved: bool
    reason: str | None = None
    reference: str | None = None


class BillingProvider(Protocol):
    """Something that can approve a tier change: a payment service, or nothing at all."""

    async def authorize_change(
        self, user: UserRecord, from_tier: Tier, to_tier: Tier
    ) -> BillingDecision:
        """Approve or refuse moving a user from one tier to another."""
        ...


class NoPaymentBilling:
    """The default: every change is free and approved."""

    async def authorize_change(
        self, user: UserRecord, from_tier: Tier, to_tier: Tier
    ) -> BillingDecision:
        """Approve everything."""
        return BillingDecision(approved=True)


class PaymentRequired(AppError):
    """The billing provider refused the change."""

    status_code = 402
    code = "payment_required"


PAYMENT_REQUIRED_RESPONSE: dict[int | str, dict[str, Any]] = {
    402: {"model": ErrorResponse, "description": "payment required"}
}
