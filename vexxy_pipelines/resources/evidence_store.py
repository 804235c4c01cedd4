"""The evidence store as a Dagster resource: the write-once document store plus materialization metadata.

Layout, names and immutability live in `vexxy.evidence` (no Dagster there); this resource adds what
only Dagster knows: the run a document belongs to when it is written, and, when it is read, the
materialization the step consumes (its run's folder, checked against the SHA-256 it recorded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource, DagsterInstance, EventLogRecord, Failure, MetadataValue
from pydantic import Field

from vexxy.evidence.documents import Document, fleet_location, run_location, snapshot_location
from vexxy.evidence.store import DocumentStore, EvidenceMissing
from vexxy_pipelines import tags
from vexxy_pipelines.lineage import consumed_materialization, latest_materialization, latest_materialization_of
from vexxy_pipelines.partitions import digest_hex


@dataclass(frozen=True)
class StoredObject:
    document: Document
    path: str
    sha256: str
    size: int

    def metadata(self) -> dict[str, Any]:
        key = self.document.key
        return {
            f"{key}_path": MetadataValue.path(self.path),
            f"{key}_sha256": self.sha256,
            f"{key}_bytes": MetadataValue.int(self.size),
        }


def recorded_sha256(record: EventLogRecord, document: Document) -> str | None:
    """The SHA-256 the materialization recorded for `document`, or None when it did not write it."""
    entry = record.asset_materialization.metadata.get(f"{document.key}_sha256") if record.asset_materialization else None
    return str(entry.value) if entry is not None else None


class EvidenceStore(ConfigurableResource):
    """Write-once documents under `<digest>/<run id>/<name>` and `vulnerability-db/<content hash>/<name>`."""

    root: str = Field(description="Directory holding every stored document.")

    def documents(self) -> DocumentStore:
        return DocumentStore(self.root)

    def write(
        self, context: AssetExecutionContext, document: Document, data: bytes, partition: str | None = None
    ) -> StoredObject:
        """`partition`: one of the run's partitions when it covers a range (a fleet re-evaluation)."""
        location = run_location(document, digest_hex(context.instance, partition or context.partition_key), context.run.run_id)
        stored = self.documents().put(location, data)
        return StoredObject(document, stored.path, stored.sha256, stored.size)

    def write_json(
        self, context: AssetExecutionContext, document: Document, value: Any, partition: str | None = None
    ) -> StoredObject:
        return self.write(context, document, json.dumps(value, indent=2).encode(), partition)

    def write_snapshot(self, document: Document, content_hash: str, data: bytes) -> StoredObject:
        stored = self.documents().put(snapshot_location(document, content_hash), data)
        return StoredObject(document, stored.path, stored.sha256, stored.size)

    def write_snapshot_file(self, document: Document, content_hash: str, source: Path) -> StoredObject:
        """A content-addressed document from a finished file (the advisory index is hundreds of MB)."""
        stored = self.documents().put_file(snapshot_location(document, content_hash), source)
        return StoredObject(document, stored.path, stored.sha256, stored.size)

    def write_fleet(self, context: AssetExecutionContext, document: Document, data: bytes) -> StoredObject:
        """A document of the fleet's posture, under `fleet/<run id>/`."""
        stored = self.documents().put(fleet_location(document, context.run.run_id), data)
        return StoredObject(document, stored.path, stored.sha256, stored.size)

    def snapshot_path(self, document: Document, content_hash: str) -> Path:
        return self.documents().path(snapshot_location(document, content_hash))

    def read_recorded(self, instance: DagsterInstance, record: EventLogRecord, document: Document) -> bytes | None:
        """`document` as written by the materialization `record` (None when that materialization has none)."""
        sha256 = recorded_sha256(record, document)
        if sha256 is None:
            return None
        location = run_location(document, digest_hex(instance, record.partition_key), record.run_id)
        return self.documents().get(location, sha256)

    def find(self, context: AssetExecutionContext, document: Document, partition: str | None = None) -> bytes | None:
        """`document` from the materialization of its asset this run consumes; None if there is none."""
        key = partition or context.partition_key
        record = consumed_materialization(context.instance, context.run.run_id, document.asset, key)
        return self.read_recorded(context.instance, record, document) if record is not None else None

    def read(self, context: AssetExecutionContext, document: Document, partition: str | None = None) -> bytes:
        data = self.find(context, document, partition)
        if data is None:
            raise Failure(
                description=f"{document.name} of {partition or context.partition_key} is missing: "
                f"`{document.asset}` has not been materialized for this image (or wrote no such document).",
                metadata={"what_to_do": f"Materialize `{document.asset}` for this partition first."},
                allow_retries=False,
            )
        return data

    def find_json(self, context: AssetExecutionContext, document: Document, partition: str | None = None) -> Any | None:
        data = self.find(context, document, partition)
        return json.loads(data) if data is not None else None

    def read_json(self, context: AssetExecutionContext, document: Document, partition: str | None = None) -> Any:
        return json.loads(self.read(context, document, partition))

    def latest_json(
        self, context: AssetExecutionContext, document: Document, partition: str | None = None, own: bool = False
    ) -> Any | None:
        """`document` of the newest materialization of its asset for this partition, whichever run made it
        (`own`: whichever run of this run's organization made it)."""
        key = partition or context.partition_key
        record = (
            latest_materialization_of(context.instance, document.asset, key, context.run.tags.get(tags.ORGANIZATION))
            if own
            else latest_materialization(context.instance, document.asset, key)
        )
        try:
            data = self.read_recorded(context.instance, record, document) if record is not None else None
        except EvidenceMissing as exc:  # written before documents were kept per run: start a new history
            context.log.warning(f"{exc.message} Starting from no earlier {document.name}.")
            return None
        return json.loads(data) if data is not None else None
