"""How each analysis run goes, written back to its submissions (and those sharing its run).

started → running; success → complete; failure → failed with the failing step and the error's
message; cancel → cancelled. A progress sensor follows step events, and a cancellation sensor ends
runs whose submission was cancelled through the API. The transitions are `submissions.lifecycle`'s.
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunsFilter,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from sqlalchemy import select, update

from appdb.models import Submission
from submissions import lifecycle
from submissions.secrets import drop_secrets
from vexxy_pipelines import tags
from vexxy_pipelines.jobs import analyze_image_job
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.steps import failing_step, step_progress

PROGRESS_BATCH = 200


def _submission_id(run) -> str | None:
    return run.tags.get(tags.SUBMISSION)


def _forget_secrets(run, app_db: AppDatabaseResource) -> None:
    """A run that ended needs its secret values no more, whoever stored them (a submission, or a `vexxy analyze`
    that was killed before it could forget them itself)."""
    if owner := run.tags.get(tags.SECRETS):
        with app_db.sessions().begin() as session:
            drop_secrets(session, [owner])


@run_status_sensor(
    run_status=DagsterRunStatus.STARTED, monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING
)
def submission_started_sensor(context: RunStatusSensorContext, app_db: AppDatabaseResource):
    """A started run marks its submission running; a run nobody wants any more (cancelled before it started) is stopped."""
    if submission := _submission_id(context.dagster_run):
        sessions = app_db.sessions()
        with sessions.begin() as session:
            updated = lifecycle.run_started(session, submission, context.dagster_run.run_id)
        if not updated:
            with sessions() as session:
                status = session.scalar(select(Submission.status).where(Submission.id == submission))
            if status == lifecycle.CANCELLED:
                context.instance.run_launcher.terminate(context.dagster_run.run_id)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING
)
def submission_complete_sensor(context: RunStatusSensorContext, app_db: AppDatabaseResource):
    """A successful run marks its submission (and those sharing it) complete."""
    _forget_secrets(context.dagster_run, app_db)
    if submission := _submission_id(context.dagster_run):
        with app_db.sessions().begin() as session:
            lifecycle.run_succeeded(session, submission, context.dagster_run.run_id)


@run_status_sensor(
    run_status=DagsterRunStatus.CANCELED, monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING
)
def submission_cancelled_sensor(context: RunStatusSensorContext, app_db: AppDatabaseResource):
    """A terminated run marks its submission cancelled and gives its quota back."""
    _forget_secrets(context.dagster_run, app_db)
    if submission := _submission_id(context.dagster_run):
        with app_db.sessions().begin() as session:
            lifecycle.run_cancelled(session, submission, context.dagster_run.run_id)


@run_failure_sensor(monitored_jobs=[analyze_image_job], default_status=DefaultSensorStatus.RUNNING)
def submission_failed_sensor(context: RunFailureSensorContext, app_db: AppDatabaseResource):
    """A failed run marks its submission failed with the failing step and the error's message."""
    _forget_secrets(context.dagster_run, app_db)
    if submission := _submission_id(context.dagster_run):
        step, message = failing_step(context.instance, context.dagster_run.run_id)
        with app_db.sessions().begin() as session:
            lifecycle.run_failed(session, submission, context.dagster_run.run_id, step, message)


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def submission_progress_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource):
    """Running submissions follow their run's steps (phase = current step, progress = steps done)."""
    sessions = app_db.sessions()
    with sessions() as session:
        running = session.execute(
            select(Submission.id, Submission.run_id).where(Submission.status == lifecycle.RUNNING, Submission.run_id.is_not(None))
        ).all()
    for submission_id, run_id in running[:PROGRESS_BATCH]:
        progress = step_progress(context.instance, run_id)
        with sessions.begin() as session:
            lifecycle.run_progressed(session, submission_id, progress.current or "started", progress.percent())
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
            for run in context.instance.get_runs(filters=RunsFilter(tags={tags.SUBMISSION: submission_id}))
            if not run.is_finished
        ]
        for run in unfinished:
            if run.status == DagsterRunStatus.QUEUED:
                context.instance.report_run_canceled(run, message="Cancelled by the customer before it started.")
                ended += 1
            elif run.status == DagsterRunStatus.STARTED:
                context.instance.run_launcher.terminate(run.run_id)
                ended += 1
            # STARTING: the queue has handed the run to a worker that has not taken it yet (possibly
            # just after it was cancelled in the queue). Terminating now would leave it CANCELING for
            # a worker that refuses to start a run in that state, so it would end FAILED; it is
            # terminated on a later tick, once STARTED. CANCELING: already on its way out.
        if not unfinished:
            done.append(submission_id)
    if done:
        with sessions.begin() as session:
            session.execute(update(Submission).where(Submission.id.in_(done)).values(cancel_requested=False))
    return SkipReason(f"Ended {ended} run(s) of {len(wanted)} cancelled submission(s).")
