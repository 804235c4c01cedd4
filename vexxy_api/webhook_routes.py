"""Stripe webhooks: verified with `Stripe-Signature`, applied once per event id."""

from __future__ import annotations

import json

import stripe
from fastapi import APIRouter, Request

from billing.webhooks import MalformedEvent, check_event, process_event
from vexxy_api.errors import ApiError

router = APIRouter(tags=["webhooks"])
SIGNATURE_TOLERANCE_SECONDS = 300  # what the Stripe SDK uses by default


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> dict:
    settings = request.app.state.settings
    if not settings.stripe_webhook_secret:
        raise ApiError(503, "webhooks_not_configured", "STRIPE_WEBHOOK_SECRET is not set.")
    payload = await request.body()
    signature = request.headers.get("Stripe-Signature", "")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, settings.stripe_webhook_secret, SIGNATURE_TOLERANCE_SECONDS)
    except UnicodeDecodeError:
        raise ApiError(400, "bad_payload", "The webhook body is not UTF-8 text.") from None
    except stripe.SignatureVerificationError as exc:
        raise ApiError(400, "bad_signature", f"The Stripe-Signature header does not verify: {exc.user_message or exc}.") from None
    try:  # parsed only once the signature holds, and checked before anything reads it
        event = check_event(json.loads(text))
    except ValueError as exc:
        raise ApiError(400, "bad_payload", f"The webhook body is not JSON: {exc}.") from None
    except MalformedEvent as exc:
        raise ApiError(400, "malformed_event", exc.message) from None
    with request.app.state.sessions.begin() as session:
        result = process_event(session, event)
    return {"received": True, "result": result}
