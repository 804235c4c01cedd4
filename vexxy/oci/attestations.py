"""Attestations attached to an image the way cosign attaches them, so its tools and Trivy find them.

Convention (cosign's tag scheme, read by `cosign verify-attestation` and by OpenVEX's OCI discovery,
which `trivy image --vex oci` uses): in the image's own repository, the tag `sha256-<hex>.att` of
the image's manifest digest holds an OCI image manifest whose layers are DSSE envelopes
(`application/vnd.dsse.envelope.v1+json`), each annotated `dev.cosignproject.cosign/signature: ""`
and `predicateType: <URI>`; the config is the image config such a layer stack implies. Attaching a
new attestation replaces the layers of the same predicate type (cosign's `--replace`), so consumers
that take the first VEX they find never read a stale one; other attestations are kept.

The target is always the attested image's own repository, and an internal registry is contacted
only when the operator allows it (`VEXXY_ALLOWED_REGISTRIES`), as for pulls of customers' images.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vexxy.errors import ImageNotFound, RegistryError
from vexxy.oci.egress import check_registry, system_resolver
from vexxy.oci.image import OCI_CONFIG, OCI_MANIFEST
from vexxy.oci.reference import SHA256_DIGEST_RE, ImageReference
from vexxy.oci.registry_client import RegistryClient, sha256_digest

DSSE_LAYER_TYPE = "application/vnd.dsse.envelope.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PREDICATE_TYPE_ANNOTATION = "predicateType"
MAX_ATTESTATION_LAYERS = 100  # cosign refuses more attestations than this on one image
MAX_LAYER_BYTES = 16 * 1024 * 1024
_ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class AttachedAttestation:
    repository: str  # registry/repository
    tag: str
    manifest_digest: str
    layer_digest: str
    layers: int  # attestations on the image after this one was attached
    replaced: int  # earlier attestations of the same predicate type it replaced


@dataclass(frozen=True)
class StoredAttestation:
    predicate_type: str | None
    annotations: dict[str, str]
    envelope: bytes


def attestation_tag(manifest_digest: str) -> str:
    if not SHA256_DIGEST_RE.match(manifest_digest):
        raise ValueError(f"not a sha256 manifest digest: {manifest_digest!r}")
    return manifest_digest.replace(":", "-") + ".att"


def _target(image: ImageReference) -> ImageReference:
    if not image.digest or not SHA256_DIGEST_RE.match(image.digest):
        raise ValueError(f"{image} does not name image content (no sha256 digest)")
    return ImageReference(image.registry, image.repository, attestation_tag(image.digest))


def _config(layer_digests: list[str]) -> bytes:
    """The config a stack of uncompressed layers implies (diff_id = digest), as go-containerregistry writes it."""
    return json.dumps(
        {
            "architecture": "",
            "created": _ZERO_TIME,
            "history": [{"created": _ZERO_TIME} for _ in layer_digests],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": layer_digests},
            "config": {},
        },
        separators=(",", ":"),
    ).encode()


def _existing_layers(client: RegistryClient, target: ImageReference) -> list[dict]:
    try:
        raw, _, _ = client.get_manifest(target)
    except ImageNotFound:
        return []
    document = json.loads(raw)
    layers = (document.get("layers") if isinstance(document, dict) else None) or []
    if not isinstance(layers, list) or len(layers) > MAX_ATTESTATION_LAYERS or not all(map(_well_formed, layers)):
        raise RegistryError(f"{target} holds a malformed attestation manifest or more than {MAX_ATTESTATION_LAYERS} layers.")
    return layers


def _well_formed(layer: object) -> bool:
    """A descriptor as the OCI spec has it: the registry is the customer's, so its manifest may hold anything."""
    return (
        isinstance(layer, dict)
        and isinstance(layer.get("digest"), str)
        and isinstance(layer.get("annotations", {}), dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in layer.get("annotations", {}).items())
    )


def attach_attestation(
    client: RegistryClient,
    image: ImageReference,
    envelope: bytes,
    predicate_type: str,
    allowed_registries: frozenset[str],
    resolve: Callable[[str], Iterable[str]] = system_resolver,
    annotations: dict[str, str] | None = None,
) -> AttachedAttestation:
    """Push `envelope` (DSSE JSON) to `image`'s `.att` tag, replacing attestations of `predicate_type`;
    `annotations` go on its layer beside cosign's."""
    target = _target(image)
    check_registry(image.registry, allowed_registries, resolve)
    existing = _existing_layers(client, target)
    kept = [layer for layer in existing if (layer.get("annotations") or {}).get(PREDICATE_TYPE_ANNOTATION) != predicate_type]
    layer_digest = client.push_blob(target, envelope)
    layers = [
        *kept,
        {
            "mediaType": DSSE_LAYER_TYPE,
            "size": len(envelope),
            "digest": layer_digest,
            "annotations": {**(annotations or {}), SIGNATURE_ANNOTATION: "", PREDICATE_TYPE_ANNOTATION: predicate_type},
        },
    ]
    config = _config([layer["digest"] for layer in layers])
    config_digest = client.push_blob(target, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": config_digest},
            "layers": layers,
        },
        separators=(",", ":"),
    ).encode()
    digest = client.push_manifest(target, manifest, OCI_MANIFEST, tag=target.tag)
    return AttachedAttestation(target.name, target.tag, digest, layer_digest, len(layers), len(existing) - len(kept))


def read_attestations(client: RegistryClient, image: ImageReference) -> list[StoredAttestation]:
    """Every attestation on `image`'s `.att` tag (empty when there is none), each layer size-bounded."""
    target = _target(image)
    attestations = []
    for layer in _existing_layers(client, target):
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(digest, str) or not SHA256_DIGEST_RE.match(digest):
            raise RegistryError(f"{target} lists a layer without a sha256 digest.")
        if not isinstance(size, int) or not 0 <= size <= MAX_LAYER_BYTES:
            raise RegistryError(f"{target} lists a layer of {size!r} bytes (at most {MAX_LAYER_BYTES}).")
        annotations = dict(layer.get("annotations") or {})
        data = client.get_blob(target, digest, limit=MAX_LAYER_BYTES)
        if sha256_digest(data) != digest or len(data) != size:
            raise RegistryError(f"Layer {digest} of {target} does not match its descriptor.")
        attestations.append(StoredAttestation(annotations.get(PREDICATE_TYPE_ANNOTATION), annotations, data))
    return attestations
