"""Build (hostile) test images on the cached Debian base and push them to the test registry."""

from __future__ import annotations

import tarfile

from vexxy.demo.images import debian_python_layer
from vexxy.oci.build import EPOCH, RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient


def symlink_entry(path: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, EPOCH
    return info


def device_entry(path: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.devmajor, info.devminor, info.mode = tarfile.CHRTYPE, 1, 3, 0o666
    return info


def push(registry, name: str, runtime: RuntimeConfig, extra_entries=(), files: dict[str, str] | None = None):
    """The Debian+python3 base, plus a layer with `files` (path -> text) and raw `extra_entries`."""
    entries = (
        [directory_entry("app")] + [file_entry(path, text, 0o755) for path, text in (files or {}).items()] + list(extra_entries)
    )
    layers = [debian_python_layer(log=lambda message: None), layer_from_entries(entries)]
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/hostile/{name}:1")
    digest, _ = push_image(client, ref, layers, runtime, tag="1")
    return client.resolve(ref.with_digest(digest))


def python_image(registry, name: str, code: str, ports=None, user: str = ""):
    return push(
        registry,
        name,
        RuntimeConfig(entrypoint=["python3", "/app/main.py"], exposed_ports=ports, user=user),
        files={"app/main.py": code},
    )
