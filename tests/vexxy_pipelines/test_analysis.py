"""End to end: `vexxy analyze` runs the partition's assets through Dagster on PostgreSQL storage."""

import hashlib
import json

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance
from stored_documents import latest_document_path

from vexxy.evidence.documents import OPENVEX
from vexxy.oci.partition_key import default_key
from vexxy.vex.validation import cyclonedx_errors, openvex_errors
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.cli.runs import progress_line
from vexxy_pipelines.instance import ensure_dagster_home
from vexxy_pipelines.partitions import add_image_partition, image_partitions
from vexxy_pipelines.steps import ANALYSIS_STEPS, progress_of

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
    assert openvex["statements"][0]["products"][0]["@id"] == f"pkg:oci/demo@{demo_image.digest}"
    assert cyclonedx_errors((analyzed / "cyclonedx-vex.json").read_text()) == []
    assert cyclonedx_errors((analyzed / "sbom.cdx.json").read_text()) == []
    assert json.loads((analyzed / "sbom.cdx.json").read_text())["specVersion"] == "1.6"
    assert json.loads((analyzed / "sbom.syft.json").read_text())["artifacts"]


def test_sbom_and_the_sandbox_run_at_the_same_time(analyzed, demo_image):
    """Syft inventories the image while the sandbox observes it: each step starts before the other ends."""
    instance = DagsterInstance.get()
    run_id = instance.get_latest_materialization_event(AssetKey("sbom")).run_id
    assert instance.get_latest_materialization_event(AssetKey("execution_profile")).run_id == run_id
    records = instance.get_records_for_run(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}).records
    at = {(r.event_log_entry.step_key, r.event_log_entry.dagster_event.event_type): r.timestamp for r in records}
    sbom_start, sbom_end = at[("sbom", DagsterEventType.STEP_START)], at[("sbom", DagsterEventType.STEP_SUCCESS)]
    sandbox_start = at[("sandbox_session", DagsterEventType.STEP_START)]
    sandbox_end = at[("sandbox_session", DagsterEventType.STEP_SUCCESS)]
    assert sbom_start < sandbox_end and sandbox_start < sbom_end
    # What the CLI showed once the second of the two had started: both running, `image` done.
    second_start = max(sbom_start, sandbox_start)
    progress = progress_of([r for r in records if r.timestamp <= second_start])
    assert {"sbom", "sandbox_session"} <= set(progress.running) and progress.done[0] == "image"
    line = progress_line("analyze_image", progress.running, len(progress.done), len(ANALYSIS_STEPS), run_id)
    assert f"{len(progress.done)}/{len(ANALYSIS_STEPS)} steps" in line and "sbom" in line and "sandbox_session" in line


def test_materializations_carry_metadata_checksums_and_checks(analyzed, demo_image):
    instance = DagsterInstance.get()
    key = add_image_partition(instance, demo_image)
    sbom = instance.get_latest_materialization_event(AssetKey("sbom")).asset_materialization
    assert sbom.partition == key
    assert sbom.metadata["components"].value > 50
    assert len(sbom.metadata["syft_json_sha256"].value) == 64 and sbom.metadata["syft_json_bytes"].value > 0
    vex = instance.get_latest_materialization_event(AssetKey("vex_document")).asset_materialization
    assert vex.metadata["statements"].value == 2
    assert vex.metadata["status_affected"].value == 1 and vex.metadata["status_not_affected"].value == 1
    db = instance.get_latest_materialization_event(AssetKey("vulnerability_db")).asset_materialization
    assert vex.metadata["vulnerability_db_version"].value == db.metadata["content_hash"].value
    evaluations = instance.get_records_for_run(
        instance.get_latest_materialization_event(AssetKey("vex_document")).run_id,
        of_type=DagsterEventType.ASSET_CHECK_EVALUATION,
    ).records
    checks = [r.event_log_entry.dagster_event.event_specific_data for r in evaluations]
    results = {(c.asset_key.to_user_string(), c.check_name): c.passed for c in checks}
    assert results == {
        ("vex_document", "openvex_schema_valid"): True,
        ("vex_document", "cyclonedx_schema_valid"): True,
        ("vex_document", "one_statement_per_vulnerability"): True,
        ("filtered_sbom", "subset_of_sbom"): True,
        ("filtered_sbom", "cyclonedx_schema_valid"): True,
        ("fuzz_findings", "sarif_schema_valid"): True,
        ("vex_attestation", "attestation_verifies"): True,  # no signing key here: skipped, with the reason
    }


def test_runtime_evidence_decides_the_vex(analyzed, demo_image):
    """Jinja2 is rendered by the app, PyYAML is installed but never imported."""
    openvex = json.loads((analyzed / "openvex.json").read_text())
    profile = json.loads((analyzed / "execution_profile.json").read_text())
    profile_sha256 = "sha256:" + hashlib.sha256((analyzed / "execution_profile.json").read_bytes()).hexdigest()
    by_package = {s["products"][0]["subcomponents"][0]["@id"]: s for s in openvex["statements"]}
    pyyaml, jinja = by_package["pkg:pypi/pyyaml@5.3.1"], by_package["pkg:pypi/jinja2@2.11.2"]
    assert pyyaml["status"] == "not_affected" and pyyaml["justification"] == "vulnerable_code_not_in_execute_path"
    assert "None of the component's" in pyyaml["status_notes"] and profile_sha256 in pyyaml["status_notes"]
    assert jinja["status"] == "affected" and "Upgrade to 2.11.3" in jinja["action_statement"]
    assert "/usr/local/lib/python3.11/dist-packages/jinja2/" in jinja["status_notes"] and profile_sha256 in jinja["status_notes"]
    assert profile["complete"] and profile["readiness"]["outcome"] == "ready"
    assert profile["container"]["execs"][0]["args"] == ["python3", "/app/app.py"] or any(
        e["args"] == ["python3", "/app/app.py"] for e in profile["container"]["execs"]
    )
    assert {"protocol": "tcp", "address": "0.0.0.0", "port": 8080, "role": "main"} in profile["listening"]
    filtered = json.loads((analyzed / "sbom.filtered.cdx.json").read_text())
    names = {c["name"] for c in filtered["components"]}
    assert "jinja2" in names and "pyyaml" not in names and "libc6" in names and "python3.11-minimal" in names
    assert cyclonedx_errors((analyzed / "sbom.filtered.cdx.json").read_text()) == []
    cdx = json.loads((analyzed / "cyclonedx-vex.json").read_text())
    states = {v["affects"][0]["ref"]: v["analysis"]["state"] for v in cdx["vulnerabilities"]}
    assert states == {"pkg:pypi/pyyaml@5.3.1": "not_affected", "pkg:pypi/jinja2@2.11.2": "exploitable"}


def test_sandbox_left_nothing_behind(analyzed):
    from vexxy import settings
    from vexxy.sandbox.state import SandboxPaths
    from vexxy.sandbox.sweep import leftovers

    assert all(not found for found in leftovers(SandboxPaths(settings.sandbox_state_dir())).values())


def test_same_image_by_tag_then_digest_is_one_partition(analyzed, demo_image):
    instance = DagsterInstance.get()
    assert main(["analyze", demo_image.canonical()]) == 0
    keys = [k for k in instance.get_dynamic_partitions(image_partitions.name) if "vexxy/demo@" in k]
    key = default_key(demo_image)
    assert keys == [key] and key == f"{demo_image.repository}@{demo_image.digest[7:23]}"
    materialized = instance.get_materialized_partitions(AssetKey("vex_document"))
    assert key in materialized
    runs = instance.get_run_records()
    analyzed_runs = [r for r in runs if r.dagster_run.tags.get("dagster/partition") == key]
    assert {r.dagster_run.tags["vexxy/reference"] for r in analyzed_runs} == {f"{demo_image.name}:1.0", demo_image.canonical()}
    assert {r.dagster_run.tags["vexxy/manifest_digest"] for r in analyzed_runs} == {demo_image.digest}
    stored = json.loads(latest_document_path(instance, OPENVEX, key).read_text())
    first = json.loads((analyzed / "openvex.json").read_text())
    # A second sandbox run is new evidence (a new profile digest): same document, next version.
    assert stored["@id"] == first["@id"] and stored["version"] == first["version"] + 1


def test_exported_vex_names_its_inputs(analyzed, demo_image):
    """The documents name the advisory snapshot, the SBOM and the profile by the SHA-256 of the files exported beside them."""
    openvex = json.loads((analyzed / "openvex.json").read_text())
    cyclonedx = json.loads((analyzed / "cyclonedx-vex.json").read_text())
    snapshot = json.loads((analyzed / "vulnerabilities.json").read_text())["vulnerability_db"]
    sbom_bytes = (analyzed / "sbom.cdx.json").read_bytes()
    sbom_sha256 = hashlib.sha256(sbom_bytes).hexdigest()
    profile_sha256 = hashlib.sha256((analyzed / "execution_profile.json").read_bytes()).hexdigest()
    serial = json.loads(sbom_bytes)["serialNumber"].removeprefix("urn:uuid:")
    assert f"advisories: OSV snapshot {snapshot};" in openvex["tooling"]
    assert f"SBOM sbom.cdx.json sha256:{sbom_sha256} (urn:cdx:{serial}/1)" in openvex["tooling"]
    assert f"execution profile execution_profile.json sha256:{profile_sha256} (SHA-256 of the file)" in openvex["tooling"]
    assert openvex["author"] == "vexxy" and all(s["timestamp"] for s in openvex["statements"])
    properties = {p["name"]: p["value"] for p in cyclonedx["metadata"]["properties"]}
    assert properties["vexxy:advisory_snapshot"] == snapshot and properties["vexxy:sbom_sha256"] == sbom_sha256
    assert properties["vexxy:execution_profile_sha256"] == profile_sha256
    assert cyclonedx["metadata"]["tools"]["components"][0]["name"] == "vexxy"
    assert cyclonedx["externalReferences"] == [
        {
            "type": "bom",
            "url": f"urn:cdx:{serial}/1",
            "comment": "The SBOM these statements were derived from: sbom.cdx.json",
            "hashes": [{"alg": "SHA-256", "content": sbom_sha256}],
        }
    ]
    linked = [c["externalReferences"][0]["url"] for c in cyclonedx["components"]]
    assert linked and all(url.startswith(f"urn:cdx:{serial}/1#pkg%3Apypi") for url in linked)
    assert all(v["analysis"]["firstIssued"] for v in cyclonedx["vulnerabilities"])
