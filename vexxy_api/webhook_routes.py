"""Stripe webhooks: verified with `Stripe-Signature`, applied once per event id."""

from __future__ import annotations

import stripe
from fastapi import APIRouter, Request

from billing.webhooks import process_event
from vexxy_api.errors import ApiError

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> dict:
    settings = request.app.state.settings
    if not settings.stripe_webhook_secret:
        raise ApiError(503, "webhooks_not_configured", "STRIPE_WEBHOOK_SECRET is not set.")
    payload = await request.body()
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.stripe_webhook_secret)
    except stripe.SignatureVerificationError as exc:
        raise ApiError(400, "bad_signature", f"The Stripe-Signature header does not verify: {exc.user_message or exc}.") from None
    except ValueError as exc:
        raise ApiError(400, "bad_payload", f"The webhook body is not a Stripe event: {exc}.") from None
    with request.app.state.sessions.begin() as session:
        result = process_event(session, event.to_dict())
    return {"received": True, "result": result}
