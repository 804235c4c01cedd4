"""A VEX that fails its schema stops the run at `vex_document`: `billing_record` never runs on it."""

import secrets

import pytest
from dagster import AssetCheckKey, AssetExecutionContext, MaterializeResult, asset, materialize
from sqlalchemy import select

from appdb.models import BillingEvent
from vexxy.evidence.documents import IMAGE, VULNERABILITIES
from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.oci.image import ImageConfig, Layer, Platform, ResolvedImage
from vexxy_pipelines.assets.billing import billing_record
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore

pytestmark = pytest.mark.slow  # a Dagster run

NAME = "127.0.0.1:5000/vexxy/invalid-vex"


def resolved(key: str) -> ResolvedImage:
    return ResolvedImage(
        reference=f"{NAME}:1.0",
        name=NAME,
        manifest_digest=key.split("@", 1)[1],
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform(),
        config_digest="sha256:" + "3" * 64,
        config=ImageConfig(),
        layers=[Layer("sha256:" + "4" * 64, 10, "x")],
    )


# The documents `image` and `vulnerabilities` hand to `vex_document`, written through the evidence store
# in the run as those steps write them; one component identifier is not a URI, so the OpenVEX is invalid.
@asset(name="image", partitions_def=image_partitions)
def image_documents(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    return MaterializeResult(metadata=evidence.write_json(context, IMAGE, resolved(context.partition_key).to_dict()).metadata())


@asset(name="vulnerabilities", partitions_def=image_partitions)
def vulnerability_documents(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    match = VulnerabilityMatch(
        component_ref="r1",
        component_name="two words",
        component_version="1.0",
        purl="pkg:pypi/two words@1.0",
        ecosystem="PyPI",
        advisory_id="PYSEC-0000-1",
        aliases=("CVE-2024-0001",),
        vulnerability="CVE-2024-0001",
        summary="Example advisory",
        matched="ECOSYSTEM >= 0 < 1.1",
        introduced="0",
        fixed="1.1",
        last_affected=None,
        severity=(),
        modified="2024-01-01T00:00:00Z",
    )
    stored = evidence.write_json(context, VULNERABILITIES, {"matches": [match.to_dict()], "vulnerability_db": "test"})
    return MaterializeResult(metadata=stored.metadata())


def test_an_invalid_vex_fails_its_blocking_check_and_billing_record_never_runs(instance, app_sessions):
    key = f"{NAME}@sha256:{secrets.token_hex(32)}"
    submission = f"sub-invalid-vex-{secrets.token_hex(4)}"
    instance.add_dynamic_partitions(image_partitions.name, [key])
    try:
        result = materialize(
            [image_documents, vulnerability_documents, vex_document, billing_record],
            partition_key=key,
            instance=instance,
            resources=resources_for(),
            tags={"vexxy/submission": submission},
            raise_on_error=False,
        )
        assert not result.success
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert checks["openvex_schema_valid"].passed is False and checks["openvex_schema_valid"].blocking is True
        assert "is not a 'uri'" in checks["openvex_schema_valid"].metadata["first_errors"].value
        assert checks["cyclonedx_schema_valid"].passed is True
        assert result.is_node_failed("vex_document")
        assert result.is_node_untouched("billing_record")  # never started: no step event at all
        assert result.asset_materializations_for_node("billing_record") == []
        # The invalid document is kept and the failed check is recorded against vex_document in the instance.
        assert result.asset_materializations_for_node("vex_document")
        check_key = AssetCheckKey(vex_document.key, "openvex_schema_valid")
        assert instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key].run_id == (
            result.run_id
        )
        with app_sessions() as session:
            assert session.scalars(select(BillingEvent).where(BillingEvent.submission_id == submission)).all() == []
    finally:
        instance.delete_dynamic_partition(image_partitions.name, key)
