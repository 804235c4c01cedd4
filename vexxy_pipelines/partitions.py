"""One partition per analyzed image, keyed by content: `registry/repository@sha256:<digest>`."""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition

from vexxy.errors import InvalidReference
from vexxy.oci.reference import SHA256_DIGEST_RE, ImageReference, parse_reference

image_partitions = DynamicPartitionsDefinition(name="images")

# Run tags carrying what the key does not: the reference as the user wrote it, the index digest.


def reference_for_partition(key: str) -> ImageReference:
    """The content-addressed reference a partition key stands for (keys always carry a digest)."""
    ref = parse_reference(key)
    if not ref.digest or not SHA256_DIGEST_RE.match(ref.digest):
        raise InvalidReference(
            f"Partition key {key!r} does not name image content.",
            hint="Image partition keys are registry/repository@sha256:<64 hex>; add images with `vexxy analyze REF`.",
        )
    return ImageReference(ref.registry, ref.repository, None, ref.digest)


def digest_hex(key: str) -> str:
    return reference_for_partition(key).digest.split(":", 1)[1]
