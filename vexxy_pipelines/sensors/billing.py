"""Pending charges are collected on a timer: each is sent to Stripe again with its own idempotency key until
Stripe takes it or an operator writes it off (`vexxy billing write-off`). What is sent is `billing.collection`'s."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from billing import policy
from billing.collection import collect_pending
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.stripe_billing import StripeResource

RETRY_INTERVAL_SECONDS = 60


@sensor(minimum_interval_seconds=RETRY_INTERVAL_SECONDS, default_status=DefaultSensorStatus.RUNNING)
def billing_retry_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource, stripe: StripeResource):
    """Send pending charges to Stripe again (every minute, each once it is a minute old)."""
    mode = stripe.billing_mode()
    if mode != policy.STRIPE:
        return SkipReason(f"Billing mode is {mode}: no charge is sent to Stripe.")
    if not stripe.configured:
        return SkipReason("Billing mode is stripe but STRIPE_API_KEY is not set: pending charges wait for it.")
    done = collect_pending(app_db.sessions(), stripe.gateway())
    for entry in done.charged:
        context.log.info(f"Ledger entry {entry}: charged.")
    for entry in done.found_charged:
        context.log.info(f"Ledger entry {entry}: Stripe already held its payment; recorded, nothing sent.")
    for entry, problem in done.failed.items():
        context.log.warning(f"Ledger entry {entry} stays pending: {problem}")
    if not done.due:
        return SkipReason("No pending charge is due.")
    return SkipReason(
        f"{done.due} pending charge(s): {len(done.charged)} charged, {len(done.found_charged)} found charged in Stripe, "
        f"{len(done.failed)} still pending."
    )
