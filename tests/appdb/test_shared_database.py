"""Dagster's storage and the application database in one PostgreSQL database (docs/configuration.md allows one
DATABASE_URL for both): each keeps its own migration history, runs and submissions round-trip."""

import pytest
from alembic.script import ScriptDirectory
from billing_helpers import make_organization
from dagster import DagsterEventType, build_run_status_sensor_context, build_sensor_context, instance_for_test
from sqlalchemy import create_engine, inspect, select, text
from submission_rows import stored_submission

from appdb.engine import database_url, make_engine, make_sessionmaker
from appdb.migrate import LEGACY_VERSION_TABLE, MIGRATIONS, VERSION_TABLE, upgrade
from appdb.models import QuotaReservation, Submission
from vexxy.oci.build import RuntimeConfig, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.sensors.run_status import submission_failed_sensor
from vexxy_pipelines.sensors.submission_intake import run_tags, submission_sensor

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()

pytestmark = pytest.mark.slow


def versions(url: str) -> dict[str, list[str]]:
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            return {
                table: connection.execute(text(f"SELECT version_num FROM {table}")).scalars().all()
                for table in (VERSION_TABLE, LEGACY_VERSION_TABLE)
                if table in present
            }
    finally:
        engine.dispose()


def test_dagster_and_the_application_share_one_postgresql_database(postgres_database, registry):
    url = postgres_database
    upgrade(url)  # the application first, then Dagster's storage, then the application again
    with instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as instance:
        upgrade(url)
        history = versions(url)
        assert history[VERSION_TABLE] == [HEAD]
        assert len(history[LEGACY_VERSION_TABLE]) == 1 and history[LEGACY_VERSION_TABLE] != [HEAD]  # Dagster's own

        # A real run stored in the shared database: the advisory snapshot the submission sensor waits for.
        assert defs.resolve_job_def("refresh_vulnerability_db").execute_in_process(instance=instance).success

        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        organization = make_organization(sessions, tier="team")
        ref = parse_reference(f"{registry.address}/vexxy/shared-db:1")
        push_image(RegistryClient(), ref, [layer_from_entries([file_entry("hello", "hi")])], RuntimeConfig(), tag="1")

        queued = stored_submission(sessions, organization, str(ref))
        resources = {"app_db": AppDatabaseResource(url=url), "registry": RegistryResource(allowed_registries="127.0.0.1")}
        result = submission_sensor(build_sensor_context(instance=instance, cursor="0", resources=resources))
        (request,) = result.run_requests
        assert request.run_key == queued and "vexxy/shared-db@" in request.partition_key
        with sessions() as session:
            row = session.get(Submission, queued)
            assert (row.status, row.phase, row.partition_key) == ("queued", "run requested", request.partition_key)

        # A real failed run in the shared database, written back to its submission by the failure sensor.
        missing = f"{registry.address}/vexxy/shared-db@sha256:{'7' * 64}"
        failing = stored_submission(sessions, organization, missing)
        with sessions() as session:
            tags = run_tags(session.get(Submission, failing), "team", missing)
        instance.add_dynamic_partitions(image_partitions.name, [missing])
        run = defs.resolve_job_def("analyze_image").execute_in_process(
            instance=instance, partition_key=missing, tags=tags, raise_on_error=False
        )
        assert not run.success
        (failure,) = [e for e in run.all_events if e.event_type == DagsterEventType.RUN_FAILURE]
        submission_failed_sensor(
            build_run_status_sensor_context(
                sensor_name=submission_failed_sensor.name,
                dagster_event=failure,
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(run.run_id),
                resources={"app_db": AppDatabaseResource(url=url)},
            ).for_run_failure()
        )
        with sessions() as session:
            row = session.get(Submission, failing)
            reservation = session.scalar(select(QuotaReservation.status).where(QuotaReservation.submission_id == failing))
        assert (row.status, row.error_step, row.run_id, reservation) == ("failed", "image", run.run_id, "released")
        engine.dispose()

    # Dagster's storage opens again on the database that now holds both.
    with instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as reopened:
        assert reopened.get_run_by_id(run.run_id).is_failure
