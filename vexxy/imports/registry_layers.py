"""An image's files for the import analysis, read from its layer blobs in the registry.

Each blob is fetched from the image's own repository into an anonymous spool file, verified
against its digest while it downloads, and read once as a tar stream whose uncompressed bytes must
hash to the config's diff_id (and stay under a byte bound per layer), or the image is refused as it is by
the sandbox. The same reading works for every sandbox backend.
"""

from __future__ import annotations

import gzip
import tarfile
import tempfile
import zlib
from typing import BinaryIO

from vexxy.oci.image import ResolvedImage
from vexxy.oci.layers.digests import ImageIntegrityError, checked_digest
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.layers.merged import MAX_ENTRIES, MAX_KEPT_BYTES, LayerFiles
from vexxy.oci.layers.reading import HashingReader, config_diff_ids
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient

MAX_UNCOMPRESSED_BYTES = 4 << 30


class _Bounded:
    """A read-only stream that refuses to yield more than `limit` bytes in total."""

    def __init__(self, stream: BinaryIO, limit: int, what: str):
        self._stream, self._limit, self._left, self._what = stream, limit, limit, what

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise UnsafeLayer(f"{self._what} unpacks to more than {self._limit} bytes; it was not read.")
        return data


def read_image_files(
    client: RegistryClient,
    image: ResolvedImage,
    max_entries: int = MAX_ENTRIES,
    max_kept_bytes: int = MAX_KEPT_BYTES,
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES,
) -> LayerFiles:
    ref = parse_reference(image.canonical)
    diff_ids = config_diff_ids(client, image)
    files = LayerFiles(max_entries=max_entries, max_kept_bytes=max_kept_bytes)
    for index, (layer, diff_id) in enumerate(zip(image.layers, diff_ids, strict=True)):
        blob = checked_digest(layer.digest, "layer digest", image.canonical)
        name = f"{index + 1} of {len(image.layers)} ({blob})"
        with tempfile.TemporaryFile(prefix="vexxy-layer-") as spool:
            client.stream_blob(ref, blob, spool)
            spool.seek(0)
            gzipped = spool.read(2) == b"\x1f\x8b"
            spool.seek(0)
            raw: BinaryIO = gzip.GzipFile(fileobj=spool, mode="rb") if gzipped else spool  # type: ignore[assignment]
            hashing = HashingReader(_Bounded(raw, max_uncompressed_bytes, f"Image {image.canonical}: layer {name}"))
            try:
                files.add_layer(hashing, name)  # type: ignore[arg-type]
                actual = hashing.finish()
            except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise UnsafeLayer(f"Image {image.canonical}: layer {name} is not a readable tar stream ({exc}).") from None
        if actual != diff_id:
            raise ImageIntegrityError(
                f"Image {image.canonical}: layer {name} unpacks to {actual}, but the image config says its "
                f"diff_id is {diff_id}; the image is refused.",
                hint="The config does not describe the image's own layers (corrupt or forged); rebuild and push it.",
            )
    return files.finish()
