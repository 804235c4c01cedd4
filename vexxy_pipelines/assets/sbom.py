"""The `sbom` asset: Syft's inventory of the image, kept native and as CycloneDX 1.6."""

import json
from collections import Counter

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.errors import SbomError
from vexxy.evidence.documents import CYCLONEDX_SBOM, IMAGE, SYFT_SBOM
from vexxy.oci.image import ResolvedImage
from vexxy.sbom.components import components_from_syft
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource, for_run
from vexxy_pipelines.resources.sbom_generator import SyftResource
from vexxy_pipelines.step_resources import SYFT_STEP
from vexxy_pipelines.versions import content_version


@asset(partitions_def=image_partitions, group_name="analysis", deps=[image], kinds={"syft", "cyclonedx"}, op_tags=SYFT_STEP)
def sbom(
    context: AssetExecutionContext, syft: SyftResource, registry: RegistryResource, evidence: EvidenceStore
) -> MaterializeResult:
    """Every package in the image and the files it owns (Syft JSON), plus a CycloneDX 1.6 export."""
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE))
    with fail_clearly(context.partition_key):
        output = syft.scan(resolved, for_run(registry, context))
        try:
            components = components_from_syft(json.loads(output.native))
        except ValueError as exc:
            raise SbomError(f"Syft's JSON for {resolved.canonical} cannot be read: {exc}") from exc
    native = evidence.write(context, SYFT_SBOM, output.native)
    cyclonedx = evidence.write(context, CYCLONEDX_SBOM, output.cyclonedx)
    by_type = Counter(c.type for c in components)
    by_ecosystem = Counter((c.ecosystem or "(none)").split(":", 1)[0] for c in components)
    with_files = sum(1 for c in components if c.files)
    return MaterializeResult(
        data_version=content_version(native),
        metadata={
            "components": MetadataValue.int(len(components)),
            "components_with_file_lists": MetadataValue.int(with_files),
            "by_type": md_table(["type", "components"], sorted(by_type.items(), key=lambda kv: -kv[1])),
            "by_ecosystem": md_table(["OSV ecosystem", "components"], sorted(by_ecosystem.items(), key=lambda kv: -kv[1])),
            "syft_version": output.version,
            **native.metadata(),
            **cyclonedx.metadata(),
        },
    )
