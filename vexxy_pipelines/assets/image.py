"""The `image` asset: an image reference pinned to content."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.evidence.documents import IMAGE
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_for_partition, image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource, for_run
from vexxy_pipelines.versions import content_version


@asset(partitions_def=image_partitions, group_name="analysis", kinds={"oci"})
def image(context: AssetExecutionContext, registry: RegistryResource, evidence: EvidenceStore) -> MaterializeResult:
    """The container image: manifest digest, platform, runtime configuration and layers."""
    key = context.partition_key
    with fail_clearly(key):
        partition = image_for_partition(context.instance, key)  # a key typed in the UI that names no content stops here
        resolved = for_run(registry, context).resolve(partition.ref, pinned=True)
    record = resolved.to_dict()
    tags = context.run.tags if context.run else {}
    record["reference"] = tags.get(run_tags.REFERENCE, partition.reference)
    record["index_digest"] = resolved.index_digest or tags.get(run_tags.INDEX_DIGEST)
    stored = evidence.write_json(context, IMAGE, record)
    config = resolved.config
    return MaterializeResult(
        data_version=content_version(stored),
        metadata={
            "reference": record["reference"],
            "image": resolved.canonical,
            "manifest_digest": resolved.manifest_digest,
            "index_digest": record["index_digest"] or "",
            "platform": str(resolved.platform),
            "layers": MetadataValue.int(len(resolved.layers)),
            "compressed_bytes": MetadataValue.int(resolved.total_size),
            "runtime": md_table(
                ["setting", "value"],
                [
                    ("entrypoint", " ".join(config.entrypoint) or "—"),
                    ("cmd", " ".join(config.cmd) or "—"),
                    ("user", config.user or "root"),
                    ("working dir", config.working_dir or "/"),
                    ("exposed ports", ", ".join(config.exposed_ports) or "none"),
                ],
            ),
            **stored.metadata(),
        },
    )
