"""The in-toto Statement v1 carrying an image's OpenVEX document as its predicate.

The predicate type is `https://openvex.dev/ns`, the OpenVEX type URI (the document's own `@context`
says v0.2.0): cosign's `--type openvex` and OpenVEX's OCI discovery (which `trivy --vex oci` uses)
select attestations by exactly that string, so a versioned URI would not be found by either.
The subject is the image's repository with its manifest digest, as `cosign attest` writes it.
"""

from __future__ import annotations

import json
from typing import Any

from vexxy.oci.reference import SHA256_DIGEST_RE

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
OPENVEX_PREDICATE_TYPE = "https://openvex.dev/ns"


def vex_statement(repository: str, manifest_digest: str, openvex: dict[str, Any]) -> dict[str, Any]:
    """`repository` is `registry/repository`; `manifest_digest` the `sha256:` digest the VEX is about."""
    if not SHA256_DIGEST_RE.match(manifest_digest):
        raise ValueError(f"not a sha256 manifest digest: {manifest_digest!r}")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": repository, "digest": {"sha256": manifest_digest.split(":", 1)[1]}}],
        "predicateType": OPENVEX_PREDICATE_TYPE,
        "predicate": openvex,
    }


def serialize(statement: dict[str, Any]) -> bytes:
    """The signed bytes: compact JSON (DSSE signs bytes, so no canonical form is needed)."""
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode()


def subject_digests(statement: dict[str, Any]) -> set[str]:
    """Every `sha256:<hex>` the statement's subjects name."""
    return {
        "sha256:" + subject["digest"]["sha256"]
        for subject in statement.get("subject") or []
        if isinstance(subject, dict) and isinstance(subject.get("digest"), dict) and "sha256" in subject["digest"]
    }
