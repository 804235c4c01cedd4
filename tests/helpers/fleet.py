"""A fleet from one analyzed image, in an instance of its own: the image's documents copied under other
digests (and its own), their materializations recorded there.

What N analyses of N images would have left in an instance and the evidence store, for testing
what happens to a fleet (re-evaluation after an advisory refresh) without N sandbox runs, and
without adding partitions or materializations to the instance other tests read.
"""

import hashlib
import shutil
from pathlib import Path

from dagster import AssetMaterialization, MetadataValue, job, op

from vexxy_pipelines.lineage import latest_materialization
from vexxy_pipelines.partitions import add_image_partition, digest_hex, image_for_partition

ANALYSIS_ASSETS = ("image", "sbom", "execution_profile", "fuzz_findings", "filtered_sbom", "vulnerabilities", "vex_document")


def fleet_of(source, key: str, count: int, target, label: str = "fleet") -> list[str]:
    """`key` and `count` more partitions analyzed exactly like it in `source`, recorded in `target`; their keys."""
    source_hex = digest_hex(source, key)
    records = {asset: latest_materialization(source, asset, key) for asset in ANALYSIS_ASSETS}
    ref = image_for_partition(source, key).ref
    fakes = [ref.with_digest("sha256:" + hashlib.sha256(f"{label}-{i}".encode()).hexdigest()) for i in range(count)]
    keys = [add_image_partition(target, ref), *(add_image_partition(target, fake) for fake in fakes)]

    @op
    def copy_documents(context):
        for new_key in keys:
            for asset, record in records.items():
                metadata = {}
                for name, value in record.asset_materialization.metadata.items():
                    if name.endswith("_path"):
                        target_path = (
                            str(value.value)
                            .replace(source_hex, digest_hex(target, new_key))
                            .replace(record.run_id, context.run_id)
                        )
                        Path(target_path).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(str(value.value), target_path)
                        value = MetadataValue.path(target_path)
                    metadata[name] = value
                context.log_event(AssetMaterialization(asset_key=asset, partition=new_key, metadata=metadata))

    @job(name=f"record_{label}")
    def record_fleet():
        copy_documents()

    assert record_fleet.execute_in_process(instance=target).success
    return keys
