"""End to end: `vexxy analyze` runs the partition's assets through Dagster on PostgreSQL storage."""

import json
import os
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from vexxy.vex.validation import cyclonedx_errors, openvex_errors
from vexxy_pipelines.cli import main
from vexxy_pipelines.instance import ensure_dagster_home
from vexxy_pipelines.partitions import image_partitions

pytestmark = pytest.mark.slow


@pytest.fixture
def analyzed(analyzed_demo):
    return analyzed_demo


def test_instance_is_postgres():
    ensure_dagster_home()
    instance = DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"


def test_demo_image_analysis_produces_valid_vex(analyzed, demo_image):
    openvex = json.loads((analyzed / "openvex.json").read_text())
    assert openvex_errors(openvex) == []
    assert {s["vulnerability"]["name"] for s in openvex["statements"]} == {"CVE-2020-28493", "CVE-2020-14343"}
    assert {s["status"] for s in openvex["statements"]} == {"under_investigation"}
    assert openvex["statements"][0]["products"][0]["@id"] == f"pkg:oci/demo@{demo_image.digest}"
    assert cyclonedx_errors((analyzed / "cyclonedx-vex.json").read_text()) == []
    assert cyclonedx_errors((analyzed / "sbom.cdx.json").read_text()) == []
    assert json.loads((analyzed / "sbom.cdx.json").read_text())["specVersion"] == "1.6"
    assert json.loads((analyzed / "sbom.syft.json").read_text())["artifacts"]


def test_materializations_carry_metadata_checksums_and_checks(analyzed, demo_image):
    instance = DagsterInstance.get()
    key = demo_image.canonical()
    sbom = instance.get_latest_materialization_event(AssetKey("sbom")).asset_materialization
    assert sbom.partition == key
    assert sbom.metadata["components"].value > 50
    assert len(sbom.metadata["syft_json_sha256"].value) == 64 and sbom.metadata["syft_json_bytes"].value > 0
    vex = instance.get_latest_materialization_event(AssetKey("vex_document")).asset_materialization
    assert vex.metadata["statements"].value == 2
    assert vex.metadata["status_under_investigation"].value == 2
    db = instance.get_latest_materialization_event(AssetKey("vulnerability_db")).asset_materialization
    assert vex.metadata["vulnerability_db_version"].value == db.metadata["content_hash"].value
    evaluations = instance.get_records_for_run(
        instance.get_latest_materialization_event(AssetKey("vex_document")).run_id,
        of_type=DagsterEventType.ASSET_CHECK_EVALUATION,
    ).records
    results = {r.event_log_entry.dagster_event.event_specific_data.check_name: r.event_log_entry.dagster_event.event_specific_data.passed for r in evaluations}
    assert results == {"openvex_schema_valid": True, "cyclonedx_schema_valid": True, "one_statement_per_vulnerability": True}


def test_same_image_by_tag_then_digest_is_one_partition(analyzed, demo_image):
    instance = DagsterInstance.get()
    assert main(["analyze", demo_image.canonical()]) == 0
    keys = [k for k in instance.get_dynamic_partitions(image_partitions.name) if "vexxy/demo@" in k]
    assert keys == [demo_image.canonical()]
    materialized = instance.get_materialized_partitions(AssetKey("vex_document"))
    assert demo_image.canonical() in materialized
    runs = instance.get_run_records()
    analyzed_runs = [r for r in runs if r.dagster_run.tags.get("dagster/partition") == demo_image.canonical()]
    assert {r.dagster_run.tags["vexxy/reference"] for r in analyzed_runs} == {f"{demo_image.name}:1.0", demo_image.canonical()}
    stored = Path(os.environ["VEXXY_EVIDENCE_DIR"]) / demo_image.digest.split(":")[1] / "vex.openvex.json"
    assert json.loads(stored.read_text())["version"] == 1  # the same statements again: the document is unchanged
