"""An analysis's documents read back for an explanation, a report or a diff, each from the run that wrote it.

A VEX's lineage document (`vex.lineage.json`) names, for every input, the run whose documents it
consumed and their SHA-256: a re-evaluation's VEX is explained with the sandbox evidence of the
earlier run it reused, and every document read is checked against the hash recorded when it was made.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

from vexxy.audit.explain import AnalysisDocuments
from vexxy.evidence import documents
from vexxy.evidence.documents import Document, run_location
from vexxy.evidence.store import DocumentStore, EvidenceMissing

EXPLAINED_BY = (
    documents.VEX_STATEMENTS,
    documents.VULNERABILITIES,
    documents.COMPONENT_USAGE,
    documents.SYFT_SBOM,
    documents.EXECUTION_PROFILE,
    documents.ROOTFS_SYMLINKS,
)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def digest_folder(stored_path: str) -> str:
    """The image digest (hex) a run document was stored under: `<root>/<digest hex>/<run id>/<name>`.

    Read from where the document is, not from the partition key, which need not spell the whole digest."""
    folder = PurePath(stored_path).parent.parent.name
    if not _HEX64.fullmatch(folder):
        raise ValueError(f"{stored_path!r} is not a run document of an image")
    return folder


def located(lineage: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """{document name: (run id, SHA-256)} for every document the lineage names (the VEX's own last)."""
    where: dict[str, tuple[str, str | None]] = {}
    for step in lineage.get("inputs", []):
        for name, sha256 in (step.get("documents") or {}).items():
            where[name] = (step["run_id"], sha256)
    for name, sha256 in (lineage.get("documents") or {}).items():
        where[name] = (lineage["run_id"], sha256)
    return where


def read_lineage(store: DocumentStore, digest: str, run_id: str, sha256: str | None = None) -> dict[str, Any] | None:
    try:
        return json.loads(store.get(run_location(documents.VEX_LINEAGE, digest, run_id), sha256))
    except EvidenceMissing:
        return None


def load_documents(store: DocumentStore, digest: str, run_id: str, lineage: dict[str, Any] | None) -> AnalysisDocuments:
    """The documents explaining the VEX that run `run_id` wrote for `digest`: where its lineage says, else that run's folder.

    Without a lineage (a VEX written before lineage documents existed) every document is read from the
    run's own folder, which is where a full analysis writes them all.
    """
    where = located(lineage) if lineage else {}

    def get(document: Document, required: bool = False) -> Any:
        found_run, sha256 = where.get(document.name, (run_id, None))
        if lineage and document.name not in where and not required:
            return None
        try:
            return json.loads(store.get(run_location(document, digest, found_run), sha256))
        except EvidenceMissing:
            if required:
                raise
            return None

    matched = get(documents.VULNERABILITIES) or {}
    return AnalysisDocuments(
        statements=get(documents.VEX_STATEMENTS, required=True),
        vulnerabilities=matched,
        usage=get(documents.COMPONENT_USAGE),
        # the SBOM (megabytes) only for matches stored before they carried their components' files
        syft=get(documents.SYFT_SBOM) if "component_files" not in matched else None,
        profile=get(documents.EXECUTION_PROFILE),
        symlinks=get(documents.ROOTFS_SYMLINKS),
    )
