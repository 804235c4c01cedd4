"""The single Definitions object of the vexxy code location."""

from __future__ import annotations

from dagster import Definitions

from vexxy_pipelines.assets.attestation import vex_attestation
from vexxy_pipelines.assets.billing import billing_record
from vexxy_pipelines.assets.filtered_sbom import filtered_sbom
from vexxy_pipelines.assets.fleet import fleet_posture
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.imports import first_party_imports
from vexxy_pipelines.assets.sandbox import sandbox_session
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.assets.vulnerabilities import vulnerabilities
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.environment import executor_for, resources_for
from vexxy_pipelines.jobs import (
    analyze_image_job,
    reevaluate_image_job,
    refresh_fleet_posture_job,
    refresh_vulnerability_db_job,
)
from vexxy_pipelines.launchpad import analyze_reference, remove_image_partition_job
from vexxy_pipelines.sensors.billing import billing_retry_sensor
from vexxy_pipelines.sensors.fleet import fleet_posture_sensor
from vexxy_pipelines.sensors.partition_guard import partition_guard_sensor
from vexxy_pipelines.sensors.registry import registry_push_sensor
from vexxy_pipelines.sensors.run_status import (
    cancellation_sensor,
    submission_cancelled_sensor,
    submission_complete_sensor,
    submission_failed_sensor,
    submission_progress_sensor,
    submission_started_sensor,
)
from vexxy_pipelines.sensors.sandbox import sandbox_sweep_sensor
from vexxy_pipelines.sensors.submission_intake import submission_sensor
from vexxy_pipelines.sensors.vulnerability_db import vulnerability_db_refresh_sensor

defs = Definitions(
    assets=[
        image,
        sbom,
        sandbox_session,
        filtered_sbom,
        first_party_imports,
        vulnerability_db,
        vulnerabilities,
        vex_document,
        vex_attestation,
        billing_record,
        fleet_posture,
    ],
    jobs=[
        analyze_image_job,
        refresh_vulnerability_db_job,
        reevaluate_image_job,
        analyze_reference,
        remove_image_partition_job,
        refresh_fleet_posture_job,
    ],
    sensors=[
        vulnerability_db_refresh_sensor,
        submission_sensor,
        registry_push_sensor,
        submission_started_sensor,
        submission_complete_sensor,
        submission_failed_sensor,
        submission_cancelled_sensor,
        submission_progress_sensor,
        cancellation_sensor,
        sandbox_sweep_sensor,
        partition_guard_sensor,
        fleet_posture_sensor,
        billing_retry_sensor,
    ],
    resources=resources_for(),
    executor=executor_for(),
)


def reconstructable_analyze_image():
    """`analyze_image` as its step processes rebuild it (`dagster.reconstructable` needs a module-level function)."""
    return defs.resolve_job_def("analyze_image")


def reconstructable_reevaluate_image():
    """`reevaluate_image` for `dagster.execute_job` from another process."""
    return defs.resolve_job_def("reevaluate_image")
