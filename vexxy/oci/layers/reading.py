"""Verified reading of an image's layers: the diff_ids its config promises, and the hash of what a layer's
uncompressed stream really holds. A layer is trusted only once the two agree."""

from __future__ import annotations

import hashlib
import json
from typing import BinaryIO

from vexxy.oci.image import ResolvedImage
from vexxy.oci.layers.digests import ImageIntegrityError, checked_digest
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient


def config_diff_ids(client: RegistryClient, image: ResolvedImage) -> list[str]:
    """The config's diff_ids: exactly one per layer, each a well-formed sha256 digest."""
    digest = checked_digest(image.config_digest, "config digest", image.canonical)
    raw = client.get_blob(parse_reference(image.canonical), digest)
    try:
        rootfs = json.loads(raw).get("rootfs") or {}
        diff_ids = rootfs.get("diff_ids")
    except (ValueError, AttributeError):
        diff_ids = None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(image.layers):
        count = len(diff_ids) if isinstance(diff_ids, list) else "no"
        raise ImageIntegrityError(
            f"Image {image.canonical}: its config lists {count} diff_ids for {len(image.layers)} layers; the image is refused.",
            hint="Every layer needs exactly one diff_id in the config's rootfs; rebuild the image with a standard tool.",
        )
    return [checked_digest(d, f"diff_id of layer {i + 1}", image.canonical) for i, d in enumerate(diff_ids)]


class HashingReader:
    """A read-only stream that hashes every byte read through it (the layer's diff_id)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        return data

    def finish(self) -> str:
        """Read whatever the tar reader left (end-of-archive padding) and return `sha256:<hex>`."""
        while self.read(1 << 20):
            pass
        return "sha256:" + self._hash.hexdigest()
