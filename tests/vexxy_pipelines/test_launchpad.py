"""The Launchpad's `analyze_reference` job: a tag reference becomes the image's partition and a queued submission,
which the submission sensor turns into an `analyze_image` run like any API submission."""

import json
import uuid

import pytest
from billing_helpers import make_organization
from dagster import AssetKey, DagsterInvalidConfigError, build_sensor_context
from sqlalchemy import select, text

from appdb.models import Submission
from vexxy.config.public_form import from_public
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
    configuration = {"env": {"MODE": "demo"}, "readiness": {"kind": "alive"}}
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
        ({"configuration": {"working_dir": "relative"}}, "working_dir: working_dir must be an absolute path"),
    ],
)
def test_refused_launches_say_why_and_queue_nothing(instance, demo_image, app_sessions, config, message):
    organization = make_organization(app_sessions, tier="free")
    result = launch(instance, **{"reference": f"{demo_image.name}:1.0", "organization": organization, **config})
    assert not result.success and message in failure(result)
    with app_sessions() as session:
        assert session.scalar(select(Submission).where(Submission.correlation_id == f"launchpad:{result.run_id}")) is None


def test_a_role_inherits_what_the_launchpad_left_out(instance, demo_image, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    configuration = {
        "command": ["python3", "-m", "app"],
        "working_dir": "/srv",
        "roles": [{"name": "web"}, {"name": "job", "command": ["python3", "-m", "job"]}],
    }
    result = launch(instance, reference=f"{demo_image.name}:1.0", organization=organization, configuration=configuration)
    assert result.success
    with app_sessions.begin() as session:
        submission = session.scalar(select(Submission).where(Submission.correlation_id == f"launchpad:{result.run_id}"))
        web, job = from_public(submission.config, None).effective_roles()
        submission.status = "cancelled"  # leave nothing queued for other tests
    assert (web.command, web.working_dir) == (["python3", "-m", "app"], "/srv")  # left out: the top level's
    assert (job.command, job.working_dir) == (["python3", "-m", "job"], "/srv")


def stored_runs_holding(instance, secret: str) -> list[str]:
    """Runs (their whole stored body, run config included) and events in the instance's storage naming `secret`."""
    with instance.run_storage.connect() as connection:
        bodies = [row[0] for row in connection.execute(text("SELECT run_body FROM runs"))]
    with instance.event_log_storage.index_connection() as connection:
        events = [row[0] for row in connection.execute(text("SELECT event FROM event_logs"))]
    return [body[:80] for body in bodies + events if secret in body]


@pytest.mark.parametrize(
    "configuration",
    [
        {"secret_env": {"API_TOKEN": "{secret}"}},
        {"env": {"MODE": "demo"}, "roles": [{"name": "web", "secret_env": {"API_TOKEN": "{secret}"}}]},
        '{"secret_env": {"API_TOKEN": "{secret}"}}',  # the JSON the field took before: not a configuration any more
    ],
)
def test_a_secret_is_refused_at_launch_before_a_run_is_stored(instance, app_sessions, configuration):
    secret = f"tok-{uuid.uuid4().hex}"
    organization = make_organization(app_sessions, tier="team")
    filled = json.loads(json.dumps(configuration).replace("{secret}", secret))
    run_config = {
        "ops": {
            "submit_analysis": {
                "config": {"reference": "r.example.com/a:1", "organization": organization, "configuration": filled}
            }
        }
    }
    job = defs.resolve_job_def("analyze_reference")
    runs_before = instance.get_runs_count()
    with pytest.raises(DagsterInvalidConfigError) as launched:
        job.execute_in_process(instance=instance, run_config=run_config)
    assert "configuration" in str(launched.value) and secret not in str(launched.value)
    with pytest.raises(DagsterInvalidConfigError) as created:
        instance.create_run_for_job(job, run_config=run_config)
    assert secret not in str(created.value)
    assert instance.get_runs_count() == runs_before
    assert stored_runs_holding(instance, secret) == []
    # What the storage check would find: a plain variable's value is kept with its run.
    plain = {"env": {"MODE": secret}}
    job.execute_in_process(
        instance=instance,
        run_config=json.loads(json.dumps(run_config).replace(json.dumps(filled), json.dumps(plain))),
        raise_on_error=False,
    )
    assert stored_runs_holding(instance, secret) != []


def test_the_launchpad_schema_is_the_apis_configuration_without_secret_env():
    """Every field the API's configuration has, but the secret one, at the top level and in a role."""
    from vexxy.config.model import AnalysisConfig, ReadinessConfig, RoleConfig, ScanSeeds
    from vexxy_pipelines.launchpad import LaunchpadConfiguration, LaunchpadReadiness, LaunchpadRole, LaunchpadScan

    assert set(LaunchpadConfiguration.model_fields) == set(AnalysisConfig.model_fields) - {"secret_env"}
    assert set(LaunchpadRole.model_fields) == set(RoleConfig.model_fields) - {"secret_env"}
    assert set(LaunchpadReadiness.model_fields) == set(ReadinessConfig.model_fields)
    assert set(LaunchpadScan.model_fields) == set(ScanSeeds.model_fields)
