"""The Launchpad's `analyze_reference` job: a tag reference becomes the image's partition and a queued submission,
which the submission sensor turns into an `analyze_image` run like any API submission."""

import json
import socket
import time
import uuid

import pytest
from app_databases import open_app_database
from billing_helpers import make_organization
from dagster import AssetKey, DagsterInvalidConfigError, RunsFilter, build_sensor_context
from sqlalchemy import select, text

from appdb.models import Organization, Submission
from vexxy.config.public_form import from_public
from vexxy.oci.partition_key import default_key
from vexxy.oci.reference import ImageReference
from vexxy_pipelines import tags
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.launchpad import PLACEHOLDER_ORGANIZATION, PLACEHOLDER_REFERENCE, launchpad_defaults
from vexxy_pipelines.partitions import image_partitions, reference_for_partition
from vexxy_pipelines.sensors.submission_intake import submission_sensor


def launch(instance, **config):
    return defs.resolve_job_def("analyze_reference").execute_in_process(
        instance=instance, run_config={"ops": {"submit_analysis": {"config": config}}}, raise_on_error=False
    )


def failure(result) -> str:
    """The step's failure as the run page shows it: one line, no traceback, no chained error with its own."""
    (event,) = [e for e in result.all_events if e.is_step_failure]
    description = event.step_failure_data.user_failure_data.description
    error = event.step_failure_data.error
    assert description == " ".join(description.split())  # one line
    assert error.message.strip().endswith(description) and error.cause is None and error.context is None
    assert "Traceback" not in error.to_string() and "The above exception" not in error.to_string()
    return description


def job_defaults() -> dict:
    job = defs.resolve_job_def("analyze_reference")
    return job.config_mapping.config_schema.config_type.fields["ops"].default_value["submit_analysis"]["config"]


def test_launchpad_config_shows_every_field_with_its_default():
    assert set(job_defaults()) == {"reference", "organization", "platform", "fuzzing", "observation_seconds", "priority"}
    assert {k: job_defaults()[k] for k in ("platform", "fuzzing", "observation_seconds", "priority")} == {
        "platform": None,
        "fuzzing": True,
        "observation_seconds": None,
        "priority": 0,
    }


def push_demo(registry_root, port: int) -> None:
    """What `vexxy demo` leaves in the local registry's directory: its configuration and the demo tag."""
    link = registry_root / "data/docker/registry/v2/repositories/vexxy/demo/_manifests/tags/1.0/current/link"
    link.parent.mkdir(parents=True)
    link.write_text("sha256:" + "0" * 64)
    (registry_root / "config.yml").write_text(f"version: 0.1\nhttp:\n  addr: 127.0.0.1:{port}\n")


def test_the_default_reference_is_the_pushed_demo_image_on_the_registry_that_holds_it(tmp_path, monkeypatch):
    monkeypatch.setenv("VEXXY_DEMO_REGISTRY_PORT", "5077")
    assert launchpad_defaults(registry_root=tmp_path / "none")["reference"] == PLACEHOLDER_REFERENCE
    push_demo(tmp_path / "registry", 5055)
    assert launchpad_defaults(registry_root=tmp_path / "registry")["reference"] == "127.0.0.1:5055/vexxy/demo:1.0"
    (tmp_path / "registry" / "config.yml").unlink()  # a registry directory from elsewhere: the configured port
    assert launchpad_defaults(registry_root=tmp_path / "registry")["reference"] == "127.0.0.1:5077/vexxy/demo:1.0"
    monkeypatch.setenv("VEXXY_HOME", str(tmp_path))  # the definitions' own look: VEXXY_HOME's registry
    assert launchpad_defaults()["reference"] == "127.0.0.1:5077/vexxy/demo:1.0"


def test_the_default_organization_is_the_first_one_created(app_database):
    from submissions.organizations import create_organization

    placeholder = PLACEHOLDER_ORGANIZATION
    if app_database.url.startswith("sqlite"):  # a fresh file: nobody yet
        assert launchpad_defaults(database=app_database.url)["organization"] == placeholder
    names = [f"first-{i}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    for name in names:
        with app_database.sessions.begin() as session:
            create_organization(session, name, "free")
    with app_database.sessions() as session:
        (oldest, *_) = session.scalars(select(Organization.name).order_by(Organization.created_at, Organization.id)).all()
    assert launchpad_defaults(database=app_database.url)["organization"] == oldest
    if app_database.url.startswith("sqlite"):
        assert oldest == names[0]


def test_no_organization_is_named_when_the_database_cannot_answer(tmp_path, monkeypatch):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    assert launchpad_defaults(database=f"postgresql://postgres@127.0.0.1:{port}/none")["organization"] == (
        PLACEHOLDER_ORGANIZATION
    )
    assert launchpad_defaults(database=f"sqlite:///{tmp_path / 'absent.db'}")["organization"] == PLACEHOLDER_ORGANIZATION
    assert not (tmp_path / "absent.db").exists()  # looking does not create the zero-setup database
    (tmp_path / "empty.db").write_bytes(b"")  # a file with no schema yet
    assert launchpad_defaults(database=f"sqlite:///{tmp_path / 'empty.db'}")["organization"] == PLACEHOLDER_ORGANIZATION
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")  # the SQLite default's directory cannot be made under it
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("VEXXY_HOME", str(not_a_directory / "vexxy"))
    assert launchpad_defaults()["organization"] == PLACEHOLDER_ORGANIZATION
    assert time.monotonic() - started < 10


def test_the_ready_example_launches_as_it_is(instance, registry, demo_image, tmp_path, monkeypatch):
    """The Launchpad default, read from a real registry's directory after the demo image was pushed to it and from a
    new deployment's application database (the SQLite default) after its first organization was created, is a
    launch that works as it is."""
    from submissions.organizations import create_organization

    with open_app_database("sqlite", tmp_path) as database:
        with database.sessions.begin() as session:
            organization = create_organization(session, "acme", "team")
        monkeypatch.setenv("DATABASE_URL", database.url)  # the deployment's application database
        defaults = launchpad_defaults(registry_root=registry.root)
        assert (defaults["reference"], defaults["organization"]) == (f"{demo_image.name}:1.0", "acme")
        result = launch(instance, **defaults)
        assert result.success
        with database.sessions() as session:
            submission = session.scalar(select(Submission).where(Submission.correlation_id == f"launchpad:{result.run_id}"))
        assert (submission.organization_id, submission.image_reference) == (organization, defaults["reference"])


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

    # Linked both ways: the analysis run names the Launchpad run; once it exists, the Launchpad run names it.
    assert request.tags[tags.LAUNCHED_BY] == result.run_id
    (output,) = [e for e in result.all_events if e.is_successful_output]
    link = output.step_output_data.metadata["analysis_runs"].value
    assert link == f"/runs?q%5B0%5D=tag%3Avexxy%2Flaunched_by%3D{result.run_id}"
    analysis = instance.create_run_for_job(  # what the daemon does with the sensor's request
        defs.resolve_job_def(request.job_name),
        run_config=request.run_config,
        tags={**request.tags, tags.DAGSTER_PARTITION: request.partition_key},
    )
    assert tags.ANALYSIS_RUN not in instance.get_run_by_id(result.run_id).tags
    context = build_sensor_context(instance=instance, cursor=str(submission.seq), resources=resources)
    submission_sensor(context)  # the next tick
    assert instance.get_run_by_id(result.run_id).tags[tags.ANALYSIS_RUN] == analysis.run_id
    assert instance.get_runs_count(RunsFilter(tags={tags.LAUNCHED_BY: result.run_id})) == 1
    with app_sessions.begin() as session:  # leave nothing queued for other tests
        session.get(Submission, submission.id).status = "cancelled"
    instance.delete_run(analysis.run_id)


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
