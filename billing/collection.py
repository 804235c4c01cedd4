"""Collecting charges Stripe did not take: list them, send them again with their own keys, write them off.

A pending charge is sent again only once Stripe has been asked whether it already holds a payment for
the charge's key (an answer lost in a crash, or a key Stripe no longer remembers after a day): that
payment is recorded instead of a second one. So a charge is taken at most once, however often it is
retried, and only a successful analysis ever had one written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from appdb.models import BillingEvent
from billing import policy
from billing.errors import BillingUnavailable
from billing.ledger import LedgerEntry, ledger_entry, mark_charged, note_failure, recharge
from billing.stripe_gateway import StripeGateway
from vexxy.errors import VexxyError


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PendingCharge:
    id: int
    organization_id: str | None
    submission_id: str | None
    image_digest: str | None
    amount_cents: int
    currency: str
    created_at: datetime
    attempts: int
    last_error: str | None
    idempotency_key: str


def pending_charges(sessions: sessionmaker) -> list[PendingCharge]:
    """Every analysis charge still pending, oldest first."""
    with sessions() as session:
        rows = session.scalars(
            select(BillingEvent)
            .where(BillingEvent.kind == "analysis_charge", BillingEvent.status == policy.PENDING)
            .order_by(BillingEvent.created_at, BillingEvent.id)
        ).all()
        return [
            PendingCharge(
                row.id,
                row.organization_id,
                row.submission_id,
                row.image_digest,
                row.amount_cents,
                row.currency,
                _aware(row.created_at),
                int((row.details or {}).get("attempts", 0)),
                (row.details or {}).get("last_error"),
                row.idempotency_key,
            )
            for row in rows
        ]


@dataclass
class Collection:
    """What one retry pass did, by ledger id."""

    due: int = 0
    charged: list[int] = field(default_factory=list)  # sent again, Stripe took it
    found_charged: list[int] = field(default_factory=list)  # Stripe already held the payment: recorded, nothing sent
    failed: dict[int, str] = field(default_factory=dict)  # still pending, with what Stripe answered


def collect_pending(
    sessions: sessionmaker,
    gateway: StripeGateway,
    *,
    now: datetime | None = None,
    retry_after_seconds: float = policy.RETRY_AFTER_SECONDS,
    limit: int = 100,
) -> Collection:
    """Send every pending charge due for a retry again with its own idempotency key."""
    now = now or datetime.now(UTC)
    due = [
        charge
        for charge in pending_charges(sessions)
        if policy.due_for_retry("analysis_charge", policy.PENDING, (now - charge.created_at).total_seconds(), retry_after_seconds)
    ][:limit]
    report = Collection(due=len(due))
    if not due:
        return report  # nothing asked of Stripe
    try:
        in_stripe = {intent["metadata"]["vexxy_ledger_key"]: intent for intent in gateway.analysis_charges()}
    except BillingUnavailable as exc:
        report.failed = {charge.id: exc.message for charge in due}
        return report
    for charge in due:
        intent = in_stripe.get(charge.idempotency_key)
        if intent is not None and intent["status"] == "succeeded":
            mark_charged(sessions, charge.id, intent["id"])
            report.found_charged.append(charge.id)
            continue
        with sessions.begin() as session:
            row = session.get(BillingEvent, charge.id, with_for_update=True)
            if row.status != policy.PENDING:  # written off (or charged) since it was listed
                continue
            session.expunge(row)
        try:
            recharge(sessions, gateway, row)
        except BillingUnavailable as exc:
            with sessions.begin() as session:
                note_failure(session.get(BillingEvent, charge.id), exc.message)
            report.failed[charge.id] = exc.message
            continue
        report.charged.append(charge.id)
    return report


def write_off(sessions: sessionmaker, entry_id: int, reason: str, *, now: datetime | None = None) -> LedgerEntry:
    """An operator gives up collecting a pending charge: it is never sent again; the reason stays in its details."""
    reason = reason.strip()
    if not reason:
        raise VexxyError("A write-off needs a reason.", hint="Say why with --reason (it is kept in the ledger).")
    with sessions.begin() as session:
        row = session.get(BillingEvent, entry_id, with_for_update=True)
        if row is None:
            raise VexxyError(f"There is no ledger entry {entry_id}.", hint="`vexxy billing pending` lists the pending charges.")
        if row.kind != "analysis_charge":
            refusal = f"Ledger entry {entry_id} ({row.kind}) is not an analysis charge."
        else:
            refusal = policy.write_off_refusal(row.id, row.status)
        if refusal:
            raise VexxyError(refusal, hint="`vexxy billing pending` lists the charges that can be written off.")
        row.status = policy.WRITTEN_OFF
        row.details = {
            **(row.details or {}),
            "written_off": {"reason": reason[:1000], "at": (now or datetime.now(UTC)).isoformat()},
        }
        session.flush()
        return ledger_entry(row, created=False)
