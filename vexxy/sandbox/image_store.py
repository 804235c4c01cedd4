"""Fetch an image's layers (cached per layer digest) and unpack its root filesystem (per chain ID)."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

from vexxy.oci.image import ResolvedImage
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.rootfs import UnpackReport, chain_id, unpack_layers


class ImageStore:
    def __init__(self, cache_dir: Path, client: RegistryClient, max_rootfs_bytes: int):
        self.cache_dir = Path(cache_dir)
        self.client = client
        self.max_rootfs_bytes = max_rootfs_bytes

    def blob_path(self, digest: str) -> Path:
        return self.cache_dir / "blobs" / digest.replace(":", "/")

    def fetch_blob(self, image: ResolvedImage, digest: str) -> Path:
        target = self.blob_path(digest)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        ref = parse_reference(image.canonical)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        try:
            with os.fdopen(fd, "wb") as sink:
                self.client.stream_blob(ref, digest, sink)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def rootfs(self, image: ResolvedImage) -> tuple[Path, UnpackReport]:
        config = json.loads(self.fetch_blob(image, image.config_digest).read_bytes())
        diff_ids = config.get("rootfs", {}).get("diff_ids") or [layer.digest for layer in image.layers]
        blobs = [(layer.digest, self.fetch_blob(image, layer.digest)) for layer in image.layers]

        def opener(path: Path):
            def open_layer():
                with open(path, "rb") as probe:
                    gzipped = probe.read(2) == b"\x1f\x8b"
                return gzip.open(path, "rb") if gzipped else open(path, "rb")

            return open_layer

        return unpack_layers(
            [(digest, opener(path)) for digest, path in blobs],
            self.cache_dir / "rootfs",
            chain_id(diff_ids),
            self.max_rootfs_bytes,
        )
