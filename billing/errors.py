"""Billing errors a customer can act on."""

from __future__ import annotations

from datetime import datetime

from vexxy.errors import VexxyError


class UnknownOrganization(VexxyError):
    pass


class QuotaExceeded(VexxyError):
    def __init__(self, tier: str, limit: int, resets_at: datetime):
        self.tier, self.limit, self.resets_at = tier, limit, resets_at
        super().__init__(
            f"The {tier} tier allows {limit} analyses per billing period and they are used up.",
            hint=f"The quota resets at {resets_at.isoformat()}; upgrade the plan for more.",
        )


class PaymentRequired(VexxyError):
    def __init__(self, organization_id: str):
        super().__init__(
            f"Organization {organization_id} has an unpaid invoice (past due) and cannot submit analyses.",
            hint="Update the payment method in the billing portal; submissions resume once the invoice is paid.",
        )


class BillingUnavailable(VexxyError):
    """Stripe could not be reached or failed; the charge stays pending and is retried."""
