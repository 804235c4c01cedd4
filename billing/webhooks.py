"""Stripe webhook events: each event id processed once; older events never undo newer state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appdb.models import Organization, StripeCustomer, Subscription, WebhookEvent
from billing.pricing import TIERS
from vexxy.errors import VexxyError

PAST_DUE_STATES = {"past_due", "unpaid"}


class MalformedEvent(VexxyError):
    """A correctly signed event whose content is not what Stripe sends."""


def _text(value: Any, limit: int, what: str, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise MalformedEvent(f"The event's {what} must be a string of 1 to {limit} characters.")


def _timestamp(value: Any, what: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**40):
        raise MalformedEvent(f"The event's {what} must be a Unix timestamp.")


def check_event(event: Any) -> dict[str, Any]:
    """The event if it has the shape every handler below relies on, else MalformedEvent (never a crash later)."""
    if not isinstance(event, dict):
        raise MalformedEvent("The event is not a JSON object.")
    _text(event.get("id"), 100, "id", required=True)
    _text(event.get("type"), 100, "type", required=True)
    _timestamp(event.get("created"), "created time")
    data = event.get("data", {})
    if not isinstance(data, dict) or not isinstance(data.get("object", {}), dict):
        raise MalformedEvent("The event's data.object must be an object.")
    obj = data.get("object", {})
    _text(obj.get("id"), 100, "object id")
    _text(obj.get("customer"), 100, "customer")
    _text(obj.get("status"), 20, "status")
    for key in ("current_period_start", "current_period_end"):
        _timestamp(obj.get(key), key)
    if not isinstance(obj.get("metadata") or {}, dict) or not isinstance(obj.get("items") or {}, dict):
        raise MalformedEvent("The event's metadata and items must be objects.")
    items = (obj.get("items") or {}).get("data") or []
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("plan") or {}, dict) and isinstance(item.get("price") or {}, dict)
        for item in items
    ):
        raise MalformedEvent("The event's items.data must be a list of subscription items.")
    return event


def _organization_for_customer(session: Session, customer_id: str | None) -> Organization | None:
    if not customer_id:
        return None
    link = session.scalar(select(StripeCustomer).where(StripeCustomer.stripe_customer_id == customer_id))
    return session.get(Organization, link.organization_id, with_for_update=True) if link else None


def _tier_of(subscription: dict[str, Any]) -> str | None:
    for item in (subscription.get("items") or {}).get("data", []):
        plan_id = ((item.get("plan") or {}).get("id")) or ((item.get("price") or {}).get("id"))
        for name, plan in TIERS.items():
            if plan.stripe_plan and plan.stripe_plan == plan_id:
                return name
    named = (subscription.get("metadata") or {}).get("vexxy_tier")
    return named if named in TIERS else None


def _set_status(organization: Organization, status: str, at: int) -> None:
    if at >= organization.status_changed_at:
        organization.status, organization.status_changed_at = status, at


def process_event(session: Session, event: dict[str, Any]) -> str:
    """Apply one verified event inside the caller's transaction; returns what happened."""
    check_event(event)
    event_id, kind, created = event["id"], event["type"], int(event.get("created") or 0)
    if session.get(WebhookEvent, event_id) is not None:
        return "duplicate: already processed"
    obj = (event.get("data") or {}).get("object") or {}
    organization = _organization_for_customer(session, obj.get("customer"))
    result = "ignored: not a vexxy customer" if organization is None else f"ignored: {kind} is not handled"
    if organization is not None and kind.startswith("customer.subscription."):
        subscription = session.scalar(select(Subscription).where(Subscription.organization_id == organization.id))
        if subscription is None:
            subscription = Subscription(organization_id=organization.id, tier="free", status="active", last_event_at=0)
            session.add(subscription)
        if created < subscription.last_event_at:
            result = "stale: a newer event already set this subscription"
        else:
            status = "canceled" if kind == "customer.subscription.deleted" else obj.get("status", "active")
            subscription.status, subscription.last_event_at = status, created
            subscription.stripe_subscription_id = obj.get("id") or subscription.stripe_subscription_id
            subscription.tier = "free" if status == "canceled" else (_tier_of(obj) or subscription.tier)
            for field, key in (("current_period_start", "current_period_start"), ("current_period_end", "current_period_end")):
                if obj.get(key):
                    setattr(subscription, field, datetime.fromtimestamp(int(obj[key]), UTC))
            _set_status(organization, "past_due" if status in PAST_DUE_STATES else "active", created)
            result = f"subscription {status} ({subscription.tier})"
    elif organization is not None and kind == "invoice.payment_failed":
        _set_status(organization, "past_due", created)
        result = "organization past due"
    elif organization is not None and kind in ("invoice.paid", "invoice.payment_succeeded"):
        _set_status(organization, "active", created)
        result = "organization active"
    session.add(WebhookEvent(stripe_event_id=event_id, type=kind, created=created, result=result[:200]))
    return result
