"""Billing a completed analysis in each mode, a charge Stripe did not take left pending and collected later
(exactly once), and writing one off. Real databases (PostgreSQL and SQLite), the real SDK against localstripe."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from sqlalchemy import select

from appdb.models import BillingEvent, QuotaReservation
from billing.collection import collect_pending, pending_charges, write_off
from billing.ledger import bill_analysis, charge_key
from billing.pricing import AnalysisUsage
from billing.quota import check_quota
from vexxy.errors import VexxyError

USAGE = AnalysisUsage(image_bytes=100 << 20, sandbox_seconds=45, fuzzed=True)  # 5 credits, 125 cents on team
LATER = timedelta(minutes=5)  # past the time a pending charge is left to its own step


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


def analysis(app_sessions, organization):
    submission, image = f"sub-{uuid.uuid4().hex[:8]}", "sha256:" + uuid.uuid4().hex * 2
    with app_sessions.begin() as session:
        check_quota(session, organization, submission)
    return submission, image


def bill(app_sessions, gateway, mode, organization, submission, image):
    return bill_analysis(
        app_sessions, gateway, mode, organization_id=organization, submission_id=submission, image_digest=image, usage=USAGE
    )


def row_of(app_sessions, key) -> BillingEvent | None:
    with app_sessions() as session:
        return session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))


def reservation_of(app_sessions, organization, submission) -> str:
    with app_sessions() as session:
        return session.scalar(
            select(QuotaReservation.status).where(
                QuotaReservation.organization_id == organization, QuotaReservation.submission_id == submission
            )
        )


def intents_for(localstripe, key):
    return [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == key]


def charge_attempts(stripe_proxy) -> int:
    return sum(1 for line in list(stripe_proxy.state.log) if line == "POST /v1/payment_intents")


def test_ledger_mode_records_the_charge_and_sends_nothing(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    submission, image = analysis(app_sessions, organization)
    billed = bill(app_sessions, None, "ledger", organization, submission, image)
    assert billed.problem is None and billed.mode == "ledger"
    entry = billed.entry
    assert (entry.status, entry.amount_cents, entry.credits, entry.stripe_object_id, entry.created) == (
        "recorded_only",
        125,
        5,
        None,
        True,
    )
    again = bill(app_sessions, None, "ledger", organization, submission, image)  # a re-execution of the step
    assert again.entry.id == entry.id and not again.entry.created
    assert reservation_of(app_sessions, organization, submission) == "consumed"
    assert entry.id not in {charge.id for charge in pending_charges(app_sessions)}


def test_off_mode_writes_no_charge_and_consumes_the_reservation(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    submission, image = analysis(app_sessions, organization)
    billed = bill(app_sessions, None, "off", organization, submission, image)
    assert billed.entry is None and billed.problem is None
    assert row_of(app_sessions, charge_key(organization, submission, image)) is None
    assert reservation_of(app_sessions, organization, submission) == "consumed"


def test_a_charge_stripe_refuses_stays_pending_and_is_collected_exactly_once(app_sessions, stripe_proxy, localstripe):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    submission, image = analysis(app_sessions, organization)
    key = charge_key(organization, submission, image)
    stripe_proxy.state.faults.fail_with_500 = 10  # Stripe failing longer than the SDK retries
    billed = bill(app_sessions, gateway_for(stripe_proxy, retries=1), "stripe", organization, submission, image)
    assert billed.entry.status == "pending" and billed.entry.created
    assert billed.problem.startswith("Stripe could not charge the analysis")
    assert intents_for(localstripe, key) == []
    (listed,) = [charge for charge in pending_charges(app_sessions) if charge.idempotency_key == key]
    assert (listed.id, listed.amount_cents, listed.attempts) == (billed.entry.id, 125, 1)
    assert listed.last_error == billed.problem

    stripe_proxy.state.faults.fail_with_500 = 0  # Stripe is back
    too_soon = collect_pending(app_sessions, gateway_for(stripe_proxy))  # the step may still hold it
    assert billed.entry.id not in too_soon.charged and row_of(app_sessions, key).status == "pending"
    done = collect_pending(app_sessions, gateway_for(stripe_proxy), now=datetime.now(UTC) + LATER)
    assert billed.entry.id in done.charged
    (intent,) = intents_for(localstripe, key)
    row = row_of(app_sessions, key)
    assert (row.status, row.stripe_object_id, intent["status"], intent["amount"]) == ("charged", intent["id"], "succeeded", 125)

    sent = charge_attempts(stripe_proxy)
    again = collect_pending(app_sessions, gateway_for(stripe_proxy), now=datetime.now(UTC) + LATER)
    assert billed.entry.id not in again.charged + again.found_charged
    assert len(intents_for(localstripe, key)) == 1 and row_of(app_sessions, key).stripe_object_id == intent["id"]
    if app_sessions.kw["bind"].dialect.name == "sqlite":  # a database of this test's own: nothing else is pending
        assert again.due == 0 and charge_attempts(stripe_proxy) == sent


def test_a_payment_stripe_already_holds_is_recorded_not_sent_again(app_sessions, stripe_proxy, localstripe):
    """The answer was lost (a crash, a timeout): the retry finds Stripe's payment for the key and records it."""
    organization = make_organization(app_sessions, tier="team")
    gateway = gateway_for(stripe_proxy)
    customer = give_card(app_sessions, gateway, organization)
    submission, image = analysis(app_sessions, organization)
    key = charge_key(organization, submission, image)
    stripe_proxy.state.faults.fail_with_500 = 10
    billed = bill(app_sessions, gateway_for(stripe_proxy, retries=0), "stripe", organization, submission, image)
    stripe_proxy.state.faults.fail_with_500 = 0
    taken = gateway.charge(customer, 125, "usd", idempotency_key=key, metadata={"vexxy_ledger_key": key})
    sent = charge_attempts(stripe_proxy)
    done = collect_pending(app_sessions, gateway, now=datetime.now(UTC) + LATER)
    assert billed.entry.id in done.found_charged and billed.entry.id not in done.charged
    assert charge_attempts(stripe_proxy) == sent
    assert row_of(app_sessions, key).stripe_object_id == taken.id and len(intents_for(localstripe, key)) == 1


def test_a_written_off_charge_is_never_sent_and_keeps_its_reason(app_sessions, stripe_proxy, localstripe):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    submission, image = analysis(app_sessions, organization)
    key = charge_key(organization, submission, image)
    billed = bill(app_sessions, None, "stripe", organization, submission, image)  # stripe mode, no key yet
    assert billed.entry.status == "pending" and "Stripe is not configured" in billed.problem
    entry = write_off(app_sessions, billed.entry.id, "  goodwill: the customer's trial  ")
    assert entry.status == "written_off"
    row = row_of(app_sessions, key)
    assert row.status == "written_off" and row.details["written_off"]["reason"] == "goodwill: the customer's trial"
    assert row.details["tier"] == "team" and row.details["attempts"] == 1  # what the charge said is kept
    assert billed.entry.id not in {charge.id for charge in pending_charges(app_sessions)}
    done = collect_pending(app_sessions, gateway_for(stripe_proxy), now=datetime.now(UTC) + LATER)
    assert billed.entry.id not in done.charged + done.found_charged + list(done.failed)
    assert intents_for(localstripe, key) == []
    with pytest.raises(VexxyError, match=f"Ledger entry {entry.id} is already written off."):
        write_off(app_sessions, entry.id, "again")


def test_what_cannot_be_written_off(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    submission, image = analysis(app_sessions, organization)
    recorded = bill(app_sessions, None, "ledger", organization, submission, image).entry
    with pytest.raises(VexxyError) as error:
        write_off(app_sessions, recorded.id, "not owed")
    assert error.value.message == (
        f"Ledger entry {recorded.id} is recorded_only, not pending: only a pending charge can be written off."
    )
    with pytest.raises(VexxyError, match="There is no ledger entry 987654321."):
        write_off(app_sessions, 987654321, "gone")
    with pytest.raises(VexxyError, match="A write-off needs a reason."):
        write_off(app_sessions, recorded.id, "   ")


def test_the_retry_sensor_collects_what_is_due(app_database, stripe_proxy, localstripe, instance):
    """`billing_retry_sensor`'s tick (the real sensor, its resources on this database and Stripe) charges once."""
    from dagster import build_sensor_context

    from vexxy_pipelines.resources.app_database import AppDatabaseResource
    from vexxy_pipelines.resources.stripe_billing import StripeResource
    from vexxy_pipelines.sensors.billing import billing_retry_sensor

    sessions = app_database.sessions
    organization = make_organization(sessions, tier="team")
    give_card(sessions, gateway_for(stripe_proxy), organization)
    submission, image = analysis(sessions, organization)
    key = charge_key(organization, submission, image)
    stripe_proxy.state.faults.fail_with_500 = 10
    billed = bill(sessions, gateway_for(stripe_proxy, retries=0), "stripe", organization, submission, image)
    stripe_proxy.state.faults.fail_with_500 = 0
    stripe = StripeResource(api_key="sk_test_vexxy", api_base=stripe_proxy.url)

    def tick():
        resources = {"app_db": AppDatabaseResource(url=app_database.url), "stripe": stripe}
        return billing_retry_sensor(build_sensor_context(instance=instance, resources=resources))

    assert row_of(sessions, key).status == "pending"
    tick()  # too soon: its step may still be sending it
    assert row_of(sessions, key).status == "pending" and intents_for(localstripe, key) == []
    with sessions.begin() as session:
        session.get(BillingEvent, billed.entry.id).created_at = datetime.now(UTC) - LATER
    tick()
    (intent,) = intents_for(localstripe, key)
    assert (row_of(sessions, key).status, row_of(sessions, key).stripe_object_id) == ("charged", intent["id"])
    tick()
    assert [i["id"] for i in intents_for(localstripe, key)] == [intent["id"]]
    quiet = StripeResource(api_key="sk_test_vexxy", api_base=stripe_proxy.url, mode="ledger")
    result = billing_retry_sensor(
        build_sensor_context(instance=instance, resources={"app_db": AppDatabaseResource(url=app_database.url), "stripe": quiet})
    )
    assert result.skip_message == "Billing mode is ledger: no charge is sent to Stripe."
