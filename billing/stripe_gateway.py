"""Stripe, through the official SDK: customers, subscriptions per tier, and per-analysis charges.

Every write carries an idempotency key derived from what it creates, so a retry after a timeout,
a 5xx or a crash replays the original request instead of making a second object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe

from billing.errors import BillingUnavailable

# What Stripe answers that leaves a write undone but worth sending again with its idempotency key.
TRANSIENT = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)
# A charge may also be declined (the card) or still in flight under its key (a racing attempt): it stays pending too.
CHARGE_FAILURES = (*TRANSIENT, stripe.CardError, stripe.IdempotencyError)


@dataclass
class ChargeResult:
    id: str
    status: str
    amount: int


class StripeGateway:
    def __init__(self, api_key: str, api_base: str | None = None, timeout_seconds: float = 20.0, max_network_retries: int = 2):
        options: dict[str, Any] = {
            "max_network_retries": max_network_retries,
            "http_client": stripe.HTTPXClient(timeout=timeout_seconds, allow_sync_methods=True),
        }
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self.client = stripe.StripeClient(api_key, **options)

    def _call(self, what: str, function, *args, _failures: tuple = TRANSIENT, **kwargs):
        try:
            return function(*args, **kwargs)
        except _failures as exc:
            raise BillingUnavailable(
                f"Stripe could not {what}: {exc.user_message or exc}", hint="The charge stays pending and is retried."
            ) from exc

    def create_customer(self, organization_id: str, name: str, email: str | None = None) -> str:
        params = {"name": name, "metadata": {"vexxy_organization": organization_id}}
        if email:
            params["email"] = email
        customer = self._call(
            "create the customer",
            self.client.v1.customers.create,
            params=params,
            options={"idempotency_key": f"vexxy-customer-{organization_id}"},
        )
        return customer.id

    def attach_card(self, customer_id: str, payment_method_id: str) -> None:
        self._call(
            "attach the payment method",
            self.client.v1.payment_methods.attach,
            payment_method_id,
            params={"customer": customer_id},
        )
        self._call(
            "set the default payment method",
            self.client.v1.customers.update,
            customer_id,
            params={"invoice_settings": {"default_payment_method": payment_method_id}},
        )

    def default_payment_method(self, customer_id: str) -> str | None:
        customer = self._call("read the customer", self.client.v1.customers.retrieve, customer_id).to_dict()
        settings = customer.get("invoice_settings") or {}
        return settings.get("default_payment_method")

    def subscribe(self, organization_id: str, customer_id: str, plan_id: str) -> Any:
        return self._call(
            "create the subscription",
            self.client.v1.subscriptions.create,
            params={"customer": customer_id, "items": [{"plan": plan_id}], "metadata": {"vexxy_organization": organization_id}},
            options={"idempotency_key": f"vexxy-subscription-{organization_id}-{plan_id}"},
        )

    def charge(
        self, customer_id: str, amount_cents: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency,
            "customer": customer_id,
            "confirm": True,
            "off_session": True,
            "metadata": metadata,
        }
        payment_method = self.default_payment_method(customer_id)
        if payment_method:
            params["payment_method"] = payment_method
        intent = self._call(
            "charge the analysis",
            self.client.v1.payment_intents.create,
            params=params,
            options={"idempotency_key": idempotency_key},
            _failures=CHARGE_FAILURES,
        )
        return ChargeResult(intent.id, intent.status, intent.amount)

    def analysis_charges(self) -> Iterator[dict[str, Any]]:
        """Every payment intent vexxy created (it carries our ledger key in its metadata)."""
        page = self._call("list charges", self.client.v1.payment_intents.list, params={"limit": 100})
        for intent in page.auto_paging_iter():
            data = intent.to_dict()
            if (data.get("metadata") or {}).get("vexxy_ledger_key"):
                yield data

    def checkout_url(self, customer_id: str, plan_id: str, success_url: str, cancel_url: str) -> str:
        session = self._call(
            "open Checkout",
            self.client.v1.checkout.sessions.create,
            params={
                "customer": customer_id,
                "mode": "subscription",
                "line_items": [{"price": plan_id, "quantity": 1}],
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
        )
        return session.url

    def portal_url(self, customer_id: str, return_url: str) -> str:
        session = self._call(
            "open the customer portal",
            self.client.v1.billing_portal.sessions.create,
            params={"customer": customer_id, "return_url": return_url},
        )
        return session.url
