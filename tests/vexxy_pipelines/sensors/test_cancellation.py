"""Cancelling through the API ends the run CANCELED, including when Dagster's queue hands the run to a
worker at the moment it is cancelled: a run is terminated only once its worker owns it."""

from billing_helpers import make_organization
from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, build_sensor_context
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.storage.dagster_run import DagsterRun
from submission_rows import stored_submission

from appdb.models import Submission
from vexxy_pipelines import tags
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.sensors.run_status import cancellation_sensor


def cancel_requested(app_sessions) -> str:
    organization = make_organization(app_sessions, tier="team")
    return stored_submission(
        app_sessions, organization, "127.0.0.1:5000/app@sha256:" + "a" * 64, status="running", cancel_requested=True
    )


def advance(instance, run_id: str, event_type: DagsterEventType) -> None:
    instance.report_dagster_event(DagsterEvent(event_type_value=event_type.value, job_name="analyze_image"), run_id=run_id)


def tick(instance) -> None:
    """One evaluation of the sensor (other tests' cancelled submissions may be in the same database)."""
    cancellation_sensor(build_sensor_context(instance=instance, resources={"app_db": AppDatabaseResource()}))


def pending(app_sessions, submission_id: str) -> bool:
    with app_sessions() as session:
        return session.get(Submission, submission_id).cancel_requested


def test_a_run_dequeued_as_it_is_cancelled_is_terminated_once_its_worker_owns_it(instance, app_sessions):
    submission_id = cancel_requested(app_sessions)
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("vexxy"), "__repository__"), "analyze_image")
    run = instance.add_run(DagsterRun(job_name="analyze_image", tags={tags.SUBMISSION: submission_id}, remote_job_origin=origin))
    advance(instance, run.run_id, DagsterEventType.PIPELINE_ENQUEUED)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.QUEUED

    tick(instance)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELED

    # The queue had read the run as QUEUED just before and hands it to a worker anyway.
    advance(instance, run.run_id, DagsterEventType.PIPELINE_STARTING)
    tick(instance)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTING  # a worker accepts it only so
    assert pending(app_sessions, submission_id)

    advance(instance, run.run_id, DagsterEventType.PIPELINE_START)
    tick(instance)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELING
    tick(instance)  # asked once; the request stays open until the run has ended
    assert pending(app_sessions, submission_id)

    advance(instance, run.run_id, DagsterEventType.PIPELINE_CANCELED)
    tick(instance)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELED
    assert not pending(app_sessions, submission_id)
