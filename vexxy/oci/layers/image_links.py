"""An image's symbolic links read from its layer blobs, without unpacking anything.

A backend that does not unpack the image here (Kubernetes runs it in the cluster) still needs
the links to canonicalize profile paths. The layers are applied by the same reader as the import
analysis (`vexxy.oci.layers.merged`, from `vexxy.oci.layers.entries`), so the links are those of the
filesystem the sandbox would run; a layer it refuses is refused here too.
"""

from __future__ import annotations

import gzip
import tempfile
from typing import BinaryIO

from vexxy.oci.image import ResolvedImage
from vexxy.oci.layers.merged import LayerFiles
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient


def apply_layer(files: LayerFiles, blob: BinaryIO, name: str) -> None:
    """Lay one layer blob (gzip-compressed or not) over `files`."""
    gzipped = blob.read(2) == b"\x1f\x8b"
    blob.seek(0)
    files.add_layer(gzip.GzipFile(fileobj=blob, mode="rb") if gzipped else blob, name)  # type: ignore[arg-type]


def layer_symlinks(client: RegistryClient, image: ResolvedImage) -> dict[str, str]:
    ref = parse_reference(image.canonical)
    files = LayerFiles(max_kept_bytes=0)
    for index, layer in enumerate(image.layers):
        with tempfile.TemporaryFile() as blob:
            client.stream_blob(ref, layer.digest, blob)
            blob.seek(0)
            apply_layer(files, blob, f"{index + 1} of {len(image.layers)} ({layer.digest})")
    return dict(sorted(files.symlinks.items()))
