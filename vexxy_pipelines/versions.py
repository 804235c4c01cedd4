"""Data versions are the SHA-256 of the document an asset stands for.

Equal content is an equal version, so the UI's staleness follows what actually changed, and each
version can be recomputed with `sha256sum` on the stored document. A consumer records a partitioned
input's version as Dagster does for partition dependencies: the SHA-256 of the upstream partition's
version string (`input_version_of`). A run re-evaluating a range of images records one
materialization per image with Dagster's own (run-based) version, as a range cannot carry one
version per image.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dagster import DataVersion

from vexxy.evidence.documents import Document


def content_version(stored: Any) -> DataVersion:
    """The data version of an asset whose main document is `stored` (a `StoredObject`)."""
    return DataVersion(stored.sha256)


def recorded_version(metadata: dict[str, Any], document: Document) -> DataVersion:
    """The data version from the `<key>_sha256` entry an asset's metadata records for `document`."""
    entry = metadata[f"{document.key}_sha256"]
    return DataVersion(str(getattr(entry, "value", entry)))


def input_version_of(data_version: str) -> str:
    """What a consumer records as `dagster/input_data_version/<asset>` for one upstream partition."""
    return hashlib.sha256(data_version.encode()).hexdigest()
