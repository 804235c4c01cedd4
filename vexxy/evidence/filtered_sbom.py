"""The filtered SBOM: Syft's CycloneDX document cut down to the components that were loaded.

Each kept component carries its evidence as CycloneDX properties (`vexxy:evidence:*`).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from vexxy.evidence.mapping import LOADED, UsageReport

MAX_FILES_IN_PROPERTIES = 10


def package_id(bom_ref: str) -> str | None:
    """Syft writes bom-refs as `<purl>?package-id=<artifact id>` (or the bare id)."""
    query = parse_qs(urlparse(bom_ref).query)
    if "package-id" in query:
        return query["package-id"][0]
    return bom_ref if "/" not in bom_ref and ":" not in bom_ref else None


def filter_cyclonedx(full: dict[str, Any], usage: UsageReport) -> dict[str, Any]:
    loaded = {c.ref: c for c in usage.components if c.status == LOADED}
    document = copy.deepcopy(full)
    kept = []
    for component in full.get("components", []):
        ref = package_id(component.get("bom-ref", ""))
        if ref not in loaded:
            continue
        entry = copy.deepcopy(component)
        evidence = loaded[ref]
        entry.setdefault("properties", []).extend(
            [
                {"name": "vexxy:evidence:files_loaded_count", "value": str(len(evidence.files_loaded))},
                {"name": "vexxy:evidence:files_known", "value": str(evidence.files_known)},
                {"name": "vexxy:evidence:shared_objects_loaded", "value": str(evidence.shared_objects_loaded)},
                {"name": "vexxy:evidence:profile_digest", "value": usage.profile_digest},
            ]
            + [{"name": "vexxy:evidence:file", "value": path} for path in evidence.files_loaded[:MAX_FILES_IN_PROPERTIES]]
        )
        kept.append(entry)
    refs = {c.get("bom-ref") for c in kept} | {(document.get("metadata") or {}).get("component", {}).get("bom-ref")}
    document["components"] = kept
    document["serialNumber"] = f"urn:uuid:{uuid.uuid4()}"
    if "dependencies" in document:
        document["dependencies"] = [
            {**d, "dependsOn": [r for r in d.get("dependsOn", []) if r in refs]}
            for d in document["dependencies"]
            if d.get("ref") in refs
        ]
    metadata = document.setdefault("metadata", {})
    metadata.setdefault("properties", []).extend(
        [
            {"name": "vexxy:filtered", "value": "components with at least one file loaded at runtime"},
            {"name": "vexxy:profile_digest", "value": usage.profile_digest},
            {"name": "vexxy:profile_complete", "value": str(usage.profile_complete).lower()},
        ]
    )
    return document


def missing_from_full(filtered: dict[str, Any], full: dict[str, Any]) -> list[str]:
    """bom-refs of the filtered SBOM that the full one lacks (must be empty: filtered ⊆ full)."""
    full_refs = {c.get("bom-ref") for c in full.get("components", [])}
    return sorted(c.get("bom-ref") for c in filtered.get("components", []) if c.get("bom-ref") not in full_refs)
