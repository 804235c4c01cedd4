"""Periods, releases and remaining credits, exactly (the figures the billing endpoint shows)."""

from datetime import UTC, datetime

import pytest
from billing_helpers import make_organization
from sqlalchemy import select

from appdb.models import BillingEvent, QuotaReservation, Subscription
from billing.quota import available_credits, check_quota, current_period, release, usage


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


def test_the_period_is_stripes_when_known_else_the_calendar_month():
    now = datetime(2026, 5, 17, 12, tzinfo=UTC)
    stripe_period = Subscription(current_period_start=datetime(2026, 5, 10), current_period_end=datetime(2026, 6, 10))
    assert current_period(stripe_period, now) == (datetime(2026, 5, 10, tzinfo=UTC), datetime(2026, 6, 10, tzinfo=UTC))
    month = (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    stale = Subscription(current_period_start=datetime(2026, 4, 10), current_period_end=datetime(2026, 5, 10))
    assert current_period(stale, now) == month
    assert current_period(Subscription(current_period_start=datetime(2026, 5, 1)), now) == month
    assert current_period(None, now) == month
    assert current_period(None, datetime(2026, 12, 31, 23, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    edge = Subscription(current_period_start=now, current_period_end=datetime(2026, 6, 17, tzinfo=UTC))
    assert current_period(edge, now)[0] == now


def test_release_gives_back_only_a_reservation_still_reserved(app_sessions):
    organization, other = make_organization(app_sessions, tier="free"), make_organization(app_sessions, tier="free")
    with app_sessions.begin() as session:
        for submission in ("kept", "given-back", "consumed"):
            check_quota(session, organization, submission)
        check_quota(session, other, "given-back")
        check_quota(session, organization, "consumed").status = "consumed"
    with app_sessions.begin() as session:
        release(session, organization, "given-back")
        release(session, organization, "consumed")  # an analysis that was charged keeps its reservation
        release(session, organization, "never-reserved")
    with app_sessions() as session:
        assert usage(session, organization).analyses_used == 2
        assert usage(session, other).analyses_used == 1
        statuses = dict(
            session.execute(
                select(QuotaReservation.submission_id, QuotaReservation.status).where(
                    QuotaReservation.organization_id == organization
                )
            ).all()
        )
        assert statuses == {"kept": "reserved", "given-back": "released", "consumed": "consumed"}
    with app_sessions.begin() as session:
        release(session, other, "kept")  # another organization's submission of the same id: not ours to release
        check_quota(session, other, "kept")
        release(session, other, "kept")
    with app_sessions() as session:
        assert usage(session, organization).analyses_used == 2 and usage(session, other).analyses_used == 1


def test_remaining_credits_count_this_periods_analysis_charges_only(app_sessions):
    organization = make_organization(app_sessions, tier="free")  # 100 credits per period
    now = datetime.now(UTC)
    last_period = current_period(None, now)[0].replace(year=now.year - 1)

    def event(key, kind, credits, created_at=None):
        return BillingEvent(
            organization_id=organization,
            kind=kind,
            idempotency_key=f"{organization}-{key}",
            credits=credits,
            amount_cents=0,
            currency="usd",
            status="recorded",
            **({"created_at": created_at} if created_at else {}),
        )

    with app_sessions.begin() as session:
        session.add_all(
            [
                event("a", "analysis_charge", 7),
                event("b", "analysis_charge", 5),
                event("c", "internal_analysis", 40),
                event("d", "analysis_charge", 30, created_at=last_period),
            ]
        )
    with app_sessions() as session:
        assert available_credits(session, organization) == 88
        assert usage(session, organization).credits_used == 12
