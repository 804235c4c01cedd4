"""The Stripe resource: the official SDK, key and API base from the environment, and the billing mode in effect."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from billing import policy
from billing.stripe_gateway import StripeGateway
from vexxy_pipelines import settings


class StripeResource(ConfigurableResource):
    api_key: str | None = Field(default=None, description="Stripe secret key (STRIPE_API_KEY).")
    api_base: str | None = Field(default=None, description="Another API base (a Stripe-compatible test server).")
    timeout_seconds: int = 20
    max_network_retries: int = 2
    mode: str | None = Field(
        default=None,
        description="Billing mode: stripe, ledger or off; default VEXXY_BILLING_MODE, else stripe with a key and ledger without.",
    )

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    def billing_mode(self) -> str:
        """The mode in effect (`billing.policy.billing_mode`); a mode that is not one raises `VexxyError`."""
        return policy.billing_mode(self.mode if self.mode is not None else settings.billing_mode_setting(), self.configured)

    def describe_mode(self) -> str:
        return policy.describe_mode(self.billing_mode(), self.configured)

    def gateway(self) -> StripeGateway:
        return StripeGateway(self.api_key or "", self.api_base, float(self.timeout_seconds), self.max_network_retries)
