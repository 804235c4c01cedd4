"""Fuzzing inside the analysis: findings, SARIF and file coverage in `fuzz_findings`, package coverage in
`filtered_sbom`; ZAP is one setting."""

import json
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, materialize
from ports import closed_port
from stored_documents import latest_document_path

from vexxy.evidence.documents import COMPONENT_USAGE, FUZZ_FINDINGS, FUZZ_FINDINGS_SARIF
from vexxy.fuzzing.sarif import sarif_errors
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.sandbox import sandbox_session
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.environment import _fuzzer, resources_for
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.resources.fuzzer import WapitiResource, ZapResource

pytestmark = pytest.mark.slow


def evidence(instance, document, image):
    return latest_document_path(instance, document, add_image_partition(instance, image))


def test_vulnerable_app_analysis_reports_findings_sarif_and_coverage(instance, vulnerable_image, tmp_path):
    assert main(["analyze", str(vulnerable_image), "--out", str(tmp_path)]) == 0
    event = instance.get_latest_materialization_event(AssetKey("fuzz_findings"))
    metadata = event.asset_materialization.metadata
    assert metadata["status"].value == "completed" and metadata["tool"].value == "wapiti 3.2.3"
    assert metadata["risk_high"].value >= 1 and metadata["risk_medium"].value >= 1
    assert metadata["files_first_seen_while_fuzzing"].value > 0
    assert metadata["file_coverage_gain_percent"].value > 0
    assert "CWE-79" in metadata["top_findings"].value and "CWE-89" in metadata["top_findings"].value
    findings = json.loads(evidence(instance, FUZZ_FINDINGS, vulnerable_image).read_text())
    assert {79, 89} <= {f["cwe"] for f in findings["findings"]}
    filtered = instance.get_latest_materialization_event(AssetKey("filtered_sbom")).asset_materialization.metadata
    assert filtered["packages_first_loaded_while_fuzzing"].value >= 1
    usage = json.loads(evidence(instance, COMPONENT_USAGE, vulnerable_image).read_text())
    assert "pkg:deb/debian/libsqlite3-0" in " ".join(usage["fuzzing"]["packages_first_loaded_fuzzing"])
    sarif = json.loads(evidence(instance, FUZZ_FINDINGS_SARIF, vulnerable_image).read_text())
    assert sarif_errors(sarif) == [] and sarif["version"] == "2.1.0"
    checks = instance.get_records_for_run(event.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    sarif_check = [
        r.event_log_entry.dagster_event.event_specific_data
        for r in checks
        if r.event_log_entry.dagster_event.event_specific_data.check_name == "sarif_schema_valid"
    ]
    assert sarif_check and sarif_check[0].passed


def test_zap_is_one_setting(monkeypatch):
    monkeypatch.setenv("VEXXY_FUZZER", "zap")
    monkeypatch.setenv("VEXXY_ZAP_URL", "http://zap.internal:8080")
    assert isinstance(_fuzzer(), ZapResource)
    monkeypatch.delenv("VEXXY_FUZZER")
    assert isinstance(_fuzzer(), WapitiResource)


def test_zap_down_still_produces_the_profile_and_says_what_happened(instance, vulnerable_image):
    key = add_image_partition(instance, vulnerable_image)
    resources = {
        **resources_for(),
        "fuzzer": ZapResource(api_url=f"http://127.0.0.1:{closed_port()}", api_key="k", idle_seconds=1),
    }
    result = materialize([image, sbom, sandbox_session], partition_key=key, instance=instance, resources=resources)
    assert result.success
    profile = result.asset_materializations_for_node("sandbox_session")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in profile}
    assert by_key["execution_profile"]["completion"].value == "complete"
    status = by_key["fuzz_findings"]["status"].value
    assert status.startswith("failed: reading ZAP's version: the ZAP daemon at http://127.0.0.1:") and "is unreachable" in status
    assert json.loads(evidence(instance, FUZZ_FINDINGS, vulnerable_image).read_text())["status"] == "failed"


@pytest.fixture(scope="module")
def api_image(registry, demo_layers):
    """A JSON API no page links into: PyYAML 5.3.1 behind an endpoint its /openapi.json documents, Jinja2 2.11.2
    behind one only its code declares."""
    from vexxy.demo.images import DEMO
    from vexxy.oci.build import directory_entry, file_entry, layer_from_entries, push_image
    from vexxy.oci.reference import parse_reference
    from vexxy.oci.registry_client import RegistryClient

    app = (Path(__file__).parents[1] / "helpers" / "apps" / "api_app.py").read_text()
    layers = [*demo_layers[:2], layer_from_entries([directory_entry("app"), file_entry("app/app.py", app)])]
    ref = parse_reference(f"{registry.address}/vexxy/documents-api:1")
    digest, _ = push_image(RegistryClient(), ref, layers, DEMO.runtime, tag="1")
    return ref.with_digest(digest)


def test_unlinked_endpoints_the_app_declares_are_exercised_and_their_packages_are_affected(instance, api_image, tmp_path):
    assert main(["analyze", str(api_image), "--out", str(tmp_path)]) == 0
    fuzz = instance.get_latest_materialization_event(AssetKey("fuzz_findings")).asset_materialization.metadata
    assert fuzz["openapi_document"].value == "/openapi.json"
    assert fuzz["routes_declared_openapi"].value == 2 and fuzz["routes_declared_code"].value == 5
    assert fuzz["routes_declared"].value == 5 and fuzz["routes_exercised"].value == 5
    assert fuzz["routes_not_reached"].value == "none"
    assert "server https://api.example.com/: another host than the workload" in fuzz["declared_routes_dropped"].value
    coverage = json.loads(evidence(instance, FUZZ_FINDINGS, api_image).read_text())["route_coverage"]
    routes = {(r["method"], r["path"]): r for r in coverage["routes"]}
    assert routes[("POST", "/api/v1/documents")] == {
        "method": "POST",
        "path": "/api/v1/documents",
        "sources": ["code", "openapi"],
        "where": "/openapi.json",
        "outcome": "HTTP 200",
        "exercised": True,
    }
    reports = routes[("POST", "/api/v1/reports")]
    assert reports["sources"] == ["code"] and reports["where"] == "/app/app.py:79" and reports["outcome"] == "HTTP 200"
    usage = json.loads(evidence(instance, COMPONENT_USAGE, api_image).read_text())
    first_loaded = usage["fuzzing"]["packages_first_loaded_fuzzing"]
    assert "pkg:pypi/pyyaml@5.3.1" in first_loaded and "pkg:pypi/jinja2@2.11.2" in first_loaded
    openvex = json.loads((tmp_path / "openvex.json").read_text())
    by_package = {s["products"][0]["subcomponents"][0]["@id"]: s for s in openvex["statements"]}
    pyyaml, jinja = by_package["pkg:pypi/pyyaml@5.3.1"], by_package["pkg:pypi/jinja2@2.11.2"]
    assert pyyaml["status"] == "affected" and pyyaml["vulnerability"]["name"] == "CVE-2020-14343"
    assert "/usr/local/lib/python3.11/dist-packages/yaml/" in pyyaml["status_notes"]
    assert jinja["status"] == "affected" and "/usr/local/lib/python3.11/dist-packages/jinja2/" in jinja["status_notes"]
    profile = json.loads((tmp_path / "execution_profile.json").read_text())
    assert profile["outbound_attempts"] == []  # the document's other server was never contacted
