"""Billing for an organization's admins: plan, usage, remaining credits, the ledger, plan changes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from appdb.models import BillingEvent, Organization
from billing.errors import BillingUnavailable
from billing.ledger import ensure_customer
from billing.pricing import TIERS
from billing.quota import usage
from billing.stripe_gateway import StripeGateway
from vexxy_api.auth import Caller, admin_caller
from vexxy_api.errors import ApiError
from vexxy_api.limits import MAX_PAGE

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


def _gateway(request: Request) -> StripeGateway:
    settings = request.app.state.settings
    if not settings.stripe_api_key:
        raise ApiError(503, "billing_not_configured", "Stripe is not configured (STRIPE_API_KEY).")
    return StripeGateway(settings.stripe_api_key, settings.stripe_api_base)


@router.get("")
def overview(request: Request, caller: Caller = Depends(admin_caller)) -> dict:
    with request.app.state.sessions() as session:
        organization = session.get(Organization, caller.organization_id)
        if organization is None:
            raise ApiError(404, "not_found", "Organization not found.")
        current = usage(session, caller.organization_id)
    return {
        "organization": {"id": organization.id, "name": organization.name, "status": organization.status},
        "tier": current.tier.name,
        "period": {"start": current.period_start.isoformat(), "end": current.period_end.isoformat()},
        "analyses": {
            "used": current.analyses_used,
            "limit": current.tier.monthly_analyses,
            "remaining": current.analyses_remaining,
        },
        "credits": {
            "used": current.credits_used,
            "limit": current.tier.monthly_credit_limit,
            "remaining": current.credits_remaining,
        },
        "credit_price_cents": current.tier.credit_price_cents,
    }


@router.get("/ledger")
def ledger(
    request: Request,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(50, ge=1, le=200),
    caller: Caller = Depends(admin_caller),
) -> dict:
    with request.app.state.sessions() as session:
        total = session.scalar(
            select(func.count()).select_from(BillingEvent).where(BillingEvent.organization_id == caller.organization_id)
        )
        rows = session.scalars(
            select(BillingEvent)
            .where(BillingEvent.organization_id == caller.organization_id)
            .order_by(BillingEvent.created_at.desc(), BillingEvent.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
    return {
        "page": page,
        "page_size": page_size,
        "total": total,
        "entries": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "submission_id": r.submission_id,
                "image_digest": r.image_digest,
                "credits": r.credits,
                "amount_cents": r.amount_cents,
                "currency": r.currency,
                "stripe_object_id": r.stripe_object_id,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ],
    }


class PlanChange(BaseModel):
    tier: str = Field(max_length=40)


@router.post("/checkout")
def checkout(request: Request, change: PlanChange, caller: Caller = Depends(admin_caller)) -> dict:
    plan = TIERS.get(change.tier)
    if plan is None or not plan.stripe_plan:
        raise ApiError(
            422,
            "unknown_tier",
            f"Tier {change.tier!r} cannot be bought; choose one of {', '.join(n for n, t in TIERS.items() if t.stripe_plan)}.",
        )
    gateway = _gateway(request)
    base = request.app.state.settings.public_url
    try:
        customer = ensure_customer(request.app.state.sessions, gateway, caller.organization_id)
        return {
            "url": gateway.checkout_url(
                customer, plan.stripe_plan, f"{base}/billing?checkout=done", f"{base}/billing?checkout=cancelled"
            )
        }
    except BillingUnavailable as exc:
        raise ApiError(502, "stripe_unavailable", exc.message, exc.hint) from None


@router.post("/portal")
def portal(request: Request, caller: Caller = Depends(admin_caller)) -> dict:
    gateway = _gateway(request)
    try:
        customer = ensure_customer(request.app.state.sessions, gateway, caller.organization_id)
        return {"url": gateway.portal_url(customer, f"{request.app.state.settings.public_url}/billing")}
    except BillingUnavailable as exc:
        raise ApiError(502, "stripe_unavailable", exc.message, exc.hint) from None
