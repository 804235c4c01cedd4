"""Turn customers' submissions into analysis runs, and write back how each run ends.

- `submission_sensor`: queued submissions, in bounded batches behind a monotonic cursor (their
  sequence number), highest priority first within a batch; each becomes a run of
  `analyze_image` with `run_key = submission id` (so a tick that fails after submitting some runs
  loses none and duplicates none when it is retried). Per-organization concurrency comes from the
  run queue (tag concurrency limits per tier, see `vexxy_pipelines.instance`), priority from
  `dagster/priority`. A second submission of a digest an organization is already analyzing
  shares that run.
- run status sensors: started → running; success → complete; failure → failed with the failing
  step and the error's message; cancel → cancelled. A progress sensor follows step events, and a
  cancellation sensor terminates runs whose submission was cancelled through the API.
"""

from __future__ import annotations

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from sqlalchemy import or_, select, update

from billing.quota import organization_tier, release
from billing.submissions import Submission
from vexxy.errors import VexxyError
from vexxy.oci.reference import parse_reference
from vexxy_pipelines.assets.billing import ORGANIZATION_TAG, SUBMISSION_TAG
from vexxy_pipelines.assets.sandbox import FUZZING_TAG, OBSERVATION_TAG
from vexxy_pipelines.jobs import analyze_image_job, refresh_vulnerability_db_job
from vexxy_pipelines.partitions import REFERENCE_TAG, image_partitions
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

BATCH = 500
CORRELATION_TAG = "vexxy/correlation_id"
LIVE = ("queued", "running")
PRIORITY_TAG = "vexxy/priority"
STEPS = ("image", "sbom", "sandbox_session", "filtered_sbom", "vulnerabilities", "vex_document", "billing_record")


def concurrency_tag(tier: str) -> str:
    """One tag key per tier; the run queue limits concurrent runs per unique value (organization)."""
    return f"vexxy/concurrency-{tier}"


def run_tags(submission: Submission, tier: str, reference: str) -> dict[str, str]:
    return {
        ORGANIZATION_TAG: submission.organization_id,
        SUBMISSION_TAG: submission.id,
        PRIORITY_TAG: str(submission.priority),
        CORRELATION_TAG: submission.correlation_id,
        REFERENCE_TAG: reference,
        "dagster/priority": str(submission.priority),
        OBSERVATION_TAG: str(submission.observation_seconds),
        FUZZING_TAG: "true" if submission.fuzzing else "false",
        concurrency_tag(tier): submission.organization_id,
    }


def plan_runs(submissions: list[Submission], resolve, tiers: dict[str, str], active: dict[tuple[str, str], str]):
    """Decide, without side effects: which submissions get runs, which share one, which fail."""
    requests, updates, failures = [], {}, {}
    for submission in sorted(submissions, key=lambda s: (-s.priority, s.seq)):
        try:
            key = resolve(submission.image_reference)
        except VexxyError as exc:
            failures[submission.id] = str(exc)
            continue
        digest = key.split("@", 1)[1]
        primary = active.get((submission.organization_id, digest))
        if primary and primary != submission.id:
            updates[submission.id] = {
                "image_digest": digest,
                "partition_key": key,
                "shared_with": primary,
                "status": "running",
                "phase": "sharing a running analysis",
            }
            continue
        active[(submission.organization_id, digest)] = submission.id
        updates[submission.id] = {"image_digest": digest, "partition_key": key, "phase": "run requested"}
        requests.append(
            RunRequest(
                run_key=submission.id,
                partition_key=key,
                job_name=analyze_image_job.name,
                tags=run_tags(submission, tiers[submission.organization_id], submission.image_reference),
            )
        )
    return requests, updates, failures


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
        batch = session.scalars(
            select(Submission).where(Submission.seq > cursor, Submission.status == "queued").order_by(Submission.seq).limit(BATCH)
        ).all()
        if not batch:
            return SkipReason(f"No queued submissions after #{cursor}.")
        tiers = {org: organization_tier(session, org).name for org in {s.organization_id for s in batch}}
        running = session.execute(
            select(Submission.organization_id, Submission.image_digest, Submission.id).where(
                Submission.status.in_(LIVE),
                Submission.image_digest.is_not(None),
                Submission.shared_with.is_(None),
                Submission.seq <= cursor,
            )
        ).all()
    active = {(org, digest): submission_id for org, digest, submission_id in running}
    resolved: dict[str, str] = {}

    def resolve(reference: str) -> str:
        if reference not in resolved:
            resolved[reference] = registry.resolve(parse_reference(reference)).canonical
        return resolved[reference]

    requests, updates, failures = plan_runs(batch, resolve, tiers, active)
    with sessions.begin() as session:
        for submission_id, values in updates.items():
            session.execute(
                update(Submission).where(Submission.id == submission_id, Submission.status == "queued").values(**values)
            )
        for submission_id, message in failures.items():
            session.execute(
                update(Submission)
                .where(Submission.id == submission_id)
                .values(status="failed", phase="failed", error_step="submission", error_message=message)
            )
            row = session.get(Submission, submission_id)
            release(session, row.organization_id, submission_id)
    keys = sorted({r.partition_key for r in requests} - set(context.instance.get_dynamic_partitions(image_partitions.name)))
    context.log.info(
        f"{len(requests)} run(s) requested, {len(updates) - len(requests)} shared, {len(failures)} failed to resolve"
    )
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[image_partitions.build_add_request(keys)] if keys else [],
        cursor=str(max(s.seq for s in batch)),
    )


def _submission_ids(run) -> str | None:
    return run.tags.get(SUBMISSION_TAG)


def _mark(app_db: AppDatabaseResource, submission_id: str, release_quota: bool = False, **values) -> list[str]:
    """Update a live (queued or running) submission and those sharing its run; a finished one is never
    revived, e.g. by a re-execution launched from the UI, which copies the run's tags. A failed or
    cancelled run gives the reservations back. Returns the ids updated."""
    sessions = app_db.sessions()
    with sessions.begin() as session:
        rows = session.execute(
            update(Submission)
            .where(or_(Submission.id == submission_id, Submission.shared_with == submission_id), Submission.status.in_(LIVE))
            .values(**values)
            .returning(Submission.id, Submission.organization_id)
        ).all()
        if release_quota:
            for row_id, organization_id in rows:
                release(session, organization_id, row_id)
    return [row_id for row_id, _ in rows]


@run_status_sensor(
    run_status=DagsterRunStatus.STARTED, monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING
)
def submission_started_sensor(context: RunStatusSensorContext, app_db: AppDatabaseResource):
    """A started run marks its submission running; a run nobody wants any more (cancelled before it started) is stopped."""
    if submission := _submission_ids(context.dagster_run):
        if not _mark(app_db, submission, status="running", phase="started", run_id=context.dagster_run.run_id):
            with app_db.sessions()() as session:
                status = session.scalar(select(Submission.status).where(Submission.id == submission))
            if status == "cancelled":
                context.instance.run_launcher.terminate(context.dagster_run.run_id)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING
)
def submission_complete_sensor(context: RunStatusSensorContext, app_db: AppDatabaseResource):
    """A successful run marks its submission (and those sharing it) complete."""
    if submission := _submission_ids(context.dagster_run):
        _mark(app_db, submission, status="complete", phase="complete", progress=100, run_id=context.dagster_run.run_id)


@run_status_sensor(
    run_status=DagsterRunStatus.CANCELED, monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING
)
def submission_cancelled_sensor(context: RunStatusSensorContext, app_db: AppDatabaseResource):
    """A terminated run marks its submission cancelled and gives its quota back."""
    if submission := _submission_ids(context.dagster_run):
        _mark(app_db, submission, release_quota=True, status="cancelled", phase="cancelled", run_id=context.dagster_run.run_id)


def failing_step(instance, run_id: str) -> tuple[str, str]:
    records = instance.get_records_for_run(run_id, of_type={DagsterEventType.STEP_FAILURE}).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return event.step_key, data.user_failure_data.description
        if data.error:
            return event.step_key, data.error.message.strip().splitlines()[0][:1000]
    return "run", "the run failed before any step did (see the run's logs)"


@run_failure_sensor(monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING)
def submission_failed_sensor(context: RunFailureSensorContext, app_db: AppDatabaseResource):
    """A failed run marks its submission failed with the failing step and the error's message."""
    if submission := _submission_ids(context.dagster_run):
        step, message = failing_step(context.instance, context.dagster_run.run_id)
        _mark(
            app_db,
            submission,
            release_quota=True,
            status="failed",
            phase="failed",
            error_step=step,
            error_message=message,
            run_id=context.dagster_run.run_id,
        )


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def submission_progress_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource):
    """Running submissions follow their run's steps (phase = current step, progress = steps done)."""
    sessions = app_db.sessions()
    with sessions() as session:
        running = session.execute(
            select(Submission.id, Submission.run_id).where(Submission.status == "running", Submission.run_id.is_not(None))
        ).all()
    for submission_id, run_id in running[:200]:
        records = context.instance.get_records_for_run(
            run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
        ).records
        done = {
            r.event_log_entry.dagster_event.step_key
            for r in records
            if r.event_log_entry.dagster_event.event_type == DagsterEventType.STEP_SUCCESS
        }
        started = [
            r.event_log_entry.dagster_event.step_key
            for r in records
            if r.event_log_entry.dagster_event.event_type == DagsterEventType.STEP_START
        ]
        current = next((step for step in reversed(started) if step not in done), "started")
        _mark(app_db, submission_id, phase=current, progress=int(100 * len(done) / len(STEPS)))
    return SkipReason(f"Followed {len(running)} running submission(s).")


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def cancellation_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource):
    """End the runs of submissions cancelled through the API: a run still in Dagster's queue is marked
    cancelled and never starts, a running one is terminated (its sandbox cleans up). A request stays
    pending until no run of the submission is left unfinished."""
    sessions = app_db.sessions()
    with sessions() as session:
        wanted = session.scalars(select(Submission.id).where(Submission.cancel_requested.is_(True))).all()
    ended, done = 0, []
    for submission_id in wanted:
        unfinished = [
            run
            for run in context.instance.get_runs(filters=RunsFilter(tags={SUBMISSION_TAG: submission_id}))
            if not run.is_finished
        ]
        for run in unfinished:
            if run.status == DagsterRunStatus.QUEUED:
                context.instance.report_run_canceled(run, message="Cancelled by the customer before it started.")
            elif run.status != DagsterRunStatus.CANCELING:
                context.instance.run_launcher.terminate(run.run_id)
            ended += 1
        if not unfinished:
            done.append(submission_id)
    if done:
        with sessions.begin() as session:
            session.execute(update(Submission).where(Submission.id.in_(done)).values(cancel_requested=False))
    return SkipReason(f"Ended {ended} run(s) of {len(wanted)} cancelled submission(s).")
