"""The `billing_record` asset: bill the submitting organization once for a completed analysis.

Billing never fails the analysis for Stripe's sake: a charge Stripe does not take stays pending in the
ledger and `billing_retry_sensor` sends it again. The decisions are `billing.policy`'s.
"""

from dagster import AssetExecutionContext, Backoff, Failure, MaterializeResult, MetadataValue, RetryPolicy, asset

from billing import policy
from billing.ledger import Billed, bill_analysis, record_internal
from billing.pricing import AnalysisUsage
from vexxy.errors import VexxyError
from vexxy.evidence.documents import EXECUTION_PROFILE, FUZZ_FINDINGS, IMAGE
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.stripe_billing import StripeResource

RETRYING_SENSOR = "billing_retry_sensor"


@asset(
    partitions_def=image_partitions,
    group_name="billing",
    deps=[vex_document],
    kinds={"stripe"},
    retry_policy=RetryPolicy(max_retries=3, delay=5, backoff=Backoff.EXPONENTIAL),
)
def billing_record(
    context: AssetExecutionContext, app_db: AppDatabaseResource, stripe: StripeResource, evidence: EvidenceStore
) -> MaterializeResult:
    """The ledger entry (and Stripe charge) of this analysis; internal analyses are recorded, never charged."""
    try:
        mode = stripe.billing_mode()
    except VexxyError as exc:  # a setting no retry can mend
        raise Failure(description=str(exc), allow_retries=False) from None
    context.log.info(policy.describe_mode(mode, stripe.configured))
    # The usage of the analysis this run completed: its own documents, never another run's of the same image.
    image = evidence.read_json(context, IMAGE)
    profile = evidence.find_json(context, EXECUTION_PROFILE) or {"window": {"observed_seconds": 0}}
    fuzzing = evidence.find_json(context, FUZZ_FINDINGS) or {"status": "skipped"}
    usage = AnalysisUsage(
        image_bytes=int(image.get("total_size", 0)),
        sandbox_seconds=float(profile["window"]["observed_seconds"]),
        fuzzed=fuzzing.get("status") in ("completed", "partial"),
    )
    tags = context.run.tags if context.run else {}
    organization, submission = tags.get(run_tags.ORGANIZATION), tags.get(run_tags.SUBMISSION)
    sessions = app_db.sessions()
    if not organization:
        billed = Billed(mode, record_internal(sessions, submission or context.run.run_id, image["manifest_digest"], usage))
    else:
        try:
            billed = bill_analysis(
                sessions,
                stripe.gateway() if stripe.configured else None,
                mode,
                organization_id=organization,
                submission_id=submission or context.run.run_id,
                image_digest=image["manifest_digest"],
                usage=usage,
            )
        except VexxyError as exc:  # not Stripe's answer (an organization gone): the retry policy tries again
            raise RuntimeError(str(exc)) from exc
    metadata = {"organization": organization or "internal", "billing_mode": mode}
    entry = billed.entry
    if entry is None:
        context.log.info(f"Billing is off: organization {organization} is not charged for this analysis.")
        return MaterializeResult(metadata={**metadata, "status": "not billed"})
    if billed.problem:
        context.log.warning(
            f"Ledger entry {entry.id} ({entry.amount_cents} cents) stays pending: {billed.problem} "
            f"{RETRYING_SENSOR} sends it again with the same key; the analysis is complete."
        )
        metadata |= {"charge_problem": billed.problem, "retried_by": RETRYING_SENSOR}
    elif not entry.created:
        context.log.info(f"Ledger entry {entry.id} already existed ({entry.status}): nothing charged again.")
    return MaterializeResult(
        metadata={
            **metadata,
            "status": entry.status,
            "credits": MetadataValue.int(entry.credits),
            "amount_cents": MetadataValue.int(entry.amount_cents),
            "currency": entry.currency,
            "stripe_object_id": entry.stripe_object_id or "—",
            "ledger_id": MetadataValue.int(entry.id),
            "newly_charged": entry.created and entry.status == policy.CHARGED,
        }
    )
