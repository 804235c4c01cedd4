"""Where the latest materialization of an asset says it stored a document (its own run's folder)."""

from pathlib import Path

from dagster import AssetKey

from vexxy.evidence.documents import Document


def latest_document_path(instance, document: Document) -> Path:
    event = instance.get_latest_materialization_event(AssetKey(document.asset))
    path = Path(event.asset_materialization.metadata[f"{document.key}_path"].value)
    assert path.parent.name == event.run_id  # each run writes its own folder
    return path
