"""OpenVEX 0.2.0 documents: the image is the product, packages are subcomponents.

Products and subcomponents are purls without qualifiers, which is how Trivy and Grype (through
go-vex) match statements to what they scanned. A document's `version` is bumped whenever its
statements change, and the `@id` stays the same for the same image.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from packageurl import PackageURL

from vexxy.oci.image import ResolvedImage
from vexxy.vex.confidence import label
from vexxy.vex.statements import Statement, Status

CONTEXT = "https://openvex.dev/ns/v0.2.0"
AUTHOR = "vexxy"
TOOLING = "vexxy (runtime-evidence VEX)"


def image_purl(name: str, digest: str) -> str:
    """`pkg:oci/<last path segment>@sha256:...` with no qualifiers."""
    return PackageURL(type="oci", name=name.rsplit("/", 1)[-1].lower(), version=digest).to_string()


def image_products(image: ResolvedImage) -> list[dict[str, Any]]:
    """The platform manifest, plus the multi-platform index it came from when there is one."""
    digests = [image.manifest_digest] + ([image.index_digest] if image.index_digest else [])
    return [{"@id": image_purl(image.name, digest), "hashes": {"sha-256": digest.split(":", 1)[1]}} for digest in digests]


def _statement(statement: Statement, products: list[dict[str, Any]]) -> dict[str, Any]:
    vulnerability: dict[str, Any] = {"name": statement.vulnerability}
    if statement.aliases:
        vulnerability["aliases"] = list(statement.aliases)
    if statement.description:
        vulnerability["description"] = statement.description
    entry: dict[str, Any] = {
        "vulnerability": vulnerability,
        "products": [{**product, "subcomponents": [{"@id": statement.component_purl}]} for product in products],
        "status": statement.status.value,
        "status_notes": f"{statement.status_notes} Confidence: {label(statement.confidence, statement.confidence_reason)}.",
    }
    if statement.status is Status.NOT_AFFECTED:
        # The schema allows a justification or an impact statement, not both; evidence is in status_notes.
        if statement.justification:
            entry["justification"] = statement.justification
        else:
            entry["impact_statement"] = statement.impact_statement or statement.status_notes
    if statement.status is Status.AFFECTED:
        entry["action_statement"] = statement.action_statement or "Upgrade the component."
    return entry


def document_id(image: ResolvedImage) -> str:
    return f"urn:vexxy:openvex:{image.manifest_digest}"


def render_openvex(
    image: ResolvedImage,
    statements: list[Statement],
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
    config_hash: str | None = None,
) -> dict[str, Any]:
    """The OpenVEX document for `image`; `previous` (the last published one) decides the version. The analysis
    configuration's hash, when the image was run with one, is named in `tooling` (the schema has no other field)."""
    products = image_products(image)
    body = [_statement(s, products) for s in statements]
    tooling = f"{TOOLING}; analysis configuration {config_hash}" if config_hash else TOOLING
    if (
        previous
        and previous.get("statements") == body
        and previous.get("@id") == document_id(image)
        and previous.get("tooling") == tooling
    ):
        return previous
    timestamp = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": document_id(image),
        "author": AUTHOR,
        "role": "Document Creator",
        "timestamp": previous.get("timestamp", timestamp) if previous else timestamp,
        "version": int(previous.get("version", 0)) + 1 if previous else 1,
        "tooling": tooling,
        "statements": body,
    }
    if previous:
        document["last_updated"] = timestamp
    return document
