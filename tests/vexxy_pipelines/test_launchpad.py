"""The Launchpad's `analyze_reference` job: a tag reference becomes the image's partition and a queued submission,
which the submission sensor turns into an `analyze_image` run like any API submission."""

import pytest
from billing_helpers import make_organization
from dagster import AssetKey, build_sensor_context
from sqlalchemy import select

from appdb.models import Submission
from vexxy.oci.partition_key import default_key
from vexxy.oci.reference import ImageReference
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import image_partitions, reference_for_partition
from vexxy_pipelines.sensors.submission_intake import submission_sensor


def launch(instance, **config):
    return defs.resolve_job_def("analyze_reference").execute_in_process(
        instance=instance, run_config={"ops": {"submit_analysis": {"config": config}}}, raise_on_error=False
    )


def failure(result) -> str:
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data.user_failure_data.description


def test_launchpad_config_has_a_ready_example():
    job = defs.resolve_job_def("analyze_reference")
    defaults = job.config_mapping.config_schema.config_type.fields["ops"].default_value["submit_analysis"]["config"]
    assert defaults["reference"].endswith("/vexxy/demo:1.0") and defaults["organization"]


def test_a_tag_reference_becomes_a_partition_and_a_submission(instance, demo_image, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    reference = f"{demo_image.name}:1.0"
    configuration = '{"env": {"MODE": "demo"}, "readiness": {"kind": "alive"}}'
    result = launch(
        instance,
        reference=reference,
        organization=organization,
        fuzzing=False,
        observation_seconds=30,
        configuration=configuration,
    )
    assert result.success
    key = default_key(demo_image)
    assert instance.has_dynamic_partition(image_partitions.name, key)
    pinned = ImageReference(demo_image.registry, demo_image.repository, None, demo_image.digest)
    assert reference_for_partition(instance, key) == pinned
    with app_sessions() as session:
        submission = session.scalar(select(Submission).where(Submission.correlation_id == f"launchpad:{result.run_id}"))
    assert (submission.organization_id, submission.source, submission.image_reference) == (organization, "launchpad", reference)
    assert submission.config["env"] == {"MODE": "demo"} and submission.config_hash
    assert (submission.status, submission.fuzzing, submission.observation_seconds, submission.priority) == (
        "queued",
        False,
        30,
        10,  # the team tier's band starts at 10
    )

    if instance.get_latest_materialization_event(AssetKey("vulnerability_db")) is None:
        assert defs.resolve_job_def("refresh_vulnerability_db").execute_in_process(instance=instance).success
    resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
    context = build_sensor_context(instance=instance, cursor=str(submission.seq - 1), resources=resources)
    (request,) = [r for r in submission_sensor(context).run_requests if r.run_key == submission.id]
    assert request.partition_key == key and request.job_name == "analyze_image"
    assert request.tags["vexxy/manifest_digest"] == demo_image.digest and request.tags["vexxy/reference"] == reference
    assert request.tags["vexxy/organization"] == organization and request.tags["vexxy/config_hash"] == submission.config_hash
    with app_sessions.begin() as session:  # leave nothing queued for other tests
        session.get(Submission, submission.id).status = "cancelled"


@pytest.mark.parametrize(
    "config, message",
    [
        ({"reference": "10.1.2.3:5000/team/app:1.0"}, "10.1.2.3"),  # internal: refused before any connection
        ({"reference": "Not A Reference"}, "malformed"),
        ({"organization": "no-such-organization"}, "not known"),
        ({"observation_seconds": 3600}, "observes for at most"),
        ({"configuration": '{"secret_env": {"TOKEN": "s3cret"}}'}, "no secret_env"),
        ({"configuration": '{"command": 7}'}, "configuration is invalid"),
    ],
)
def test_refused_launches_say_why_and_queue_nothing(instance, demo_image, app_sessions, config, message):
    organization = make_organization(app_sessions, tier="free")
    result = launch(instance, **{"reference": f"{demo_image.name}:1.0", "organization": organization, **config})
    assert not result.success and message in failure(result)
    with app_sessions() as session:
        assert session.scalar(select(Submission).where(Submission.correlation_id == f"launchpad:{result.run_id}")) is None
