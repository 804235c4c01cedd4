"""Stripe customers made once per organization, tiers by subscription state, and charge keys that never change."""

import uuid

import pytest
from billing_helpers import gateway_for, make_organization
from sqlalchemy import select

from appdb.models import Organization, StripeCustomer, Subscription, User
from billing.errors import UnknownOrganization
from billing.ledger import charge_key, ensure_customer
from billing.quota import organization_tier


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


def test_charge_keys_are_stable_across_releases():
    """Stripe deduplicates and reconciliation matches by these exact strings: changing them double-charges."""
    image = "sha256:" + "a" * 64
    assert charge_key("org-1", "sub-1", image) == "vexxy-analysis-7f3834f5180f48dda96994b7a598f3cbe5e88529"
    assert charge_key(None, "sub-1", image) == "vexxy-analysis-50eb145680ab6261417f947a42d0398a53934634"
    assert charge_key(None, None, image) == "vexxy-analysis-aa9952f906d7752bd600e3c940d156d8f21c9112"
    assert charge_key("org-1", None, image) == "vexxy-analysis-dcecd9343ffc0d13294d1f6de3d4eae1c70dfdad"


def test_a_customer_is_made_once_with_the_organizations_name_and_admin(app_sessions, stripe_proxy):
    gateway = gateway_for(stripe_proxy)
    organization = make_organization(app_sessions, tier="team")
    with app_sessions.begin() as session:
        session.add(User(organization_id=organization, email=f"member-{uuid.uuid4().hex[:6]}@example.com", role="member"))
        name = session.get(Organization, organization).name
        admin = session.scalar(select(User).where(User.organization_id == organization, User.role == "admin")).email
    customer_id = ensure_customer(app_sessions, gateway, organization)
    customer = gateway.client.v1.customers.retrieve(customer_id).to_dict()
    assert (customer["name"], customer["email"], customer["metadata"]) == (name, admin, {"vexxy_organization": organization})
    stripe_proxy.state.log.clear()
    assert ensure_customer(app_sessions, gateway, organization) == customer_id
    assert stripe_proxy.state.log == []  # known: Stripe is not asked again
    with app_sessions() as session:
        assert session.get(StripeCustomer, organization).stripe_customer_id == customer_id


def test_an_organization_without_an_admin_gets_a_customer_without_email(app_sessions, stripe_proxy):
    gateway = gateway_for(stripe_proxy)
    with app_sessions.begin() as session:
        organization = Organization(name=f"org-{uuid.uuid4().hex[:6]}")
        session.add(organization)
        session.flush()
        organization_id = organization.id
        session.add(User(organization_id=organization_id, email="member@example.com", role="member"))
    customer = gateway.client.v1.customers.retrieve(ensure_customer(app_sessions, gateway, organization_id)).to_dict()
    assert customer.get("email") in (None, "")
    missing = str(uuid.uuid4())
    with pytest.raises(UnknownOrganization) as error:
        ensure_customer(app_sessions, gateway, missing)
    assert error.value.message == f"Organization {missing} does not exist."


@pytest.mark.parametrize(
    "status, expected", [("active", "team"), ("trialing", "team"), ("past_due", "team"), ("canceled", "free"), ("unpaid", "free")]
)
def test_the_tier_follows_the_subscription_state(app_sessions, status, expected):
    organization = make_organization(app_sessions, tier="team")
    with app_sessions.begin() as session:
        session.scalar(select(Subscription).where(Subscription.organization_id == organization)).status = status
    with app_sessions() as session:
        assert organization_tier(session, organization).name == expected


def test_no_subscription_is_the_free_tier(app_sessions):
    with app_sessions.begin() as session:
        organization = Organization(name=f"bare-{uuid.uuid4().hex[:8]}")
        session.add(organization)
        session.flush()
        organization_id = organization.id
    with app_sessions() as session:
        assert organization_tier(session, organization_id).name == "free"
