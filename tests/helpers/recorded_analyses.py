"""Documents of an analysis recorded as its run would have left them: stored under the run, each asset's
materialization naming them with their SHA-256, the run tagged as the analysis's own (organization,
configuration, fuzzing, window). For testing what reads an analysis's evidence (attestation,
re-evaluation) without a sandbox run."""

import json
import os
import uuid

from dagster import AssetMaterialization, MetadataValue, job, op

from vexxy.evidence.documents import Document, run_location
from vexxy_pipelines.partitions import digest_hex
from vexxy_pipelines.resources.evidence_store import EvidenceStore


def record(instance, key: str, documents: dict[Document, object], tags: dict[str, str] | None = None) -> str:
    """Store `documents` (JSON values, or bytes) for partition `key` in a run of their own; returns its id."""
    store = EvidenceStore(root=os.environ["VEXXY_EVIDENCE_DIR"]).documents()

    @op
    def record_documents(context):
        by_asset: dict[str, dict] = {}
        for document, value in documents.items():
            data = value if isinstance(value, bytes) else json.dumps(value).encode()
            stored = store.put(run_location(document, digest_hex(instance, key), context.run_id), data)
            by_asset.setdefault(document.asset, {}).update(
                {f"{document.key}_path": MetadataValue.path(stored.path), f"{document.key}_sha256": stored.sha256}
            )
        for asset, metadata in by_asset.items():
            context.log_event(AssetMaterialization(asset_key=asset, partition=key, metadata=metadata))

    @job(name=f"recorded_analysis_{uuid.uuid4().hex[:8]}")
    def recorded_analysis():
        record_documents()

    result = recorded_analysis.execute_in_process(instance=instance, tags=tags or {})
    assert result.success
    return result.run_id
