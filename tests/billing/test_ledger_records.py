"""What the ledger writes, field by field, and how reconciliation re-sends a charge Stripe never made."""

import uuid

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from sqlalchemy import func, select

from appdb.models import BillingEvent, QuotaReservation
from billing.ledger import charge_analysis, charge_key, ensure_customer, reconcile, record_internal
from billing.pricing import AnalysisUsage
from billing.quota import check_quota


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


def test_an_internal_analysis_is_recorded_once_with_its_usage(app_sessions):
    image, submission = "sha256:" + uuid.uuid4().hex * 2, f"run-{uuid.uuid4().hex[:8]}"
    usage = AnalysisUsage(image_bytes=600 << 20, sandbox_seconds=61, fuzzed=False)  # 1 + 2 + 2
    first = record_internal(app_sessions, submission, image, usage)
    again = record_internal(app_sessions, submission, image, usage)
    assert first.created is True and again.created is False and again.id == first.id
    assert (first.kind, first.status, first.credits, first.amount_cents, first.currency, first.stripe_object_id) == (
        "internal_analysis",
        "recorded",
        5,
        0,
        "usd",
        None,
    )
    assert first.idempotency_key == charge_key(None, submission, image)
    with app_sessions() as session:
        row = session.get(BillingEvent, first.id)
        assert (row.organization_id, row.submission_id, row.image_digest) == (None, submission, image)
        assert row.details == {"reason": "no submitting organization"}
    assert record_internal(app_sessions, None, image, usage).id != first.id  # no submission: another record


def test_reconcile_sends_a_pending_charge_again_with_its_own_key(app_sessions, stripe_proxy, localstripe):
    gateway = gateway_for(stripe_proxy)
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway, organization)
    image, submission = "sha256:" + uuid.uuid4().hex * 2, f"sub-{uuid.uuid4().hex[:8]}"
    key = charge_key(organization, submission, image)
    with app_sessions.begin() as session:  # the ledger row of a step that died before it reached Stripe
        row = BillingEvent(
            organization_id=organization,
            kind="analysis_charge",
            idempotency_key=key,
            submission_id=submission,
            image_digest=image,
            credits=3,
            amount_cents=75,
            currency="usd",
            status="pending",
        )
        session.add(row)
        session.flush()
        row_id = row.id
    assert key not in reconcile(app_sessions, gateway, older_than_seconds=3600).recharged  # too fresh to touch
    report = reconcile(app_sessions, gateway)
    assert key in report.recharged and report.checked >= 1
    assert key in stripe_proxy.state.replays  # sent with the ledger's key as Stripe's idempotency key
    (intent,) = [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == key]
    assert (intent["amount"], intent["currency"], intent["status"]) == (75, "usd", "succeeded")
    assert intent["metadata"] == {
        "vexxy_ledger_key": key,
        "vexxy_ledger_id": str(row_id),
        "vexxy_organization": organization,
        "vexxy_submission": submission,
        "vexxy_image": image,
    }
    with app_sessions() as session:
        row = session.get(BillingEvent, row_id)
        assert (row.status, row.stripe_object_id) == ("charged", intent["id"])
    assert key not in reconcile(app_sessions, gateway).recharged  # charged: left alone
    with app_sessions() as session:
        rows = session.scalars(select(BillingEvent).where(BillingEvent.idempotency_key == key)).all()
        assert len(rows) == 1


def test_reconcile_adds_what_only_stripe_has_field_by_field_and_counts_what_it_checked(app_sessions, stripe_proxy):
    gateway = gateway_for(stripe_proxy)
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway, organization)
    record_internal(app_sessions, f"run-{uuid.uuid4().hex[:8]}", "sha256:" + "d" * 64, AnalysisUsage(0, 0, False))
    with app_sessions.begin() as session:  # a free analysis: in the ledger, never sent to Stripe
        session.add(
            BillingEvent(
                organization_id=organization,
                kind="analysis_charge",
                idempotency_key=f"free-{uuid.uuid4().hex}",
                credits=1,
                amount_cents=0,
                currency="usd",
                status="recorded",
            )
        )
    image, submission = "sha256:" + uuid.uuid4().hex * 2, f"sub-{uuid.uuid4().hex[:8]}"
    key = charge_key(organization, submission, image)
    customer = ensure_customer(app_sessions, gateway, organization)
    metadata = {"vexxy_ledger_key": key, "vexxy_organization": organization, "vexxy_submission": submission, "vexxy_image": image}
    found = gateway.charge(customer, 275, "usd", idempotency_key=key, metadata=metadata)
    stranger_key = f"vexxy-analysis-{uuid.uuid4().hex}"  # newest first in Stripe's list: met before ours
    stranger = gateway.charge(
        customer,
        50,
        "usd",
        idempotency_key=stranger_key,
        metadata={"vexxy_ledger_key": stranger_key, "vexxy_organization": "gone"},
    )
    with app_sessions() as session:
        expected_checked = session.scalar(
            select(func.count())
            .select_from(BillingEvent)
            .where(BillingEvent.kind == "analysis_charge", BillingEvent.status.in_(("pending", "charged")))
        )
    report = reconcile(app_sessions, gateway)
    assert report.checked == expected_checked
    assert stranger.id in report.unmatched and key in report.added_to_ledger and stranger_key not in report.added_to_ledger
    with app_sessions() as session:
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))
        assert (row.organization_id, row.kind, row.submission_id, row.image_digest) == (
            organization,
            "analysis_charge",
            submission,
            image,
        )
        assert (row.credits, row.amount_cents, row.currency, row.status, row.stripe_object_id) == (
            0,
            275,
            "usd",
            "charged",
            found.id,
        )
        assert row.details == {"repaired": "found in Stripe, missing in the ledger"}


def test_a_charge_consumes_its_own_submissions_reservation_only(app_sessions):
    organization = make_organization(app_sessions, tier="free")  # included credits: recorded, no Stripe call
    earlier, charged = f"sub-{uuid.uuid4().hex[:8]}", f"sub-{uuid.uuid4().hex[:8]}"
    with app_sessions.begin() as session:
        check_quota(session, organization, earlier)
        check_quota(session, organization, charged)
    usage = AnalysisUsage(image_bytes=1 << 20, sandbox_seconds=10, fuzzed=False)
    entry = charge_analysis(
        app_sessions, None, organization_id=organization, submission_id=charged, image_digest="sha256:" + "ab" * 32, usage=usage
    )
    assert entry.status == "recorded"
    with app_sessions() as session:
        columns = select(QuotaReservation.submission_id, QuotaReservation.status)
        rows = session.execute(columns.where(QuotaReservation.organization_id == organization)).all()
    assert dict(rows) == {earlier: "reserved", charged: "consumed"}  # the other analysis still holds its slot
