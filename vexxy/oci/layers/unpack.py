"""Unpack one image layer into its own directory, safely, in overlayfs's format.

Each layer is written on its own (the way Docker's overlay2 driver and containerd's overlay
snapshotter do), so one unpacked directory serves every image that shares the layer, stacked as
an overlay lower layer. The entries come checked from `vexxy.oci.layers.entries`, as every other
reader of layers takes them, so the sandbox runs the filesystem the analysis reads. Whiteouts
become overlay whiteouts (0/0 character devices) and opaque markers the `trusted.overlay.opaque`
attribute; no entry is placed beneath a link (the checked entries never ask for it), hard links
name a file this layer wrote earlier, device nodes are skipped, ownership is shifted into the
sandbox's user-namespace range, and the bytes and entries (inodes) are capped. The uncompressed
stream is hashed as it is read: a layer whose digest differs from the config's diff_id is refused,
whatever it unpacked to.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vexxy.oci.layers.entries import HARDLINK, OPAQUE, WHITEOUT, UnsafeLayer, layer_entries
from vexxy.oci.layers.reading import HashingReader

OPAQUE_XATTR = "trusted.overlay.opaque"
MAX_ID = 65535  # ids an image may use; larger ones become `nobody` inside the sandbox
NOBODY = 65534


@dataclass(frozen=True)
class Budget:
    """What is left of an image's unpack limits when a layer starts."""

    max_bytes: int
    max_entries: int
    bytes_before: int = 0
    entries_before: int = 0


@dataclass
class UnpackReport:
    files: int = 0
    bytes: int = 0
    entries: int = 0
    skipped_devices: list[str] = field(default_factory=list)
    clamped_links: list[str] = field(default_factory=list)  # symlinks whose targets point outside the root

    def add(self, other: UnpackReport) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.entries += other.entries
        self.skipped_devices += other.skipped_devices
        self.clamped_links += other.clamped_links


def _shift(value: int, id_shift: int) -> int:
    return (value if 0 <= value <= MAX_ID else NOBODY) + id_shift


class LayerWriter:
    """Applies one layer into `root` (its own directory), resolving every path inside it."""

    def __init__(self, root: Path, budget: Budget, id_shift: int = 0):
        self.root = Path(root)
        self.budget = budget
        self.id_shift = id_shift
        self.report = UnpackReport()

    def apply(self, stream: BinaryIO, layer: str) -> None:
        os.chown(self.root, self.id_shift, self.id_shift)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for entry in layer_entries(tar, layer):
                self._count_entry(layer)
                target = self.root.joinpath(*entry.path.strip("/").split("/"))
                if entry.kind == OPAQUE:
                    self._make_dirs(target)
                    os.setxattr(target, OPAQUE_XATTR, b"y", follow_symlinks=False)
                    continue
                self._make_dirs(target.parent)
                if entry.kind == WHITEOUT:
                    _remove(target)
                    os.mknod(target, 0o600 | 0o020000, os.makedev(0, 0))  # an overlay whiteout
                elif entry.kind == HARDLINK:
                    _remove(target)
                    os.link(self.root.joinpath(*entry.target.strip("/").split("/")), target, follow_symlinks=False)
                else:
                    self._extract(tar, entry.member, target, layer)

    def _count_entry(self, layer: str) -> None:
        self.report.entries += 1
        if self.budget.entries_before + self.report.entries > self.budget.max_entries:
            raise UnsafeLayer(
                f"The image unpacks to more than {self.budget.max_entries} files and directories (layer {layer}).",
                hint="Raise the sandbox's entry limit (VEXXY_SANDBOX_MAX_ENTRIES) if the image is legitimately this large.",
            )

    def _make_dirs(self, path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            return
        current = self.root
        for part in path.relative_to(self.root).parts:
            current = current / part
            if current.is_symlink() or (current.exists() and not current.is_dir()):
                current.unlink()
            if not current.exists():
                current.mkdir(mode=0o755)
                os.chown(current, self.id_shift, self.id_shift)

    def _extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, layer: str) -> None:
        if member.isdir():
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                target.unlink()
            target.mkdir(exist_ok=True)
        else:
            _remove(target)
            if member.isreg():
                self.report.bytes += member.size
                if self.budget.bytes_before + self.report.bytes > self.budget.max_bytes:
                    raise UnsafeLayer(
                        f"The image unpacks to more than {self.budget.max_bytes // (1 << 20)} MiB (layer {layer}).",
                        hint="Raise the sandbox's rootfs size limit if the image is legitimately this large.",
                    )
                source = tar.extractfile(member)
                with open(target, "wb") as handle:
                    shutil.copyfileobj(source, handle, 1 << 20)
                self.report.files += 1
            elif member.issym():
                os.symlink(member.linkname, target)
                os.chown(target, _shift(member.uid, self.id_shift), _shift(member.gid, self.id_shift), follow_symlinks=False)
                if _escapes(target.relative_to(self.root), member.linkname):
                    self.report.clamped_links.append(f"/{target.relative_to(self.root)} -> {member.linkname}")
                return  # symlinks keep their own (link) metadata
            else:  # character/block devices, FIFOs: never materialized from an image
                self.report.skipped_devices.append(f"/{target.relative_to(self.root)}")
                return
        os.chown(target, _shift(member.uid, self.id_shift), _shift(member.gid, self.id_shift), follow_symlinks=False)
        os.chmod(target, member.mode & 0o7777)
        os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)


def _escapes(location: Path, link: str) -> bool:
    if link.startswith("/"):
        return False  # absolute targets are resolved against the container's root
    depth = len(location.parts) - 1
    for part in link.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def unpack_layer(stream: BinaryIO, root: Path, layer: str, budget: Budget, id_shift: int = 0) -> tuple[str, UnpackReport]:
    """Write the uncompressed layer `stream` into the empty directory `root`; returns (its diff_id, report).

    The caller compares the returned diff_id with the one the image config promises before it
    trusts (or caches) what was written."""
    reader = HashingReader(stream)
    writer = LayerWriter(root, budget, id_shift)
    writer.apply(reader, layer)  # type: ignore[arg-type]
    return reader.finish(), writer.report
