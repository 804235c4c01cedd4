"""Which reservations count, in which period, for which tier; and what a refusal says."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from billing_helpers import make_organization
from sqlalchemy import select

from appdb.models import BillingEvent, QuotaReservation, Subscription
from billing.errors import PaymentRequired, QuotaExceeded, UnknownOrganization
from billing.quota import check_quota, current_period, usage


@pytest.fixture
def app_sessions(app_database):
    """The application database on PostgreSQL and on the SQLite default."""
    return app_database.sessions


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def stripe_period(app_sessions, organization, start, end):
    with app_sessions.begin() as session:
        subscription = session.scalar(select(Subscription).where(Subscription.organization_id == organization))
        subscription.current_period_start, subscription.current_period_end = start, end


def test_the_calendar_month_starts_at_midnight_and_a_period_ends_before_its_end():
    now = datetime(2026, 5, 17, 12, 34, 56, 789, tzinfo=UTC)
    assert current_period(None, now) == (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    ended = Subscription(current_period_start=datetime(2026, 4, 17, 12, 34, 56, 789, tzinfo=UTC), current_period_end=now)
    assert current_period(ended, now)[0] == datetime(2026, 5, 1, tzinfo=UTC)


def test_refusals_name_the_organization(app_sessions):
    missing = str(uuid.uuid4())
    with pytest.raises(UnknownOrganization) as unknown, app_sessions.begin() as session:
        check_quota(session, missing, "s")
    assert unknown.value.message == f"Organization {missing} does not exist."
    late = make_organization(app_sessions, status="past_due")
    with pytest.raises(PaymentRequired) as unpaid, app_sessions.begin() as session:
        check_quota(session, late, "s")
    assert unpaid.value.message == f"Organization {late} has an unpaid invoice (past due) and cannot submit analyses."


def test_the_tier_sets_the_limit(app_sessions):
    organization = make_organization(app_sessions, tier="team")  # 500 per period; free would stop at 10
    with app_sessions.begin() as session:
        for index in range(11):
            check_quota(session, organization, f"s-{index}")
    with app_sessions() as session:
        assert usage(session, organization).analyses_used == 11


def test_only_this_periods_reserved_and_consumed_analyses_count(app_sessions):
    organization = make_organization(app_sessions, tier="free")  # 10 per period
    now = datetime.now(UTC)
    this_period, _ = current_period(None, now)
    last_period = (this_period - timedelta(days=1)).replace(day=1)
    with app_sessions.begin() as session:
        for index in range(10):
            session.add(QuotaReservation(organization_id=organization, submission_id=f"old-{index}", period_start=last_period))
            session.add(
                QuotaReservation(
                    organization_id=organization, submission_id=f"gone-{index}", period_start=this_period, status="released"
                )
            )
        for index in range(3):
            session.add(
                QuotaReservation(
                    organization_id=organization, submission_id=f"used-{index}", period_start=this_period, status="consumed"
                )
            )
    with app_sessions.begin() as session:
        for index in range(7):
            assert check_quota(session, organization, f"new-{index}").status == "reserved"
    with pytest.raises(QuotaExceeded), app_sessions.begin() as session:
        check_quota(session, organization, "one-too-many")
    with app_sessions() as session:
        assert usage(session, organization).analyses_used == 10


def test_stripes_period_decides_reservations_and_credits(app_sessions):
    organization = make_organization(app_sessions, tier="free")
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(days=3), now + timedelta(days=27)
    stripe_period(app_sessions, organization, start, end)

    def charge(key, credits, created_at):
        return BillingEvent(
            organization_id=organization,
            kind="analysis_charge",
            idempotency_key=f"{organization}-{key}",
            credits=credits,
            amount_cents=0,
            currency="usd",
            status="recorded",
            created_at=created_at,
        )

    with app_sessions.begin() as session:
        session.add_all(
            [charge("at-start", 2, start), charge("at-end", 30, end), charge("before", 40, start - timedelta(seconds=1))]
        )
        reservation = check_quota(session, organization, "in-stripe-period")
        assert aware(reservation.period_start) == start
    with app_sessions() as session:
        used = usage(session, organization)
        assert (aware(used.period_start), aware(used.period_end), used.analyses_used, used.credits_used) == (start, end, 1, 2)
