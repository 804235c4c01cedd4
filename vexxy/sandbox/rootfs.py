"""Unpack image layers into a root filesystem safely.

Layers are applied in order into one directory, the way containerd applies them: whiteouts
delete, opaque markers clear lower content, parent paths are resolved *inside* the root (a
symlink can never lead a write outside it), hard links must point inside it, device nodes are
skipped, and the total size is capped. The result is cached per chain ID (the digest of the
layer stack), so images sharing base layers share nothing mutable but reuse nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vexxy.errors import VexxyError
from vexxy.sandbox.symlinks import TooManyLinks, walk

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


class UnsafeLayer(VexxyError):
    """A layer tries to place something outside the root filesystem, or is too large."""


@dataclass
class UnpackReport:
    files: int = 0
    bytes: int = 0
    skipped_devices: list[str] = field(default_factory=list)
    clamped_links: list[str] = field(default_factory=list)  # symlinks whose targets point outside the root


def chain_id(diff_ids: list[str]) -> str:
    """OCI chain ID of a layer stack: identical stacks share one unpacked root filesystem."""
    current = diff_ids[0]
    for diff_id in diff_ids[1:]:
        current = "sha256:" + hashlib.sha256(f"{current} {diff_id}".encode()).hexdigest()
    return current


def _clean_name(name: str, layer: str) -> list[str]:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(
            f"Layer {layer} contains the path {name!r}, which climbs out of the root filesystem with '..'.",
            hint="The image is malformed or hostile; rebuild it with a standard tool.",
        )
    return parts


class RootfsWriter:
    """Applies layers into `root`, resolving every path inside it."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.report = UnpackReport()

    # --- path resolution confined to the root (securejoin semantics) -------------------------

    def resolve(self, parts: list[str], follow_last: bool = False) -> Path:
        """The host path for `parts`, following symlinks in parents as the container would, clamped to root."""

        def read_link(prefix: list[str]) -> str | None:
            candidate = self.root.joinpath(*prefix)
            return os.readlink(candidate) if candidate.is_symlink() else None

        try:
            return self.root.joinpath(*walk(parts, read_link, follow_last))
        except TooManyLinks:
            raise UnsafeLayer(f"Too many levels of symbolic links under /{'/'.join(parts)}.") from None

    # --- applying a layer -------------------------------------------------------------------

    def apply(self, stream: BinaryIO, layer: str) -> None:
        created: set[Path] = set()
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                parts = _clean_name(member.name, layer)
                if not parts:
                    continue
                base = parts[-1]
                parent = self.resolve(parts[:-1], follow_last=True)
                if base == OPAQUE_MARKER:
                    self._make_dirs(parent)
                    for child in list(parent.iterdir()):
                        if child not in created:
                            _remove(child)
                    continue
                if base.startswith(WHITEOUT_PREFIX):
                    _remove(parent / base[len(WHITEOUT_PREFIX) :])
                    continue
                self._make_dirs(parent)
                target = parent / base
                self._extract(tar, member, target, layer)
                created.add(target)

    def _make_dirs(self, path: Path) -> None:
        if path.is_dir():
            return
        relative = path.relative_to(self.root)
        current = self.root
        for part in relative.parts:
            current = current / part
            if current.is_symlink() or (current.exists() and not current.is_dir()):
                current.unlink()
            if not current.exists():
                current.mkdir(mode=0o755)

    def _extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, layer: str) -> None:
        if member.isdir():
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                target.unlink()
            target.mkdir(exist_ok=True)
        else:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            if member.isreg():
                self.report.bytes += member.size
                if self.report.bytes > self.max_bytes:
                    raise UnsafeLayer(
                        f"The image unpacks to more than {self.max_bytes // (1 << 20)} MiB (layer {layer}).",
                        hint="Raise the sandbox's rootfs size limit if the image is legitimately this large.",
                    )
                source = tar.extractfile(member)
                with open(target, "wb") as handle:
                    shutil.copyfileobj(source, handle, 1 << 20)
                self.report.files += 1
            elif member.issym():
                os.symlink(member.linkname, target)
                if _escapes(target.relative_to(self.root), member.linkname):
                    self.report.clamped_links.append(f"/{target.relative_to(self.root)} -> {member.linkname}")
                return  # symlinks keep their own (link) metadata
            elif member.islnk():
                source_path = self.resolve(_clean_name(member.linkname, layer))
                if not source_path.exists() or source_path.is_symlink() and not source_path.exists():
                    raise UnsafeLayer(f"Layer {layer} hard-links {member.name!r} to {member.linkname!r}, which does not exist.")
                os.link(source_path, target, follow_symlinks=False)
                return
            else:  # character/block devices, FIFOs: never materialized from an image
                self.report.skipped_devices.append(f"/{target.relative_to(self.root)}")
                return
        try:
            os.chown(target, member.uid, member.gid, follow_symlinks=False)
        except PermissionError:
            pass
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


def unpack_layers(
    layers: list[tuple[str, Callable[[], BinaryIO]]], cache_root: Path, key: str, max_bytes: int
) -> tuple[Path, UnpackReport]:
    """Unpack (name, opener) layers into `cache_root/key` once; later calls reuse it."""
    final = cache_root / key.replace(":", "-")
    if (final / ".vexxy-complete").exists():
        return final / "rootfs", UnpackReport()
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=cache_root))
    try:
        rootfs = work / "rootfs"
        rootfs.mkdir(mode=0o755)
        writer = RootfsWriter(rootfs, max_bytes)
        for name, opener in layers:
            with opener() as stream:
                writer.apply(stream, name)
        (work / ".vexxy-complete").write_text("ok")
        try:
            os.rename(work, final)
        except OSError:  # another process finished the same stack first
            shutil.rmtree(work, ignore_errors=True)
        return final / "rootfs", writer.report
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
