"""Charging an analysis exactly once, and reconciling the ledger with Stripe.

The order is what makes it exact:
1. In one transaction (the organization row locked): find or write the ledger row, `pending`,
   keyed by an idempotency key derived from (organization, submission, image digest).
2. Ask Stripe to charge with that same key: a retry, a replayed step or a racing run sends the
   same key, and Stripe answers with the original payment instead of a new one.
3. Mark the row `charged` with Stripe's object id.
A crash between 2 and 3 leaves a `pending` row whose next attempt (or `reconcile`) finds the one
charge Stripe has. Failed analyses never reach this code; internal ones are recorded, not charged.

`bill_analysis` is what a completed analysis calls: it bills in the mode in effect (`billing.policy`)
and never fails for Stripe's sake: a charge Stripe did not take stays pending, and
`billing.collection` sends it again with the same key until it is charged or written off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from appdb.models import BillingEvent, Organization, QuotaReservation, StripeCustomer, User
from billing import policy
from billing.errors import BillingUnavailable, UnknownOrganization
from billing.pricing import CURRENCY, AnalysisUsage, amount_cents, analysis_credits
from billing.quota import organization_tier
from billing.stripe_gateway import StripeGateway


def charge_key(organization_id: str | None, submission_id: str | None, image_digest: str) -> str:
    digest = hashlib.sha256(f"{organization_id or 'internal'}|{submission_id or ''}|{image_digest}".encode()).hexdigest()[:40]
    return f"vexxy-analysis-{digest}"


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    kind: str
    status: str
    credits: int
    amount_cents: int
    currency: str
    stripe_object_id: str | None
    idempotency_key: str
    created: bool  # False when this call found an existing entry (a retry or a race)


def ledger_entry(row: BillingEvent, created: bool) -> LedgerEntry:
    return LedgerEntry(
        row.id,
        row.kind,
        row.status,
        row.credits,
        row.amount_cents,
        row.currency,
        row.stripe_object_id,
        row.idempotency_key,
        created,
    )


def ensure_customer(sessions: sessionmaker, gateway: StripeGateway, organization_id: str) -> str:
    with sessions.begin() as session:
        existing = session.get(StripeCustomer, organization_id)
        if existing:
            return existing.stripe_customer_id
        organization = session.get(Organization, organization_id)
        if organization is None:
            raise UnknownOrganization(f"Organization {organization_id} does not exist.")
        admin = session.scalar(select(User).where(User.organization_id == organization_id, User.role == "admin"))
        name, email = organization.name, admin.email if admin else None
    customer_id = gateway.create_customer(organization_id, name, email)  # idempotent per organization
    with sessions.begin() as session:
        if session.get(StripeCustomer, organization_id) is None:
            session.add(StripeCustomer(organization_id=organization_id, stripe_customer_id=customer_id))
    return customer_id


def record_internal(sessions: sessionmaker, submission_id: str | None, image_digest: str, usage: AnalysisUsage) -> LedgerEntry:
    """An operator's analysis with no submitting organization: in the ledger, never charged."""
    key = charge_key(None, submission_id, image_digest)
    with sessions.begin() as session:
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))
        if row is not None:
            return ledger_entry(row, created=False)
        row = BillingEvent(
            organization_id=None,
            kind="internal_analysis",
            idempotency_key=key,
            submission_id=submission_id,
            image_digest=image_digest,
            credits=analysis_credits(usage),
            amount_cents=0,
            currency=CURRENCY,
            status=policy.RECORDED,
            details={"reason": "no submitting organization"},
        )
        session.add(row)
        session.flush()
        return ledger_entry(row, created=True)


def _lock_organization(session, organization_id: str) -> Organization:
    organization = session.scalar(select(Organization).where(Organization.id == organization_id).with_for_update())
    if organization is None:
        raise UnknownOrganization(f"Organization {organization_id} does not exist.")
    return organization


def _consume_reservation(session, organization_id: str, submission_id: str) -> None:
    reservation = session.scalar(
        select(QuotaReservation).where(
            QuotaReservation.organization_id == organization_id, QuotaReservation.submission_id == submission_id
        )
    )
    if reservation is not None:
        reservation.status = "consumed"


def charge_analysis(
    sessions: sessionmaker,
    gateway: StripeGateway | None,
    *,
    organization_id: str,
    submission_id: str,
    image_digest: str,
    usage: AnalysisUsage,
    mode: str = policy.STRIPE,
) -> LedgerEntry:
    """Write the charge (mode `stripe` or `ledger`) and, in `stripe` mode, send it; raises `BillingUnavailable` when
    Stripe does not take it (the row stays pending)."""
    key = charge_key(organization_id, submission_id, image_digest)
    with sessions.begin() as session:
        _lock_organization(session, organization_id)
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))
        created = row is None
        if row is None:
            plan = organization_tier(session, organization_id)
            credits = analysis_credits(usage)
            amount = amount_cents(credits, plan)
            row = BillingEvent(
                organization_id=organization_id,
                kind="analysis_charge",
                idempotency_key=key,
                submission_id=submission_id,
                image_digest=image_digest,
                credits=credits,
                amount_cents=amount,
                currency=CURRENCY,
                status=policy.charge_status(amount, mode),
                details={
                    "tier": plan.name,
                    "image_bytes": usage.image_bytes,
                    "sandbox_seconds": usage.sandbox_seconds,
                    "fuzzed": usage.fuzzed,
                },
            )
            session.add(row)
            _consume_reservation(session, organization_id, submission_id)
            session.flush()
        if row.status != policy.PENDING:
            return ledger_entry(row, created)
        row_id, amount, currency = row.id, row.amount_cents, row.currency
    if gateway is None:
        raise BillingUnavailable(
            f"Analysis for organization {organization_id} costs {amount} cents but Stripe is not configured.",
            hint="Set STRIPE_API_KEY (and STRIPE_API_BASE for a test server); the ledger entry stays pending until then.",
        )
    customer_id = ensure_customer(sessions, gateway, organization_id)
    result = gateway.charge(
        customer_id,
        amount,
        currency,
        idempotency_key=key,
        metadata={
            "vexxy_ledger_key": key,
            "vexxy_ledger_id": str(row_id),
            "vexxy_organization": organization_id,
            "vexxy_submission": submission_id,
            "vexxy_image": image_digest,
        },
    )
    with sessions.begin() as session:
        row = session.get(BillingEvent, row_id)
        row.status, row.stripe_object_id = policy.CHARGED, result.id
        return ledger_entry(row, created)


@dataclass(frozen=True)
class Billed:
    """What billing a completed analysis did: its ledger entry (None when billing is off) and, for a charge left
    pending, why Stripe did not take it."""

    mode: str
    entry: LedgerEntry | None
    problem: str | None = None


def bill_analysis(
    sessions: sessionmaker,
    gateway: StripeGateway | None,
    mode: str,
    *,
    organization_id: str,
    submission_id: str,
    image_digest: str,
    usage: AnalysisUsage,
) -> Billed:
    """Bill a completed analysis in `mode`; Stripe failing leaves the charge pending, never raises."""
    if mode == policy.OFF:
        with sessions.begin() as session:
            _lock_organization(session, organization_id)
            _consume_reservation(session, organization_id, submission_id)
        return Billed(mode, None)
    try:
        entry = charge_analysis(
            sessions,
            gateway if mode == policy.STRIPE else None,
            organization_id=organization_id,
            submission_id=submission_id,
            image_digest=image_digest,
            usage=usage,
            mode=mode,
        )
    except BillingUnavailable as exc:
        key = charge_key(organization_id, submission_id, image_digest)
        with sessions.begin() as session:
            row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))
            note_failure(row, exc.message)
            return Billed(mode, ledger_entry(row, created=row.details.get("attempts") == 1), exc.message)
    return Billed(mode, entry)


def note_failure(row: BillingEvent, message: str) -> None:
    """Keep on a pending row what its last attempt met and how many attempts there were (details is JSON)."""
    details = dict(row.details or {})
    details["attempts"] = int(details.get("attempts", 0)) + 1
    details["last_error"] = message[:500]
    row.details = details


@dataclass
class Reconciliation:
    checked: int = 0
    marked_charged: list[str] = field(default_factory=list)  # pending in the ledger, charged in Stripe
    recharged: list[str] = field(default_factory=list)  # in the ledger, missing in Stripe: sent again with the same key
    added_to_ledger: list[str] = field(default_factory=list)  # in Stripe, missing in the ledger
    unmatched: list[str] = field(default_factory=list)  # in Stripe, for an organization this database does not know


def reconcile(sessions: sessionmaker, gateway: StripeGateway, *, older_than_seconds: float = 0) -> Reconciliation:
    """Make the ledger and Stripe agree, charging nothing twice (every repair reuses the ledger key)."""
    report = Reconciliation()
    in_stripe = {intent["metadata"]["vexxy_ledger_key"]: intent for intent in gateway.analysis_charges()}
    now = datetime.now(UTC)
    with sessions() as session:
        rows = session.scalars(
            select(BillingEvent).where(
                BillingEvent.kind == "analysis_charge", BillingEvent.status.in_((policy.PENDING, policy.CHARGED))
            )
        ).all()
    for row in rows:
        report.checked += 1
        intent = in_stripe.pop(row.idempotency_key, None)
        age = (now - (row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC))).total_seconds()
        if intent is not None and intent["status"] == "succeeded":
            if row.status == policy.PENDING:
                mark_charged(sessions, row.id, intent["id"])
                report.marked_charged.append(row.idempotency_key)
        elif age >= older_than_seconds:
            recharge(sessions, gateway, row)
            report.recharged.append(row.idempotency_key)
    for key, intent in in_stripe.items():
        metadata = intent["metadata"]
        with sessions.begin() as session:
            if session.get(Organization, metadata.get("vexxy_organization") or "") is None:
                report.unmatched.append(intent["id"])
                continue
            if session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key)) is None:
                session.add(
                    BillingEvent(
                        organization_id=metadata.get("vexxy_organization"),
                        kind="analysis_charge",
                        idempotency_key=key,
                        submission_id=metadata.get("vexxy_submission"),
                        image_digest=metadata.get("vexxy_image"),
                        credits=0,
                        amount_cents=intent["amount"],
                        currency=intent["currency"],
                        status=policy.CHARGED,
                        stripe_object_id=intent["id"],
                        details={"repaired": "found in Stripe, missing in the ledger"},
                    )
                )
                report.added_to_ledger.append(key)
    return report


def mark_charged(sessions: sessionmaker, row_id: int, stripe_object_id: str) -> None:
    with sessions.begin() as session:
        fresh = session.get(BillingEvent, row_id)
        fresh.status, fresh.stripe_object_id = policy.CHARGED, stripe_object_id


def recharge(sessions: sessionmaker, gateway: StripeGateway, row: BillingEvent) -> str:
    """Send a ledger row's charge again, with its own key (Stripe replays the first answer), and mark it charged."""
    customer_id = ensure_customer(sessions, gateway, row.organization_id)
    result = gateway.charge(
        customer_id,
        row.amount_cents,
        row.currency,
        idempotency_key=row.idempotency_key,
        metadata={
            "vexxy_ledger_key": row.idempotency_key,
            "vexxy_ledger_id": str(row.id),
            "vexxy_organization": row.organization_id,
            "vexxy_submission": row.submission_id or "",
            "vexxy_image": row.image_digest or "",
        },
    )
    mark_charged(sessions, row.id, result.id)
    return result.id
