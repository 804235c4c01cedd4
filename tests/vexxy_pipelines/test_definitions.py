"""The whole Definitions object loads and has the graph, checks, jobs and sensors we promise."""

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey
from dagster_k8s import k8s_job_executor

from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import analysis_executor_for

ROOT = Path(__file__).resolve().parents[2]


def test_asset_graph():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {
        "image",
        "sbom",
        "vulnerability_db",
        "vulnerabilities",
        "execution_profile",
        "fuzz_findings",
        "filtered_sbom",
        "first_party_imports",
        "vex_document",
        "vex_attestation",
        "billing_record",
        "fleet_posture",
    }
    assert graph.get(AssetKey("billing_record")).parent_keys == {AssetKey("vex_document")}  # attaching never blocks billing
    assert graph.get(AssetKey("vex_attestation")).parent_keys == {AssetKey("vex_document"), AssetKey("image")}
    assert graph.get(AssetKey("fleet_posture")).parent_keys == {AssetKey("vex_document")}
    assert graph.get(AssetKey("fleet_posture")).partitions_def is None  # one table across every image
    assert graph.get(AssetKey("vex_document")).parent_keys == {
        AssetKey("vulnerabilities"),
        AssetKey("filtered_sbom"),
        AssetKey("first_party_imports"),
        AssetKey("image"),
    }
    # Read from the image alone, so it runs while the sandbox observes.
    assert graph.get(AssetKey("first_party_imports")).parent_keys == {AssetKey("image"), AssetKey("sbom")}
    assert graph.get(AssetKey("filtered_sbom")).parent_keys == {
        AssetKey("sbom"),
        AssetKey("execution_profile"),
        AssetKey("first_party_imports"),  # the identity of each code file of the image
    }
    assert graph.get(AssetKey("vulnerabilities")).parent_keys == {AssetKey("sbom"), AssetKey("vulnerability_db")}
    # The sandbox needs only the image, so it runs beside `sbom` (two step processes).
    assert graph.get(AssetKey("execution_profile")).parent_keys == {AssetKey("image")}
    assert graph.get(AssetKey("fuzz_findings")).parent_keys == {AssetKey("image")}
    executor = defs.resolve_job_def("analyze_image").executor_def
    assert executor.name == "analysis_executor"
    assert executor.apply_config_mapping({}).value["config"]["max_concurrent"] == 2
    assert analysis_executor_for("production") is k8s_job_executor  # one Job per step, also in parallel
    assert defs.resolve_job_def("reevaluate_image").executor_def.name == "in_process"  # cheap steps, many images a run
    assert graph.get(AssetKey("vulnerability_db")).partitions_def is None
    assert graph.get(AssetKey("image")).partitions_def.name == "images"


def test_checks_jobs_and_sensors():
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        ("vex_document", "openvex_schema_valid"),
        ("vex_document", "cyclonedx_schema_valid"),
        ("vex_document", "one_statement_per_vulnerability"),
        ("vex_attestation", "attestation_verifies"),
        ("filtered_sbom", "subset_of_sbom"),
        ("filtered_sbom", "cyclonedx_schema_valid"),
        ("fuzz_findings", "sarif_schema_valid"),
    }
    for job in (
        "analyze_image",
        "refresh_vulnerability_db",
        "reevaluate_image",
        "analyze_reference",
        "remove_image_partition",
        "refresh_fleet_posture",
    ):
        assert defs.resolve_job_def(job)
    for name in (
        "vulnerability_db_refresh_sensor",
        "submission_sensor",
        "registry_push_sensor",
        "submission_started_sensor",
        "submission_complete_sensor",
        "submission_failed_sensor",
        "submission_cancelled_sensor",
        "submission_progress_sensor",
        "cancellation_sensor",
        "sandbox_sweep_sensor",
        "partition_guard_sensor",
        "fleet_posture_sensor",
    ):
        assert defs.resolve_sensor_def(name)


def test_dagster_definitions_validate_passes(instance):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stderr + result.stdout
