"""The documents `image` and `vulnerabilities` hand to `vex_document` for an image whose OpenVEX comes out
invalid (one component identifier is not a URI), written through the evidence store in the run as those
steps write them: what a blocking schema check has to stop before billing."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from vexxy.evidence.documents import IMAGE, VULNERABILITIES
from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.oci.image import ImageConfig, Layer, Platform, ResolvedImage
from vexxy_pipelines.partitions import image_for_partition, image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore

NAME = "127.0.0.1:5000/vexxy/invalid-vex"


def resolved(context: AssetExecutionContext) -> ResolvedImage:
    return ResolvedImage(
        reference=f"{NAME}:1.0",
        name=NAME,
        manifest_digest=image_for_partition(context.instance, context.partition_key).digest,
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform(),
        config_digest="sha256:" + "3" * 64,
        config=ImageConfig(),
        layers=[Layer("sha256:" + "4" * 64, 10, "x")],
    )


@asset(name="image", partitions_def=image_partitions)
def image_documents(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    return MaterializeResult(metadata=evidence.write_json(context, IMAGE, resolved(context).to_dict()).metadata())


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
