"""How a run ends is written back to its submissions: a failed run names the failing step and the
error's message (not a traceback) and gives the quota back, for the submission and those sharing it."""

import uuid

import pytest
from billing_helpers import make_organization
from dagster import DagsterEventType, build_run_status_sensor_context
from sqlalchemy import select
from submission_rows import stored_submission

from appdb.models import AnalysisSecret, QuotaReservation, Submission
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.sensors.run_status import submission_failed_sensor
from vexxy_pipelines.sensors.submission_intake import run_tags
from vexxy_pipelines.tags import SECRETS

pytestmark = pytest.mark.slow


def queued(app_sessions, organization: str, reference: str, shared_with: str | None = None, status: str | None = None) -> str:
    return stored_submission(
        app_sessions,
        organization,
        reference,
        priority=0,
        fuzzing=False,
        observation_seconds=60,
        status=status or ("running" if shared_with else "queued"),
        phase="run requested",
        progress=0,
        source="api",
        cancel_requested=False,
        deleted=False,
        shared_with=shared_with,
    )


def test_a_failed_run_marks_its_submissions_failed_with_step_and_message(instance, app_sessions, demo_image):
    organization = make_organization(app_sessions, tier="team")
    missing = f"{demo_image.name}@sha256:{'7' * 64}"
    primary = queued(app_sessions, organization, missing)
    sharing = queued(app_sessions, organization, missing, shared_with=primary)
    finished = queued(
        app_sessions, organization, missing, shared_with=primary, status="cancelled"
    )  # cancelled by its owner earlier
    with app_sessions() as session:
        tags = run_tags(session.get(Submission, primary), "team", missing)
    orphan = f"cli-{uuid.uuid4().hex}"  # secret values a killed `vexxy analyze` left behind for this run
    with app_sessions.begin() as session:
        session.add(AnalysisSecret(owner_id=orphan, ciphertext=b"sealed"))
    tags = {**tags, SECRETS: orphan}
    instance.add_dynamic_partitions(image_partitions.name, [missing])
    result = defs.resolve_job_def("analyze_image").execute_in_process(
        instance=instance, partition_key=missing, tags=tags, raise_on_error=False
    )
    instance.delete_dynamic_partition(image_partitions.name, missing)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE]

    context = build_run_status_sensor_context(
        sensor_name=submission_failed_sensor.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"app_db": resources_for()["app_db"]},
    ).for_run_failure()
    submission_failed_sensor(context)

    with app_sessions() as session:
        assert session.get(AnalysisSecret, orphan) is None
        rows = {row.id: row for row in session.scalars(select(Submission).where(Submission.id.in_([primary, sharing])))}
        reservations = session.scalars(
            select(QuotaReservation.status).where(QuotaReservation.submission_id.in_([primary, sharing]))
        ).all()
    for row in rows.values():
        assert (row.status, row.phase, row.error_step, row.run_id) == ("failed", "failed", "image", result.run_id)
        assert row.error_message.startswith("Image manifest not found in registry") and "7" * 64 in row.error_message
        assert "Traceback" not in row.error_message and "\n" not in row.error_message
    assert sorted(reservations) == ["released", "released"]
    with app_sessions() as session:
        untouched = session.get(Submission, finished)
    assert (untouched.status, untouched.error_step, untouched.run_id) == (
        "cancelled",
        None,
        None,
    )  # finished submissions are never revived
