"""Stripe events applied to the application database, one decision at a time, with their exact results."""

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from billing_helpers import make_organization
from sqlalchemy import select, text

from appdb.models import BillingEvent, Organization, QuotaReservation, StripeCustomer, Subscription, WebhookEvent
from billing.quota import available_credits, check_quota, current_period, release
from billing.webhooks import process_event


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


@pytest.fixture
def linked(app_sessions):
    organization, customer = make_organization(app_sessions, tier="free"), f"cus_{uuid.uuid4().hex[:12]}"
    with app_sessions.begin() as session:
        session.add(StripeCustomer(organization_id=organization, stripe_customer_id=customer))
    return organization, customer


def apply(app_sessions, kind, created, obj):
    with app_sessions.begin() as session:
        return process_event(
            session, {"id": f"evt_{uuid.uuid4().hex}", "type": kind, "created": created, "data": {"object": obj}}
        )


def state(app_sessions, organization):
    with app_sessions() as session:
        subscription = session.scalar(select(Subscription).where(Subscription.organization_id == organization))
        org = session.get(Organization, organization)
        return org.status, subscription.tier, subscription.status, subscription.stripe_subscription_id, subscription


@pytest.fixture
def host_not_in_utc(monkeypatch):
    """A worker whose local zone is not UTC: a period read from Stripe's epoch seconds must not move."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_subscription_events_set_tier_status_and_period(app_sessions, linked, host_not_in_utc):
    organization, customer = linked
    subscription_id = f"sub_{uuid.uuid4().hex[:12]}"
    by_price = {
        "customer": customer,
        "id": subscription_id,
        "status": "active",
        "items": {"data": [{"price": {"id": "vexxy-team"}}]},
    }
    by_price |= {"current_period_start": 1767225600, "current_period_end": 1769904000}
    assert apply(app_sessions, "customer.subscription.created", 100, by_price) == "subscription active (team)"
    org_status, tier, status, stripe_id, subscription = state(app_sessions, organization)
    assert (org_status, tier, status, stripe_id) == ("active", "team", "active", subscription_id)
    stored = [subscription.current_period_start, subscription.current_period_end]
    stored = [value if value.tzinfo else value.replace(tzinfo=UTC) for value in stored]  # SQLite keeps no zone
    assert stored == [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)]
    by_metadata = {"customer": customer, "status": "past_due", "metadata": {"vexxy_tier": "enterprise"}}
    assert apply(app_sessions, "customer.subscription.updated", 200, by_metadata) == "subscription past_due (enterprise)"
    assert state(app_sessions, organization)[:4] == ("past_due", "enterprise", "past_due", subscription_id)
    unknown_plan = {"customer": customer, "status": "active", "items": {"data": [{"plan": {"id": "other-plan"}}]}}
    assert apply(app_sessions, "customer.subscription.updated", 300, unknown_plan) == "subscription active (enterprise)"
    unknown_tier = unknown_plan | {"metadata": {"vexxy_tier": "platinum"}}  # a tier vexxy has no prices for
    assert apply(app_sessions, "customer.subscription.updated", 300, unknown_tier) == "subscription active (enterprise)"
    assert state(app_sessions, organization)[1] == "enterprise"
    assert apply(app_sessions, "customer.subscription.updated", 250, by_price) == (
        "stale: a newer event already set this subscription"
    )
    assert apply(app_sessions, "customer.subscription.deleted", 300, {"customer": customer}) == "subscription canceled (free)"
    assert state(app_sessions, organization)[:3] == ("active", "free", "canceled")


def test_invoices_move_the_organization_and_a_tie_applies_the_later_event(app_sessions, linked):
    organization, customer = linked
    assert apply(app_sessions, "invoice.payment_failed", 500, {"customer": customer}) == "organization past due"
    assert apply(app_sessions, "invoice.paid", 400, {"customer": customer}) == "organization active"  # older: no change
    assert state_of(app_sessions, organization) == "past_due"
    assert apply(app_sessions, "invoice.payment_succeeded", 500, {"customer": customer}) == "organization active"
    assert state_of(app_sessions, organization) == "active"


def state_of(app_sessions, organization):
    with app_sessions() as session:
        return session.get(Organization, organization).status


def test_other_events_are_recorded_once_with_what_happened(app_sessions, linked):
    _, customer = linked
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.refunded", "created": 7, "data": {"object": {"customer": customer}}}
    with app_sessions.begin() as session:
        assert process_event(session, event) == "ignored: charge.refunded is not handled"
    with app_sessions.begin() as session:
        assert process_event(session, event) == "duplicate: already processed"
        stored = session.get(WebhookEvent, event["id"])
        assert (stored.type, stored.created, stored.result) == ("charge.refunded", 7, "ignored: charge.refunded is not handled")
    assert apply(app_sessions, "invoice.paid", 1, {"customer": "cus_unknown"}) == "ignored: not a vexxy customer"
    assert apply(app_sessions, "invoice.paid", 1, {}) == "ignored: not a vexxy customer"
    with app_sessions.begin() as session:
        assert (
            process_event(session, {"id": f"evt_{uuid.uuid4().hex}", "type": "invoice.paid"}) == "ignored: not a vexxy customer"
        )


def test_an_event_waits_for_the_organization_row_lock(postgres_sessions):
    organization, customer = make_organization(postgres_sessions, tier="free"), f"cus_{uuid.uuid4().hex[:12]}"
    with postgres_sessions.begin() as session:
        session.add(StripeCustomer(organization_id=organization, stripe_customer_id=customer))
    outcome = {}
    with postgres_sessions.begin() as holder:
        # FOR KEY SHARE blocks FOR UPDATE but not the UPDATE of the status: only an event that reads the
        # organization under its row lock (so it decides on the current state) has to wait here.
        holder.scalar(select(Organization).where(Organization.id == organization).with_for_update(read=True, key_share=True))
        worker = threading.Thread(
            target=lambda: outcome.update(result=apply(postgres_sessions, "invoice.payment_failed", 9, {"customer": customer})),
            daemon=True,
        )
        worker.start()
        deadline = time.monotonic() + 30
        while worker.is_alive() and time.monotonic() < deadline:
            with postgres_sessions() as session:
                waiting = session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                )
            if waiting:
                break
            time.sleep(0.05)
        assert worker.is_alive() and "result" not in outcome, "the event did not wait for the organization row lock"
    worker.join(timeout=30)
    assert outcome["result"] == "organization past due"


def test_quota_edges_in_other_time_zones_and_periods(app_sessions):
    plus_two = timezone(timedelta(hours=2))
    start, end = datetime(2026, 5, 10, 1, tzinfo=plus_two), datetime(2026, 6, 10, 1, tzinfo=plus_two)
    period = current_period(
        Subscription(current_period_start=start, current_period_end=end), datetime(2026, 5, 9, 23, 30, tzinfo=UTC)
    )
    assert period == (start, end)  # 23:30 UTC is 01:30 at +02:00: already inside
    organization = make_organization(app_sessions, tier="free")
    with app_sessions.begin() as session:
        check_quota(session, organization, "s")
        release(session, organization, "s")
        session.add(
            BillingEvent(
                organization_id=organization,
                kind="analysis_charge",
                idempotency_key=f"{organization}-now",
                credits=10,
                amount_cents=0,
                currency="usd",
                status="recorded",
            )
        )
    with app_sessions() as session:
        assert (
            session.scalar(select(QuotaReservation.status).where(QuotaReservation.organization_id == organization)) == "released"
        )
        assert available_credits(session, organization) == 90
        assert available_credits(session, organization, now=datetime(2020, 1, 15, tzinfo=UTC)) == 100


def test_an_event_for_an_organization_without_a_subscription_row_starts_one(app_sessions):
    customer = f"cus_{uuid.uuid4().hex[:12]}"
    with app_sessions.begin() as session:
        organization = Organization(name=f"no-subscription-{uuid.uuid4().hex[:8]}")
        session.add(organization)
        session.flush()
        organization_id = organization.id
        session.add(StripeCustomer(organization_id=organization_id, stripe_customer_id=customer))
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "customer.subscription.updated", "data": {"object": {"customer": customer}}}
    with app_sessions.begin() as session:
        assert process_event(session, event) == "subscription active (free)"
        assert session.get(WebhookEvent, event["id"]).created == 0
    with app_sessions() as session:
        subscription = session.scalar(select(Subscription).where(Subscription.organization_id == organization_id))
        assert (subscription.tier, subscription.status, subscription.last_event_at) == ("free", "active", 0)
        assert session.get(Organization, organization_id).status == "active"


def test_periods_are_read_as_utc(app_sessions, linked):
    organization, customer = linked
    period = {"customer": customer, "status": "active", "current_period_start": 1767225600, "current_period_end": 1769904000}
    with app_sessions.begin() as session:
        process_event(
            session,
            {"id": f"evt_{uuid.uuid4().hex}", "type": "customer.subscription.updated", "created": 1, "data": {"object": period}},
        )
        subscription = session.scalar(select(Subscription).where(Subscription.organization_id == organization))
        start = subscription.current_period_start
        if session.bind.dialect.name == "sqlite":  # SQLite keeps no zone: it hands back naive UTC
            start = start.replace(tzinfo=UTC)
        assert start == datetime(2026, 1, 1, tzinfo=UTC) and start.utcoffset() == timedelta(0)
