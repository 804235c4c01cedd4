"""The catalogue of stored documents: what each is called, its media type, who writes it, where it lives.

Every analysis run writes its own copy of the documents of the assets it materializes, under
`<image digest hex>/<run id>/<name>`: two organizations (or two settings) analyzing one image never
share a file, and a later run never replaces an earlier one's evidence. Advisory snapshots are
content-addressed (`vulnerability-db/<content hash>/<name>`): the same advisories are the same bytes.
The fleet's posture tables are written per run under `fleet/<run id>/<name>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath


class Scope(Enum):
    RUN = "run"  # one copy per analysis run of one image
    SNAPSHOT = "snapshot"  # one copy per advisory content hash
    FLEET = "fleet"  # one copy per run of the fleet's (unpartitioned) posture


@dataclass(frozen=True)
class Document:
    name: str  # file name in its folder
    media_type: str
    asset: str  # the asset whose materialization writes it (and records its SHA-256)
    scope: Scope
    key: str  # prefix of its `<key>_path`, `<key>_sha256`, `<key>_bytes` materialization metadata


JSON = "application/json"
CYCLONEDX = "application/vnd.cyclonedx+json"

IMAGE = Document("image.json", JSON, "image", Scope.RUN, "image_json")
SYFT_SBOM = Document("sbom.syft.json", "application/vnd.syft+json", "sbom", Scope.RUN, "syft_json")
CYCLONEDX_SBOM = Document("sbom.cdx.json", CYCLONEDX, "sbom", Scope.RUN, "cyclonedx")
EXECUTION_PROFILE = Document("execution_profile.json", JSON, "execution_profile", Scope.RUN, "profile")
ROOTFS_SYMLINKS = Document("rootfs.symlinks.json", JSON, "execution_profile", Scope.RUN, "symlinks")
FUZZ_FINDINGS = Document("fuzz_findings.json", JSON, "fuzz_findings", Scope.RUN, "findings")
FUZZ_FINDINGS_SARIF = Document("fuzz_findings.sarif.json", "application/sarif+json", "fuzz_findings", Scope.RUN, "sarif")
FILTERED_SBOM = Document("sbom.filtered.cdx.json", CYCLONEDX, "filtered_sbom", Scope.RUN, "filtered_sbom")
COMPONENT_USAGE = Document("component_usage.json", JSON, "filtered_sbom", Scope.RUN, "usage")
IMPORT_EVIDENCE = Document("imports.json", JSON, "first_party_imports", Scope.RUN, "imports")
IMAGE_CODE = Document("image_code.json", JSON, "first_party_imports", Scope.RUN, "image_code")
VULNERABILITIES = Document("vulnerabilities.json", JSON, "vulnerabilities", Scope.RUN, "vulnerabilities_json")
VEX_STATEMENTS = Document("vex.statements.json", JSON, "vex_document", Scope.RUN, "statements")
OPENVEX = Document("vex.openvex.json", JSON, "vex_document", Scope.RUN, "openvex")
CYCLONEDX_VEX = Document("vex.cdx.json", CYCLONEDX, "vex_document", Scope.RUN, "cyclonedx")
VEX_ATTESTATION = Document(
    "vex.intoto.dsse.json", "application/vnd.dsse.envelope.v1+json", "vex_attestation", Scope.RUN, "attestation"
)
VEX_LINEAGE = Document("vex.lineage.json", JSON, "vex_document", Scope.RUN, "lineage")
AUDIT_REPORT = Document("audit_report.html", "text/html", "vex_document", Scope.RUN, "audit_report")
ADVISORY_SNAPSHOT = Document("osv.jsonl.gz", "application/gzip", "vulnerability_db", Scope.SNAPSHOT, "snapshot")
ADVISORY_INDEX = Document("osv.sqlite", "application/vnd.sqlite3", "vulnerability_db", Scope.SNAPSHOT, "index")
PARQUET, CSV = "application/vnd.apache.parquet", "text/csv"
FLEET_IMAGES = Document("fleet_images.parquet", PARQUET, "fleet_posture", Scope.FLEET, "images_parquet")
FLEET_IMAGES_CSV = Document("fleet_images.csv", CSV, "fleet_posture", Scope.FLEET, "images_csv")
FLEET_VULNERABILITIES = Document(
    "fleet_vulnerabilities.parquet", PARQUET, "fleet_posture", Scope.FLEET, "vulnerabilities_parquet"
)
FLEET_VULNERABILITIES_CSV = Document("fleet_vulnerabilities.csv", CSV, "fleet_posture", Scope.FLEET, "vulnerabilities_csv")

CATALOGUE: tuple[Document, ...] = (
    IMAGE,
    SYFT_SBOM,
    CYCLONEDX_SBOM,
    EXECUTION_PROFILE,
    ROOTFS_SYMLINKS,
    FUZZ_FINDINGS,
    FUZZ_FINDINGS_SARIF,
    FILTERED_SBOM,
    COMPONENT_USAGE,
    IMPORT_EVIDENCE,
    IMAGE_CODE,
    VULNERABILITIES,
    VEX_STATEMENTS,
    OPENVEX,
    CYCLONEDX_VEX,
    VEX_ATTESTATION,
    VEX_LINEAGE,
    AUDIT_REPORT,
    ADVISORY_SNAPSHOT,
    ADVISORY_INDEX,
    FLEET_IMAGES,
    FLEET_IMAGES_CSV,
    FLEET_VULNERABILITIES,
    FLEET_VULNERABILITIES_CSV,
)
SNAPSHOT_FOLDER = "vulnerability-db"
FLEET_FOLDER = "fleet"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")


def run_location(document: Document, digest: str, run_id: str) -> PurePosixPath:
    """`<digest hex>/<run id>/<name>` for a run-scoped document of the image `digest` (`sha256:...` or its hex)."""
    hex_digest = digest.split(":", 1)[1] if digest.startswith("sha256:") else digest
    if document.scope is not Scope.RUN:
        raise ValueError(f"{document.name} is not stored per run")
    if not _HEX64.fullmatch(hex_digest):
        raise ValueError(f"not an image digest: {digest!r}")
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return PurePosixPath(hex_digest, run_id, document.name)


def snapshot_location(document: Document, content_hash: str) -> PurePosixPath:
    """`vulnerability-db/<content hash>/<name>` for a content-addressed advisory snapshot."""
    if document.scope is not Scope.SNAPSHOT:
        raise ValueError(f"{document.name} is not a content-addressed snapshot")
    if not _HEX64.fullmatch(content_hash):
        raise ValueError(f"not a content hash: {content_hash!r}")
    return PurePosixPath(SNAPSHOT_FOLDER, content_hash, document.name)


def fleet_location(document: Document, run_id: str) -> PurePosixPath:
    """`fleet/<run id>/<name>` for a document of the fleet's posture."""
    if document.scope is not Scope.FLEET:
        raise ValueError(f"{document.name} is not a fleet document")
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return PurePosixPath(FLEET_FOLDER, run_id, document.name)


def produced_by(asset: str) -> tuple[Document, ...]:
    return tuple(d for d in CATALOGUE if d.asset == asset)
