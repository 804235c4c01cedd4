"""Organizations with cards, for billing tests (real database rows, real Stripe SDK objects)."""

from __future__ import annotations

import time
import uuid

import jwt

from appdb.models import Organization, Subscription, User
from billing.ledger import ensure_customer
from billing.stripe_gateway import StripeGateway

JWT_KEY = "vexxy-test-signing-key-0123456789abcdef"
ISSUER, AUDIENCE = "https://auth.vexxy.dev/", "vexxy-api"


def make_organization(sessions, tier: str = "team", status: str = "active") -> str:
    with sessions.begin() as session:
        organization = Organization(name=f"org-{uuid.uuid4().hex[:6]}", status=status)
        session.add(organization)
        session.flush()
        session.add(User(organization_id=organization.id, email=f"admin-{uuid.uuid4().hex[:8]}@example.com", role="admin"))
        session.add(Subscription(organization_id=organization.id, tier=tier, status="active"))
        return organization.id


def gateway_for(proxy, timeout_seconds: float = 10.0, retries: int = 2) -> StripeGateway:
    return StripeGateway("sk_test_vexxy", proxy.url, timeout_seconds=timeout_seconds, max_network_retries=retries)


def give_card(sessions, gateway: StripeGateway, organization_id: str) -> str:
    customer = ensure_customer(sessions, gateway, organization_id)
    card = gateway.client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    gateway.attach_card(customer, card.id)
    return customer


def token(organization_id: str, role: str = "admin", subject: str = "user-1", **overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "org": organization_id,
        "role": role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(claims, JWT_KEY, algorithm="HS256")
