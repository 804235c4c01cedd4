"""Where the latest materialization of an image's asset says it stored a document (its own run's folder)."""

from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter

from vexxy.evidence.documents import Document


def latest_document_path(instance, document: Document, partition: str) -> Path:
    """The partition's own latest materialization: other images analyzed by other tests never stand in for it."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(document.asset), asset_partitions=[partition]), limit=1
    ).records
    assert records, f"{document.asset} was never materialized for {partition}"
    event = records[0].event_log_entry
    path = Path(event.asset_materialization.metadata[f"{document.key}_path"].value)
    assert path.parent.name == event.run_id  # each run writes its own folder
    return path
