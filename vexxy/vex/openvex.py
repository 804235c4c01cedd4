"""OpenVEX 0.2.0 documents: the image is the product, packages are subcomponents.

Products and subcomponents are purls without qualifiers, which is how Trivy and Grype (through
go-vex) match statements to what they scanned. A document's `version` is bumped whenever its
statements change, and the `@id` stays the same for the same image. Each statement carries the time
it was first made as it stands (kept while it is unchanged); `author` and `tooling` name who and what
produced the document and from which inputs (see `vexxy.vex.provenance`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from packageurl import PackageURL

from vexxy.oci.image import ResolvedImage
from vexxy.vex.confidence import label
from vexxy.vex.provenance import Provenance
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


CONFIGURATION_MARK = "; analysis configuration "


def _configuration(tooling: str) -> str:
    """The `; analysis configuration <hash>` ending of a `tooling` value ("" without one)."""
    at = tooling.rfind(CONFIGURATION_MARK)
    return tooling[at:] if at >= 0 else ""


def configuration_named(document: dict[str, Any]) -> str | None:
    """The configuration hash an OpenVEX document's `tooling` names, if the image was run with one."""
    tooling = document.get("tooling")
    ending = _configuration(tooling) if isinstance(tooling, str) else ""
    return (ending.removeprefix(CONFIGURATION_MARK).strip() or "unnamed") if ending else None


def _timestamped(body: list[dict[str, Any]], previous: dict[str, Any] | None, timestamp: str) -> list[dict[str, Any]]:
    """Each statement with the timestamp of the same statement in `previous`, else `timestamp` (new or changed)."""

    def identity(statement: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in statement.items() if k != "timestamp"}, sort_keys=True)

    before = {
        identity(s): s["timestamp"] for s in (previous or {}).get("statements", []) if isinstance(s, dict) and "timestamp" in s
    }
    return [{**statement, "timestamp": before.get(identity(statement), timestamp)} for statement in body]


def render_openvex(
    image: ResolvedImage,
    statements: list[Statement],
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
    config_hash: str | None = None,
    provenance: Provenance | None = None,
) -> dict[str, Any]:
    """The OpenVEX document for `image`; `previous` (the last published one) decides the version. The analysis
    configuration's hash, when the image was run with one, is named at the end of `tooling` (the schema has no
    other field), after the inputs the provenance names.

    Unchanged statements (and configuration) keep `previous` as it is, provenance included: the document
    names the inputs of the version that first made these statements.
    """
    products = image_products(image)
    timestamp = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    body = _timestamped([_statement(s, products) for s in statements], previous, timestamp)
    configured = f"{CONFIGURATION_MARK}{config_hash}" if config_hash else ""
    tooling = (provenance.tooling() if provenance else TOOLING) + configured
    if (
        previous
        and previous.get("statements") == body
        and previous.get("@id") == document_id(image)
        and _configuration(previous.get("tooling", "")) == configured
    ):
        return previous
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": document_id(image),
        "author": provenance.author if provenance else AUTHOR,
        "role": "Document Creator",
        "timestamp": previous.get("timestamp", timestamp) if previous else timestamp,
        "version": int(previous.get("version", 0)) + 1 if previous else 1,
        "tooling": tooling,
        "statements": body,
    }
    if previous:
        document["last_updated"] = timestamp
    return document


def statement_times(document: dict[str, Any] | None) -> dict[tuple[str, str], datetime]:
    """When each (vulnerability, component purl) statement of an OpenVEX document was first made as it stands."""
    times: dict[tuple[str, str], datetime] = {}
    for statement in (document or {}).get("statements", []):
        if "timestamp" not in statement:
            continue
        at = datetime.fromisoformat(statement["timestamp"].replace("Z", "+00:00"))
        for product in statement["products"]:
            for sub in product.get("subcomponents", []):
                times[(statement["vulnerability"]["name"], sub["@id"])] = at
    return times
