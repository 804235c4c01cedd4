"""The billing HTTP API: Stripe webhooks (signature, once per event, ordering) and admin endpoints."""

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import replace

import pytest
from billing_helpers import gateway_for, give_card, make_organization, token
from sqlalchemy import func, select

from appdb.models import Organization, Subscription, WebhookEvent
from billing.errors import PaymentRequired
from billing.ledger import charge_analysis, ensure_customer
from billing.pricing import AnalysisUsage
from billing.quota import check_quota

SECRET = "whsec_vexxy_test"


@pytest.fixture
def api_settings(api_settings, stripe_proxy):
    return replace(api_settings, stripe_api_key="sk_test_vexxy", stripe_api_base=stripe_proxy.url, stripe_webhook_secret=SECRET)


def signed(event: dict, secret: str = SECRET, at: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = at or int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def event(kind: str, customer: str, created: int, **obj) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": {"customer": customer, **obj}},
    }


def post(client, evt, **kwargs):
    payload, header = signed(evt, **kwargs)
    return client.post(
        "/webhooks/stripe", content=payload, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )


@pytest.fixture
def customer(app_sessions, stripe_proxy):
    organization = make_organization(app_sessions, tier="team")
    return organization, ensure_customer(app_sessions, gateway_for(stripe_proxy), organization)


def webhook_rows(app_sessions) -> int:
    with app_sessions() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))


def test_wrong_signature_is_400_and_changes_nothing(client, app_sessions, customer):
    organization, customer_id = customer
    before = webhook_rows(app_sessions)
    evt = event("invoice.payment_failed", customer_id, int(time.time()))
    for kwargs in ({"secret": "whsec_wrong"}, {"at": int(time.time()) - 3600}):  # forged; replayed an hour later
        response = post(client, evt, **kwargs)
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"
    response = client.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400
    assert webhook_rows(app_sessions) == before
    with app_sessions() as session:
        assert session.get(Organization, organization).status == "active"


def test_payment_failure_blocks_submissions_until_paid(client, app_sessions, customer):
    organization, customer_id = customer
    now = int(time.time())
    failed = event("invoice.payment_failed", customer_id, now)
    assert post(client, failed).json()["result"] == "organization past due"
    assert post(client, failed).json()["result"].startswith("duplicate")  # redelivered: applied once
    with pytest.raises(PaymentRequired, match="past due"):
        with app_sessions.begin() as session:
            check_quota(session, organization, "blocked")
    assert post(client, event("invoice.paid", customer_id, now + 10)).json()["result"] == "organization active"
    assert post(client, event("invoice.payment_failed", customer_id, now + 5)).status_code == 200  # late, older: ignored
    with app_sessions() as session:
        assert session.get(Organization, organization).status == "active"


def test_subscription_events_out_of_order(client, app_sessions, customer):
    organization, customer_id = customer
    now = int(time.time())
    newer = event(
        "customer.subscription.updated",
        customer_id,
        now + 20,
        id="sub_1",
        status="active",
        items={"data": [{"plan": {"id": "vexxy-enterprise"}}]},
        current_period_start=now - 100,
        current_period_end=now + 86400,
    )
    older = event(
        "customer.subscription.updated",
        customer_id,
        now + 10,
        id="sub_1",
        status="past_due",
        items={"data": [{"plan": {"id": "vexxy-team"}}]},
    )
    assert post(client, newer).json()["result"] == "subscription active (enterprise)"
    assert post(client, older).json()["result"].startswith("stale")
    with app_sessions() as session:
        subscription = session.scalar(select(Subscription).where(Subscription.organization_id == organization))
        assert (subscription.tier, subscription.status, subscription.stripe_subscription_id) == ("enterprise", "active", "sub_1")
        assert session.get(Organization, organization).status == "active"
    post(client, event("customer.subscription.deleted", customer_id, now + 30, id="sub_1", status="canceled"))
    with app_sessions() as session:
        assert session.scalar(select(Subscription).where(Subscription.organization_id == organization)).tier == "free"


def test_admin_billing_endpoints(client, app_sessions, stripe_proxy):
    organization = make_organization(app_sessions, tier="team")
    gateway = gateway_for(stripe_proxy)
    give_card(app_sessions, gateway, organization)
    for index in range(3):
        with app_sessions.begin() as session:
            check_quota(session, organization, f"s{index}")
        charge_analysis(
            app_sessions,
            gateway,
            organization_id=organization,
            submission_id=f"s{index}",
            image_digest=f"sha256:{index:064d}",
            usage=AnalysisUsage(10 << 20, 30, False),
        )
    admin = {"Authorization": f"Bearer {token(organization)}"}
    overview = client.get("/api/v1/billing", headers=admin).json()
    assert overview["tier"] == "team" and overview["analyses"] == {"used": 3, "limit": 500, "remaining": 497}
    assert overview["credits"]["used"] == 9 and overview["credits"]["remaining"] == 10_000 - 9
    page = client.get("/api/v1/billing/ledger?page=1&page_size=2", headers=admin).json()
    assert (
        page["total"] == 3
        and len(page["entries"]) == 2
        and all(e["status"] == "charged" and e["amount_cents"] == 75 for e in page["entries"])
    )
    assert len(client.get("/api/v1/billing/ledger?page=2&page_size=2", headers=admin).json()["entries"]) == 1
    assert (
        client.post("/api/v1/billing/checkout", json={"tier": "enterprise"}, headers=admin).json()["url"].startswith("https://")
    )
    assert client.post("/api/v1/billing/portal", headers=admin).json()["url"].startswith("https://")
    assert client.post("/api/v1/billing/checkout", json={"tier": "free"}, headers=admin).status_code == 422
    member = {"Authorization": f"Bearer {token(organization, role='member')}"}
    assert client.get("/api/v1/billing", headers=member).status_code == 403
    assert client.get("/api/v1/billing").status_code == 401
    expired = {"Authorization": f"Bearer {token(organization, exp=int(time.time()) - 10)}"}
    assert client.get("/api/v1/billing", headers=expired).json()["error"]["code"] == "token_expired"


def test_subscription_per_tier_through_the_sdk(app_sessions, stripe_proxy):
    from billing.pricing import TIERS

    organization = make_organization(app_sessions, tier="free")
    gateway = gateway_for(stripe_proxy)
    customer_id = give_card(app_sessions, gateway, organization)
    product = gateway.client.v1.products.create(params={"name": "vexxy team"})
    plan = TIERS["team"].stripe_plan
    try:
        gateway.client.v1.plans.create(
            params={"id": plan, "product": product.id, "amount": 4900, "currency": "usd", "interval": "month"}
        )
    except Exception:
        pass  # already created by an earlier test in this Stripe account
    first = gateway.subscribe(organization, customer_id, plan)
    again = gateway.subscribe(organization, customer_id, plan)  # a retried request replays the same subscription
    assert first.id == again.id and first.status == "active"
    assert ensure_customer(app_sessions, gateway, organization) == customer_id  # found, not created twice
