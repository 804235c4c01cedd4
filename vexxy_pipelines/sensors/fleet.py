"""Refresh `fleet_posture` after new VEX documents: one run for however many arrived since the last one."""

from __future__ import annotations

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from vexxy_pipelines.jobs import refresh_fleet_posture_job

_UNFINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


@sensor(job=refresh_fleet_posture_job, minimum_interval_seconds=15, default_status=DefaultSensorStatus.RUNNING)
def fleet_posture_sensor(context: SensorEvaluationContext):
    """The cursor is the newest `vex_document` materialization already added up (its storage id)."""
    latest = context.instance.fetch_materializations(AssetKey("vex_document"), limit=1).records
    if not latest:
        return SkipReason("No image has a VEX document yet.")
    newest, seen = latest[0].storage_id, int(context.cursor or 0)
    if newest <= seen:
        return SkipReason("The fleet's posture already includes every VEX document.")
    unfinished = context.instance.get_runs(RunsFilter(job_name=refresh_fleet_posture_job.name, statuses=_UNFINISHED), limit=1)
    if unfinished:  # the cursor stays: the next tick after that run adds up what it may have missed
        return SkipReason(f"Waiting for run {unfinished[0].run_id} to finish.")
    context.update_cursor(str(newest))
    return RunRequest(run_key=f"fleet-posture-{newest}")
