"""Build OCI images from directories and files, and publish them to a registry.

vexxy builds its own demo and test images (no public registry is assumed reachable): a Debian
root filesystem, Python packages installed from PyPI, an application layer. Layers are written
deterministically (sorted entries, fixed mtimes) so the same inputs give the same digests.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vexxy.oci.image import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, Platform
from vexxy.oci.reference import ImageReference
from vexxy.oci.registry_client import RegistryClient, sha256_digest

EPOCH = 1_700_000_000  # fixed mtime: identical inputs give identical layer digests
_SKIP_CONTENT_OF = ("dev", "proc", "sys", "run", "tmp", "var/cache/apt/archives")


@dataclass(frozen=True)
class LayerBlob:
    """A gzipped layer tarball plus the uncompressed digest (diff_id) the image config lists."""

    data: bytes
    diff_id: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(self.data)
        tmp.with_suffix(".diffid").write_text(self.diff_id)
        os.replace(tmp.with_suffix(".diffid"), path.with_suffix(".diffid"))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> LayerBlob | None:
        if path.exists() and path.with_suffix(".diffid").exists():
            return cls(path.read_bytes(), path.with_suffix(".diffid").read_text().strip())
        return None


def _finish(raw: bytes) -> LayerBlob:
    return LayerBlob(gzip.compress(raw, compresslevel=6, mtime=0), sha256_digest(raw))


def layer_from_directory(root: Path, prefix: str = "") -> LayerBlob:
    """Tar a directory tree as a layer; device nodes and the content of /dev, /proc, /sys are left out."""
    root = Path(root)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            if rel != ".":
                _add(tar, root, Path(dirpath), prefix)
            if rel in _SKIP_CONTENT_OF:
                dirnames[:] = []
                continue
            dirnames.sort()
            linked_dirs = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for name in sorted(filenames + linked_dirs):
                _add(tar, root, Path(dirpath) / name, prefix)
    return _finish(buffer.getvalue())


def _add(tar: tarfile.TarFile, root: Path, path: Path, prefix: str) -> None:
    info = tar.gettarinfo(str(path), arcname=os.path.join(prefix, os.path.relpath(path, root)))
    if not (info.isfile() or info.isdir() or info.issym() or info.islnk()):
        return
    info.mtime = EPOCH
    info.uname = info.gname = ""
    if info.isfile():
        with open(path, "rb") as handle:
            tar.addfile(info, handle)
    else:
        tar.addfile(info)


def layer_from_entries(entries: Iterable[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> LayerBlob:
    """A layer from explicit tar entries, exactly as given (tests use it for hostile layers)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info, data = entry if isinstance(entry, tuple) else (entry, None)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return _finish(buffer.getvalue())


def file_entry(path: str, content: bytes | str, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    data = content.encode() if isinstance(content, str) else content
    info = tarfile.TarInfo(path)
    info.size, info.mode, info.mtime = len(data), mode, EPOCH
    return info, data


def directory_entry(path: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, EPOCH
    return info


@dataclass(frozen=True)
class RuntimeConfig:
    """The `config` section of an OCI image config: how the image wants to be run."""

    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] | None = None
    user: str = ""
    working_dir: str = ""
    exposed_ports: list[str] | None = None
    labels: dict[str, str] | None = None

    def to_oci(self) -> dict:
        config: dict = {}
        if self.entrypoint:
            config["Entrypoint"] = self.entrypoint
        if self.cmd:
            config["Cmd"] = self.cmd
        config["Env"] = self.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        if self.user:
            config["User"] = self.user
        if self.working_dir:
            config["WorkingDir"] = self.working_dir
        if self.exposed_ports:
            config["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.labels:
            config["Labels"] = self.labels
        return config


def push_image(
    client: RegistryClient,
    target: ImageReference,
    layers: list[LayerBlob],
    runtime: RuntimeConfig,
    platform: Platform = Platform(),
    tag: str | None = None,
) -> tuple[str, int]:
    """Push layers, config and manifest; returns (manifest digest, manifest size)."""
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": platform.architecture,
        "os": platform.os,
        **({"variant": platform.variant} if platform.variant else {}),
        "config": runtime.to_oci(),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "vexxy image builder"} for _ in layers],
    }
    config_raw = json.dumps(config, sort_keys=True).encode()
    client.push_blob(target, config_raw)
    for layer in layers:
        client.push_blob(target, layer.data)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config_raw), "size": len(config_raw)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer.digest, "size": len(layer.data)} for layer in layers],
    }
    raw = json.dumps(manifest, sort_keys=True).encode()
    return client.push_manifest(target, raw, OCI_MANIFEST, tag=tag), len(raw)


def push_index(client: RegistryClient, target: ImageReference, manifests: list[tuple[str, int, Platform]], tag: str) -> str:
    """Push a multi-platform index over already-pushed manifests."""
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": size,
                "platform": {
                    "os": platform.os,
                    "architecture": platform.architecture,
                    **({"variant": platform.variant} if platform.variant else {}),
                },
            }
            for digest, size, platform in manifests
        ],
    }
    return client.push_manifest(target, json.dumps(index, sort_keys=True).encode(), OCI_INDEX, tag=tag)
