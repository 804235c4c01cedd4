"""Where large outputs live (SBOMs, advisory snapshots, VEX): files with a checksum and size.

Materialization metadata records each object's path, SHA-256 and size, so the audit trail in
Dagster pins exactly which bytes a VEX statement was derived from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, MetadataValue
from pydantic import Field


@dataclass(frozen=True)
class StoredObject:
    path: str
    sha256: str
    size: int

    def metadata(self, prefix: str) -> dict[str, Any]:
        return {
            f"{prefix}_path": MetadataValue.path(self.path),
            f"{prefix}_sha256": self.sha256,
            f"{prefix}_bytes": MetadataValue.int(self.size),
        }


class EvidenceStore(ConfigurableResource):
    """A filesystem directory of content, laid out as `<scope>/<name>` (scope: image digest or `vulnerability-db`)."""

    root: str = Field(description="Directory holding every stored document.")

    def path(self, scope: str, name: str) -> Path:
        safe = [part for part in (scope, name) if part and ".." not in part.split("/")]
        if len(safe) != 2:
            raise ValueError(f"refusing evidence path {scope!r}/{name!r}")
        return Path(self.root).expanduser() / scope / name

    def put(self, scope: str, name: str, data: bytes) -> StoredObject:
        """Write atomically (temp file + rename): a crashed step never leaves half a document."""
        target = self.path(scope, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        return StoredObject(str(target), hashlib.sha256(data).hexdigest(), len(data))

    def put_json(self, scope: str, name: str, document: Any) -> StoredObject:
        return self.put(scope, name, json.dumps(document, indent=2, sort_keys=False).encode())

    def exists(self, scope: str, name: str) -> bool:
        return self.path(scope, name).exists()

    def get(self, scope: str, name: str) -> bytes:
        return self.path(scope, name).read_bytes()

    def get_json(self, scope: str, name: str) -> Any:
        return json.loads(self.get(scope, name))
