"""What one charge writes: the ledger row, the consumed reservation, Stripe's metadata; and what it refuses."""

import uuid

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from sqlalchemy import select

from appdb.models import BillingEvent, QuotaReservation
from billing.errors import BillingUnavailable, UnknownOrganization
from billing.ledger import charge_analysis, charge_key
from billing.pricing import AnalysisUsage
from billing.quota import check_quota

USAGE = AnalysisUsage(image_bytes=100 << 20, sandbox_seconds=45, fuzzed=True)  # 5 credits


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


def reserve(app_sessions, organization, submission):
    with app_sessions.begin() as session:
        check_quota(session, organization, submission)


def test_a_charge_writes_its_row_consumes_its_reservation_and_tells_stripe_who(app_sessions, stripe_proxy, localstripe):
    gateway = gateway_for(stripe_proxy)
    organization, other = make_organization(app_sessions, tier="team"), make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway, organization)
    image, submission = "sha256:" + uuid.uuid4().hex * 2, f"sub-{uuid.uuid4().hex[:8]}"
    reserve(app_sessions, organization, submission)
    reserve(app_sessions, organization, "another-submission")
    reserve(app_sessions, other, submission)  # the same id in another organization
    entry = charge_analysis(
        app_sessions, gateway, organization_id=organization, submission_id=submission, image_digest=image, usage=USAGE
    )
    again = charge_analysis(
        app_sessions, gateway, organization_id=organization, submission_id=submission, image_digest=image, usage=USAGE
    )
    assert entry.created is True and again.created is False
    with app_sessions() as session:
        row = session.get(BillingEvent, entry.id)
        assert (row.organization_id, row.kind, row.submission_id, row.image_digest) == (
            organization,
            "analysis_charge",
            submission,
            image,
        )
        assert (row.credits, row.amount_cents, row.currency, row.status) == (5, 125, "usd", "charged")
        assert row.details == {"tier": "team", "image_bytes": 100 << 20, "sandbox_seconds": 45, "fuzzed": True}
        reservations = {(r.organization_id, r.submission_id): r.status for r in session.scalars(select(QuotaReservation)).all()}
        assert reservations[(organization, submission)] == "consumed"
        assert reservations[(organization, "another-submission")] == "reserved"
        assert reservations[(other, submission)] == "reserved"
    key = charge_key(organization, submission, image)
    (intent,) = [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == key]
    assert intent["metadata"] == {
        "vexxy_ledger_key": key,
        "vexxy_ledger_id": str(entry.id),
        "vexxy_organization": organization,
        "vexxy_submission": submission,
        "vexxy_image": image,
    }


def test_a_free_analysis_is_recorded_without_stripe(app_sessions):
    organization = make_organization(app_sessions, tier="free")  # credits cost nothing on the free tier
    entry = charge_analysis(
        app_sessions, None, organization_id=organization, submission_id="free-1", image_digest="sha256:" + "f" * 64, usage=USAGE
    )
    assert (entry.status, entry.amount_cents, entry.credits, entry.stripe_object_id, entry.created) == (
        "recorded",
        0,
        5,
        None,
        True,
    )
    again = charge_analysis(
        app_sessions, None, organization_id=organization, submission_id="free-1", image_digest="sha256:" + "f" * 64, usage=USAGE
    )
    assert again.created is False and again.id == entry.id


def test_without_stripe_a_paid_analysis_stays_pending_and_says_what_to_set(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    with pytest.raises(BillingUnavailable) as error:
        charge_analysis(
            app_sessions, None, organization_id=organization, submission_id="s", image_digest="sha256:" + "e" * 64, usage=USAGE
        )
    assert error.value.message == f"Analysis for organization {organization} costs 125 cents but Stripe is not configured."
    assert error.value.hint == (
        "Set STRIPE_API_KEY (and STRIPE_API_BASE for a test server); the ledger entry stays pending until then."
    )
    with app_sessions.begin() as session:
        (row,) = session.scalars(select(BillingEvent).where(BillingEvent.organization_id == organization)).all()
        assert row.status == "pending"
        session.delete(row)  # an organization with no card: other tests' reconciliations would try to charge it
    missing = str(uuid.uuid4())
    with pytest.raises(UnknownOrganization) as unknown:
        charge_analysis(
            app_sessions, None, organization_id=missing, submission_id="s", image_digest="sha256:" + "e" * 64, usage=USAGE
        )
    assert unknown.value.message == f"Organization {missing} does not exist."
