"""An image's symbolic links read from its layers' tar headers, without unpacking anything.

A backend that does not unpack the image here (Kubernetes runs it in the cluster) still needs
the links to canonicalize profile paths. Layers are applied in order: whiteouts delete, opaque
markers clear a directory's lower content, any other entry replaces what was at its path. Names
that climb out of the root are ignored (the image is not trusted).
"""

from __future__ import annotations

import tarfile
import tempfile

from vexxy.oci.image import ResolvedImage
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.rootfs import OPAQUE_MARKER, WHITEOUT_PREFIX


def _path(name: str) -> str | None:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/" + "/".join(parts)


def _drop_under(links: dict[str, str], directory: str, include_self: bool) -> None:
    prefix = directory.rstrip("/") + "/"
    for path in [p for p in links if p.startswith(prefix) or (include_self and p == directory)]:
        del links[path]


def apply_layer(links: dict[str, str], layer: tarfile.TarFile) -> None:
    for member in layer:
        path = _path(member.name)
        if path is None:
            continue
        parent, _, base = path.rpartition("/")
        if base == OPAQUE_MARKER:
            _drop_under(links, parent or "/", include_self=False)
        elif base.startswith(WHITEOUT_PREFIX):
            _drop_under(links, f"{parent}/{base[len(WHITEOUT_PREFIX) :]}", include_self=True)
        elif member.issym():
            links[path] = member.linkname
        else:
            links.pop(path, None)


def layer_symlinks(client: RegistryClient, image: ResolvedImage) -> dict[str, str]:
    ref = parse_reference(image.canonical)
    links: dict[str, str] = {}
    for layer in image.layers:
        with tempfile.TemporaryFile() as blob:
            client.stream_blob(ref, layer.digest, blob)
            blob.seek(0)
            with tarfile.open(fileobj=blob, mode="r:*") as archive:
                apply_layer(links, archive)
    return dict(sorted(links.items()))
