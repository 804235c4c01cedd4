"""The Stripe resource: the official SDK, key and API base from the environment."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from billing.stripe_gateway import StripeGateway


class StripeResource(ConfigurableResource):
    api_key: str | None = Field(default=None, description="Stripe secret key (STRIPE_API_KEY).")
    api_base: str | None = Field(default=None, description="Another API base (a Stripe-compatible test server).")
    timeout_seconds: int = 20
    max_network_retries: int = 2

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    def gateway(self) -> StripeGateway:
        return StripeGateway(self.api_key or "", self.api_base, float(self.timeout_seconds), self.max_network_retries)
