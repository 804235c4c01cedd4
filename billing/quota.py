"""Quota: a check and the reservation it makes are one atomic step per organization.

The organization's row is locked (`SELECT ... FOR UPDATE`) for the length of the transaction, so
concurrent submissions of one organization are decided one after another: N requests at the edge
of a quota admit exactly the quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appdb.models import BillingEvent, Organization, QuotaReservation, Subscription
from billing.errors import PaymentRequired, QuotaExceeded, UnknownOrganization
from billing.pricing import Tier, tier


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def current_period(subscription: Subscription | None, now: datetime) -> tuple[datetime, datetime]:
    """The subscription's billing period when Stripe told us one, else the calendar month (UTC)."""
    if subscription and subscription.current_period_start and subscription.current_period_end:
        start, end = _aware(subscription.current_period_start), _aware(subscription.current_period_end)
        if start <= now < end:
            return start, end
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _organization(session: Session, organization_id: str, lock: bool = False) -> Organization:
    query = select(Organization).where(Organization.id == organization_id)
    organization = session.scalar(query.with_for_update() if lock else query)
    if organization is None:
        raise UnknownOrganization(f"Organization {organization_id} does not exist.")
    return organization


def _subscription(session: Session, organization_id: str) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.organization_id == organization_id))


def organization_tier(session: Session, organization_id: str) -> Tier:
    subscription = _subscription(session, organization_id)
    return tier(subscription.tier if subscription and subscription.status in ("active", "trialing", "past_due") else None)


@dataclass(frozen=True)
class Usage:
    tier: Tier
    period_start: datetime
    period_end: datetime
    analyses_used: int
    credits_used: int

    @property
    def analyses_remaining(self) -> int:
        return max(0, self.tier.monthly_analyses - self.analyses_used)

    @property
    def credits_remaining(self) -> int:
        return max(0, self.tier.monthly_credit_limit - self.credits_used)


def usage(session: Session, organization_id: str, now: datetime | None = None) -> Usage:
    now = now or datetime.now(UTC)
    _organization(session, organization_id)
    start, end = current_period(_subscription(session, organization_id), now)
    used = session.scalar(
        select(func.count())
        .select_from(QuotaReservation)
        .where(
            QuotaReservation.organization_id == organization_id,
            QuotaReservation.period_start == start,
            QuotaReservation.status.in_(("reserved", "consumed")),
        )
    )
    credits = session.scalar(
        select(func.coalesce(func.sum(BillingEvent.credits), 0)).where(
            BillingEvent.organization_id == organization_id,
            BillingEvent.kind == "analysis_charge",
            BillingEvent.created_at >= start,
            BillingEvent.created_at < end,
        )
    )
    return Usage(organization_tier(session, organization_id), start, end, int(used or 0), int(credits or 0))


def available_credits(session: Session, organization_id: str, now: datetime | None = None) -> int:
    return usage(session, organization_id, now).credits_remaining


def check_quota(session: Session, organization_id: str, submission_id: str, now: datetime | None = None) -> QuotaReservation:
    """Reserve one analysis for `submission_id` or raise; call inside the caller's transaction."""
    now = now or datetime.now(UTC)
    organization = _organization(session, organization_id, lock=True)
    if organization.status == "past_due":
        raise PaymentRequired(organization_id)
    start, end = current_period(_subscription(session, organization_id), now)
    existing = session.scalar(
        select(QuotaReservation).where(
            QuotaReservation.organization_id == organization_id, QuotaReservation.submission_id == submission_id
        )
    )
    if existing is not None:
        return existing
    plan = organization_tier(session, organization_id)
    used = session.scalar(
        select(func.count())
        .select_from(QuotaReservation)
        .where(
            QuotaReservation.organization_id == organization_id,
            QuotaReservation.period_start == start,
            QuotaReservation.status.in_(("reserved", "consumed")),
        )
    )
    if used >= plan.monthly_analyses:
        raise QuotaExceeded(plan.name, plan.monthly_analyses, end)
    reservation = QuotaReservation(
        organization_id=organization_id, submission_id=submission_id, period_start=start, status="reserved"
    )
    session.add(reservation)
    session.flush()
    return reservation


def release(session: Session, organization_id: str, submission_id: str) -> None:
    """A failed or cancelled analysis gives its reservation back."""
    reservation = session.scalar(
        select(QuotaReservation).where(
            QuotaReservation.organization_id == organization_id, QuotaReservation.submission_id == submission_id
        )
    )
    if reservation is not None and reservation.status == "reserved":
        reservation.status = "released"
