"""The documents `image` and `vulnerabilities` hand to `vex_document` for an image whose OpenVEX comes out
invalid (one component identifier is not a URI), written through the evidence store in the run as those
steps write them: what a blocking schema check has to stop before billing."""

from builders import resolved_image, vulnerability_match
from dagster import AssetExecutionContext, MaterializeResult, asset

from vexxy.evidence.documents import IMAGE, VULNERABILITIES
from vexxy.oci.image import ResolvedImage
from vexxy_pipelines.partitions import image_for_partition, image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore

NAME = "127.0.0.1:5000/vexxy/invalid-vex"


def resolved(context: AssetExecutionContext) -> ResolvedImage:
    return resolved_image(NAME, digest=image_for_partition(context.instance, context.partition_key).digest)


@asset(name="image", partitions_def=image_partitions)
def image_documents(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    return MaterializeResult(metadata=evidence.write_json(context, IMAGE, resolved(context).to_dict()).metadata())


@asset(name="vulnerabilities", partitions_def=image_partitions)
def vulnerability_documents(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    match = vulnerability_match(
        "r1",
        "two words",
        "1.0",
        advisory="PYSEC-0000-1",
        aliases=("CVE-2024-0001",),
        vulnerability="CVE-2024-0001",
        summary="Example advisory",
        matched="ECOSYSTEM >= 0 < 1.1",
        fixed="1.1",
        modified="2024-01-01T00:00:00Z",
    )
    stored = evidence.write_json(context, VULNERABILITIES, {"matches": [match.to_dict()], "vulnerability_db": "test"})
    return MaterializeResult(metadata=stored.metadata())
