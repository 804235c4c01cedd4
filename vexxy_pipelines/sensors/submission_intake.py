"""Queued submissions become analysis runs.

In bounded batches behind a monotonic cursor (their sequence number), highest priority first
within a batch; each becomes a run of `analyze_image` with `run_key = submission id` (so a tick
that fails after submitting some runs loses none and duplicates none when it is retried).
Per-organization concurrency comes from the run queue (tag concurrency limits per tier, see
`vexxy_pipelines.instance`), priority from `dagster/priority`. A second submission of a digest an
organization is already analyzing on the same terms (configuration, fuzzing, observation window:
`lifecycle.analysis_terms`) shares that run. The configuration's
public form travels in the run config, its hash in a tag; secret values stay in the application
database, encrypted, for the sandbox step to read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from sqlalchemy import select

from appdb.models import Submission
from billing.quota import organization_tier
from submissions import lifecycle
from vexxy.errors import VexxyError
from vexxy.oci.egress import check_registry
from vexxy.oci.reference import parse_reference
from vexxy_pipelines import tags
from vexxy_pipelines.assets.sandbox import analysis_run_config
from vexxy_pipelines.jobs import analyze_image_job, refresh_vulnerability_db_job
from vexxy_pipelines.partitions import image_partitions, key_for_image
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

BATCH = 500
LAUNCHPAD_RUN = "dagster-run:"  # how a Launchpad submission names its submitter: the `analyze_reference` run
LINK_WINDOW = timedelta(days=1)  # Launchpad submissions this recent are linked back to their analysis run


def launchpad_run(submission: Submission) -> str | None:
    """The Launchpad run (`analyze_reference`) that queued `submission`, if one did."""
    by = submission.submitted_by or ""
    return by[len(LAUNCHPAD_RUN) :] if submission.source == "launchpad" and by.startswith(LAUNCHPAD_RUN) else None


def run_tags(submission: Submission, tier: str, reference: str, digest: str | None = None) -> dict[str, str]:
    configured = {tags.CONFIG_HASH: submission.config_hash, tags.SECRETS: submission.id} if submission.config_hash else {}
    launched = launchpad_run(submission)
    return {
        **configured,
        **({tags.LAUNCHED_BY: launched} if launched else {}),
        tags.ORGANIZATION: submission.organization_id,
        tags.SUBMISSION: submission.id,
        tags.PRIORITY: str(submission.priority),
        tags.CORRELATION: submission.correlation_id,
        tags.REFERENCE: reference,
        **({tags.MANIFEST_DIGEST: digest} if digest else {}),
        tags.DAGSTER_PRIORITY: str(submission.priority),
        tags.OBSERVATION_SECONDS: str(submission.observation_seconds),
        tags.FUZZING: "true" if submission.fuzzing else "false",
        tags.concurrency(tier): submission.organization_id,
    }


def customer_resolver(registry: RegistryResource, instance: DagsterInstance):
    """Resolve customers' references to (manifest digest, partition key), once each per tick and login; a
    registry on an internal address (judged again now: names can resolve elsewhere than at submission) is
    refused unless allowed. An organization the registry login does not serve resolves without it. The key's
    image is recorded in `instance` (partitions are added with the tick's result)."""
    resolved: dict[tuple[str, bool], tuple[str, str]] = {}

    def resolve(reference: str, organization: str | None = None) -> tuple[str, str]:
        access = registry.for_organization(organization)
        seen = (reference, access.username is not None)
        if seen not in resolved:
            ref = parse_reference(reference)
            check_registry(ref.registry, access.allowed)
            image = access.resolve(ref)
            pinned = parse_reference(image.canonical)
            resolved[seen] = (image.manifest_digest, key_for_image(instance, pinned, reference))
        return resolved[seen]

    return resolve


def plan_runs(submissions: list[Submission], resolve, tiers: dict[str, str], active: dict[tuple, str]):
    """Decide, without side effects: which submissions get runs, which share one, which fail.
    Returns (run requests, {id: (digest, key)} requested, {id: (digest, key, primary)} shared, {id: message} failed)."""
    requests, requested, shared, failures = [], {}, {}, {}
    for submission in sorted(submissions, key=lambda s: (-s.priority, s.seq)):
        try:
            digest, key = resolve(submission.image_reference, submission.organization_id)
        except VexxyError as exc:
            failures[submission.id] = str(exc)
            continue
        analysis = lifecycle.analysis_terms(
            submission.organization_id, digest, submission.config_hash, submission.fuzzing, submission.observation_seconds
        )
        primary = active.get(analysis)
        if primary and primary != submission.id:
            shared[submission.id] = (digest, key, primary)
            continue
        active[analysis] = submission.id
        requested[submission.id] = (digest, key)
        requests.append(
            RunRequest(
                run_key=submission.id,
                partition_key=key,
                job_name=analyze_image_job.name,
                tags=run_tags(submission, tiers[submission.organization_id], submission.image_reference, digest),
                run_config=analysis_run_config(submission.config),
            )
        )
    return requests, requested, shared, failures


def link_launchpad_runs(instance: DagsterInstance, session, now: datetime | None = None) -> dict[str, str]:
    """Tag each recent Launchpad run with the analysis run its submission got (or shares), once that run exists, so
    the Launchpad run's page names it. Returns {Launchpad run id: analysis run id} linked now."""
    since = (now or datetime.now(UTC)) - LINK_WINDOW
    submissions = session.scalars(
        select(Submission).where(
            Submission.source == "launchpad", Submission.created_at >= since, Submission.partition_key.is_not(None)
        )
    ).all()
    linked = {}
    for submission in submissions:
        launched = launchpad_run(submission)
        record = instance.get_run_record_by_id(launched) if launched else None
        if record is None or tags.ANALYSIS_RUN in record.dagster_run.tags:
            continue
        answered_by = submission.shared_with or submission.id
        analyses = instance.get_run_ids(RunsFilter(tags={tags.SUBMISSION: answered_by}), limit=1)
        if analyses:
            instance.add_run_tags(launched, {tags.ANALYSIS_RUN: analyses[0]})
            linked[launched] = analyses[0]
    return linked


@sensor(
    jobs=[analyze_image_job, refresh_vulnerability_db_job], minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING
)
def submission_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource, registry: RegistryResource):
    """Queued submissions become analysis runs (one per submission id, batches behind a cursor)."""
    cursor = int(context.cursor or 0)
    if context.instance.get_latest_materialization_event(AssetKey("vulnerability_db")) is None:
        # A fresh deployment: load the advisories first; submissions wait (the cursor does not move).
        return SensorResult(
            run_requests=[RunRequest(run_key="initial-vulnerability-db", job_name=refresh_vulnerability_db_job.name)]
        )
    sessions = app_db.sessions()
    with sessions() as session:
        linked = link_launchpad_runs(context.instance, session)
        if linked:
            context.log.info(f"Linked {len(linked)} Launchpad run(s) to their analysis runs: {linked}")
        batch = session.scalars(
            select(Submission)
            .where(Submission.seq > cursor, Submission.status == lifecycle.QUEUED)
            .order_by(Submission.seq)
            .limit(BATCH)
        ).all()
        if not batch:
            return SkipReason(f"No queued submissions after #{cursor}.")
        tiers = {org: organization_tier(session, org).name for org in {s.organization_id for s in batch}}
        running = session.execute(
            select(
                Submission.organization_id,
                Submission.image_digest,
                Submission.config_hash,
                Submission.fuzzing,
                Submission.observation_seconds,
                Submission.id,
            ).where(
                Submission.status.in_(lifecycle.LIVE),
                Submission.image_digest.is_not(None),
                Submission.shared_with.is_(None),
                Submission.seq <= cursor,
            )
        ).all()
    active = {lifecycle.analysis_terms(*terms): submission_id for *terms, submission_id in running}
    requests, requested, shared, failures = plan_runs(batch, customer_resolver(registry, context.instance), tiers, active)
    with sessions.begin() as session:
        for submission_id, (digest, key) in requested.items():
            lifecycle.run_requested(session, submission_id, digest, key)
        for submission_id, (digest, key, primary) in shared.items():
            lifecycle.share_run(session, submission_id, digest, key, primary)
        for submission_id, message in failures.items():
            lifecycle.fail_before_run(session, submission_id, message)
    keys = sorted({r.partition_key for r in requests} - set(context.instance.get_dynamic_partitions(image_partitions.name)))
    context.log.info(f"{len(requests)} run(s) requested, {len(shared)} shared, {len(failures)} failed to resolve")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[image_partitions.build_add_request(keys)] if keys else [],
        cursor=str(max(s.seq for s in batch)),
    )
