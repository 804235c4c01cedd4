"""The `billing_record` asset: charge the submitting organization once for a completed analysis."""

from dagster import AssetExecutionContext, Backoff, MaterializeResult, MetadataValue, RetryPolicy, asset

from billing.ledger import charge_analysis, record_internal
from billing.pricing import AnalysisUsage
from vexxy.errors import VexxyError
from vexxy.evidence.documents import EXECUTION_PROFILE, FUZZ_FINDINGS, IMAGE
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.stripe_billing import StripeResource


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
        entry = record_internal(sessions, submission or context.run.run_id, image["manifest_digest"], usage)
    else:
        try:
            entry = charge_analysis(
                sessions,
                stripe.gateway() if stripe.configured else None,
                organization_id=organization,
                submission_id=submission or context.run.run_id,
                image_digest=image["manifest_digest"],
                usage=usage,
            )
        except VexxyError as exc:  # Stripe down or failing: the retry policy tries again with the same key
            raise RuntimeError(str(exc)) from exc
    if not entry.created:
        context.log.info(f"Ledger entry {entry.id} already existed ({entry.status}): nothing charged again.")
    return MaterializeResult(
        metadata={
            "organization": organization or "internal",
            "status": entry.status,
            "credits": MetadataValue.int(entry.credits),
            "amount_cents": MetadataValue.int(entry.amount_cents),
            "currency": entry.currency,
            "stripe_object_id": entry.stripe_object_id or "—",
            "ledger_id": MetadataValue.int(entry.id),
            "newly_charged": entry.created and entry.status == "charged",
        }
    )
