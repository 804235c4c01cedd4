"""Fetch an image's blobs and prepare its layers for the sandbox, trusting nothing the image says.

Every digest is checked (`sha256:<64 hex>`) before it names a path; the config must list exactly
one diff_id per layer; each layer's uncompressed bytes must hash to its diff_id, or the image is
refused naming the layer and both digests. Unpacked layers live in the shared `LayerCache`.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vexxy.oci.image import ResolvedImage
from vexxy.oci.layers.digests import ImageIntegrityError, checked_digest
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.layers.reading import HashingReader, config_diff_ids
from vexxy.oci.layers.unpack import Budget, UnpackReport, unpack_layer
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.layer_cache import CachedLayer, DiffIdMismatch, LayerCache
from vexxy.sandbox.userns import ID_SHIFT


@dataclass(frozen=True)
class StoreLimits:
    max_rootfs_bytes: int = 4 << 30
    max_entries: int = 65_536  # files, directories, links of one image (inodes)
    max_cache_bytes: int = 10 << 30  # unpacked layers kept for reuse
    max_cache_entries: int = 1_000_000  # their files, directories and links (inodes)


@dataclass
class PreparedImage:
    layers: list[Path]  # overlay lower dirs, bottom layer first
    report: UnpackReport = field(default_factory=UnpackReport)


def _open_layer(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[return-value]


class ImageStore:
    def __init__(self, cache_dir: Path, client: RegistryClient, limits: StoreLimits = StoreLimits()):
        self.cache_dir = Path(cache_dir)
        self.client = client
        self.limits = limits
        self.layers = LayerCache(self.cache_dir, limits.max_cache_bytes, limits.max_cache_entries)

    @contextlib.contextmanager
    def _download(self, image: ResolvedImage, digest: str) -> Iterator[Path]:
        """A private copy of the blob, from the image's own repository, verified against `digest`, then removed."""
        checked_digest(digest, "blob digest", image.canonical)
        (self.cache_dir / "downloads").mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir / "downloads", prefix=f"{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as sink:
                self.client.stream_blob(parse_reference(image.canonical), digest, sink)
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def diff_ids(self, image: ResolvedImage) -> list[str]:
        return config_diff_ids(self.client, image)

    @contextlib.contextmanager
    def prepared(self, image: ResolvedImage, owner: str) -> Iterator[PreparedImage]:
        """The image's verified layers, leased to `owner` until the block ends; then the cache is trimmed."""
        diff_ids = self.diff_ids(image)
        for layer in image.layers:
            checked_digest(layer.digest, "layer digest", image.canonical)
        try:
            with self.layers.lease(owner, diff_ids):
                prepared = PreparedImage([])
                for index, (layer, diff_id) in enumerate(zip(image.layers, diff_ids, strict=True)):
                    cached = self._layer(image, index, layer.digest, diff_id, prepared.report)
                    prepared.report.add(cached.report)
                    self._check_limits(prepared.report, index, layer.digest)
                    prepared.layers.append(cached.tree)
                self.layers.evict()
                yield prepared
        finally:
            self.layers.evict()

    def _layer(self, image: ResolvedImage, index: int, blob: str, diff_id: str, so_far: UnpackReport) -> CachedLayer:
        ref = parse_reference(image.canonical)
        source = f"{ref.registry}/{ref.repository}@{blob}"
        name = f"{index + 1} of {len(image.layers)} ({blob})"
        cached = self.layers.get(diff_id, source)
        if cached is not None:
            return cached
        try:
            with self._download(image, blob) as path:
                if self.layers.known(diff_id):  # unpacked before from another source: hash this one's bytes only
                    with _open_layer(path) as stream:
                        return self.layers.vouch(diff_id, source, lambda: HashingReader(stream).finish())
                budget = Budget(self.limits.max_rootfs_bytes, self.limits.max_entries, so_far.bytes, so_far.entries)

                def unpack(tree: Path) -> tuple[str, UnpackReport]:
                    with _open_layer(path) as stream:
                        return unpack_layer(stream, tree, name, budget, ID_SHIFT)

                return self.layers.add(diff_id, source, unpack)
        except DiffIdMismatch as mismatch:
            raise ImageIntegrityError(
                f"Image {image.canonical}: layer {name} unpacks to {mismatch.actual}, but the image config says its "
                f"diff_id is {diff_id}; the image is refused.",
                hint="The config does not describe the image's own layers (corrupt or forged); rebuild and push it.",
            ) from None
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise UnsafeLayer(f"Image {image.canonical}: layer {name} is not a readable tar stream ({exc}).") from None

    def _check_limits(self, report: UnpackReport, index: int, blob: str) -> None:
        if report.bytes > self.limits.max_rootfs_bytes:
            raise UnsafeLayer(
                f"The image unpacks to more than {self.limits.max_rootfs_bytes // (1 << 20)} MiB (layer {index + 1}, {blob}).",
                hint="Raise the sandbox's rootfs size limit if the image is legitimately this large.",
            )
        if report.entries > self.limits.max_entries:
            raise UnsafeLayer(
                f"The image unpacks to more than {self.limits.max_entries} files and directories (layer {index + 1}, {blob}).",
                hint="Raise the sandbox's entry limit (VEXXY_SANDBOX_MAX_ENTRIES) if the image is legitimately this large.",
            )
