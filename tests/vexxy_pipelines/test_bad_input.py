"""Bad input fails clearly, fails only its own partition, and leaves everything else as it was."""

import os
from pathlib import Path

import pytest
from dagster import AssetKey, materialize

from vexxy import settings
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.partitions import add_image_partition, image_partitions
from vexxy_pipelines.resources.advisory_source import OsvSourceResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore

pytestmark = pytest.mark.slow


def latest(instance, asset: str) -> tuple[str, float]:
    event = instance.get_latest_materialization_event(AssetKey(asset))
    return event.run_id, event.timestamp


def failure_of(result) -> str:
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return f"{event.step_key}: {event.step_failure_data.user_failure_data.description}"


def snapshot(directory: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


def test_a_missing_image_fails_only_its_own_partition(instance, analyzed_demo, demo_image):
    good_key = add_image_partition(instance, demo_image)
    bad_key = f"{demo_image.name}@sha256:{'9' * 64}"
    before = latest(instance, "vex_document")
    evidence_before = snapshot(Path(os.environ["VEXXY_EVIDENCE_DIR"]) / demo_image.digest.split(":")[1])
    instance.add_dynamic_partitions(image_partitions.name, [bad_key])
    result = defs.resolve_job_def("analyze_image").execute_in_process(
        instance=instance, partition_key=bad_key, raise_on_error=False
    )
    assert not result.success
    message = failure_of(result)
    assert message.startswith("image: Image manifest not found in registry") and bad_key.split("@")[1] in message
    assert "Check the repository name and tag" in message
    assert latest(instance, "vex_document") == before
    assert good_key in instance.get_materialized_partitions(AssetKey("vex_document"))
    assert bad_key not in instance.get_materialized_partitions(AssetKey("image"))
    assert snapshot(Path(os.environ["VEXXY_EVIDENCE_DIR"]) / demo_image.digest.split(":")[1]) == evidence_before
    instance.delete_dynamic_partition(image_partitions.name, bad_key)


def test_a_registry_answering_401_fails_with_what_to_do(instance, auth_registry):
    key = f"{auth_registry.address}/private/app@sha256:{'8' * 64}"
    instance.add_dynamic_partitions(image_partitions.name, [key])
    result = defs.resolve_job_def("analyze_image").execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
    assert not result.success
    assert "requires a login" in failure_of(result) and "VEXXY_REGISTRY_USERNAME" in failure_of(result)
    instance.delete_dynamic_partition(image_partitions.name, key)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["analyze", "Not A Reference"], "malformed"),
        (["analyze", "127.0.0.1:1/vexxy/demo:1.0"], "unreachable"),
    ],
)
def test_cli_rejects_bad_references_before_any_run(instance, capsys, argv, message):
    runs_before = len(instance.get_run_records())
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert len(instance.get_run_records()) == runs_before


def test_cli_unknown_tag_and_wrong_platform(instance, capsys, demo_image, registry, demo_layers):
    from vexxy.demo.images import DEMO
    from vexxy.oci.build import push_image
    from vexxy.oci.image import Platform
    from vexxy.oci.reference import parse_reference
    from vexxy.oci.registry_client import RegistryClient

    assert main(["analyze", f"{demo_image.name}:no-such-tag"]) == 2
    assert "not found in registry" in capsys.readouterr().err
    ref = parse_reference(f"{registry.address}/vexxy/arm-cli:1")
    push_image(RegistryClient(), ref, demo_layers, DEMO.runtime, Platform("linux", "arm64"), tag="1")
    assert main(["analyze", str(ref)]) == 2
    err = capsys.readouterr().err
    assert "built for linux/arm64, not for linux/amd64" in err and "VEXXY_PLATFORM=linux/arm64" in err


def test_corrupt_osv_records_are_skipped_and_reported(instance, tmp_path):
    source = tmp_path / "osv"
    source.mkdir()
    (source / "PYSEC-2021-142.yaml").write_bytes(
        next((settings.BUNDLED_OSV / "pypa").glob("pyyaml/PYSEC-2021-142.yaml")).read_bytes()
    )
    (source / "broken.yaml").write_text("affected: [\n")
    result = materialize(
        [vulnerability_db],
        resources={"osv": OsvSourceResource(source=str(source)), "evidence": EvidenceStore(root=str(tmp_path / "evidence"))},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("vulnerability_db")[0].metadata
    assert metadata["advisories"].value == 1 and metadata["malformed_skipped"].value == 1
    assert "broken.yaml" in metadata["malformed"].value


def test_unreadable_osv_source_fails_with_a_hint(tmp_path):
    result = materialize(
        [vulnerability_db],
        resources={"osv": OsvSourceResource(source=str(tmp_path / "absent")), "evidence": EvidenceStore(root=str(tmp_path))},
        raise_on_error=False,
    )
    assert not result.success
    assert "does not exist" in failure_of(result) and "VEXXY_OSV_SOURCE" in failure_of(result)


def test_db_update_reloads_and_reports(instance, capsys):
    assert main(["db", "update"]) == 0
    out = capsys.readouterr().out
    assert "advisories" in out and "withdrawn skipped" in out
    event = instance.get_latest_materialization_event(AssetKey("vulnerability_db"))
    assert event.asset_materialization.metadata["advisories"].value > 30
