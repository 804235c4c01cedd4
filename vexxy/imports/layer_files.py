"""An image's files read straight from its layer tarballs, for the static import analysis.

It needs no unpacked root filesystem, so it works wherever the step runs (a Kubernetes step pod
cannot see the node's layers). Layers are applied in order with their whiteouts and opaque
directories, as the runtime would. Only what the analysis reads is kept, in memory: the tree
(files, directories, symlinks) and the content of small files that can be first-party code or can
name modules (`.py` outside installed packages and the standard library, `top_level.txt`,
`entry_points.txt`, `setup.cfg`, `#!` scripts). Entries and kept bytes are bounded; what a bound
cut short is listed in `incomplete`, never silently dropped. Paths are the image's own strings,
never host paths: nothing here touches the host filesystem.
"""

from __future__ import annotations

import posixpath
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from vexxy.imports.image_files import MAX_FILE_BYTES
from vexxy.sandbox.symlinks import resolve

MAX_ENTRIES = 500_000
MAX_PATH = 4096  # PATH_MAX: a longer name cannot be opened in the container either
MAX_NOTES = 20
MAX_KEPT_BYTES = 64 << 20
KEPT_NAMES = frozenset({"top_level.txt", "entry_points.txt", "setup.cfg"})
_NOT_FIRST_PARTY_PY = re.compile(r"/(site-packages|dist-packages)/|/lib/python\d[\d.]*/")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class LayerLimitExceeded(Exception):
    """More tar entries than the reader accepts for one image."""


@dataclass
class _Node:
    kind: str  # "file" | "dir" | "link"
    size: int = 0
    content: bytes | None = None  # kept content (files only)
    target: str = ""  # symlink target as written


def _clean(name: str) -> str | None:
    """`./app/x.py` -> `/app/x.py`; None for a name that climbs with `..` (never applied)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/" + "/".join(parts)


def wanted(path: str, head: bytes) -> bool:
    """Whether a regular file's content is kept: candidate first-party code and module-naming files."""
    name = posixpath.basename(path)
    if name in KEPT_NAMES:
        return True
    if name.endswith(".py"):
        return _NOT_FIRST_PARTY_PY.search(path) is None
    return head.startswith(b"#!")


class LayerFiles:
    """The merged tree of an image's layers; the same reading interface as `ImageFiles`."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_kept_bytes: int = MAX_KEPT_BYTES):
        self._nodes: dict[str, _Node] = {"/": _Node("dir")}
        self._children: dict[str, set[str]] = {"/": set()}
        self.symlinks: dict[str, str] = {}
        self.max_entries = max_entries
        self.max_kept_bytes = max_kept_bytes
        self.entries = 0
        self.kept_bytes = 0
        self.incomplete: list[str] = []  # what a bound or a malformed entry left unread
        self._unkept = 0
        self._skipped = 0  # malformed entries beyond the first MAX_NOTES noted

    # -- building --------------------------------------------------------------------------------

    def _remove(self, path: str) -> None:
        node = self._nodes.pop(path, None)
        if node is None:
            return
        self.symlinks.pop(path, None)
        parent = posixpath.dirname(path)
        self._children.get(parent, set()).discard(posixpath.basename(path))
        for child in list(self._children.pop(path, ())):
            self._remove(posixpath.join(path, child))

    def _ensure_dir(self, path: str) -> None:
        if self._nodes.get(path, _Node("none")).kind == "dir":
            return
        parent = posixpath.dirname(path)
        self._ensure_dir(parent)
        self._remove(path)
        self._nodes[path] = _Node("dir")
        self._children[path] = set()
        self._children[parent].add(posixpath.basename(path))

    def _put(self, path: str, node: _Node) -> None:
        if path == "/":
            return
        parent = posixpath.dirname(path)
        self._ensure_dir(parent)
        existing = self._nodes.get(path)
        if existing is not None and existing.kind == "dir" and node.kind == "dir":
            return  # a directory entry over a directory keeps its children
        self._remove(path)
        self._nodes[path] = node
        self._children[parent].add(posixpath.basename(path))
        if node.kind == "dir":
            self._children[path] = set()
        elif node.kind == "link":
            self.symlinks[path] = node.target

    def _keep(self, path: str, member: tarfile.TarInfo, reader: tarfile.TarFile) -> bytes | None:
        if member.size > MAX_FILE_BYTES:
            return None
        stream = reader.extractfile(member)
        if stream is None:
            return None
        head = stream.read(2)
        if not wanted(path, head):
            return None
        if self.kept_bytes + member.size > self.max_kept_bytes:
            self._unkept += 1
            return None
        content = head + stream.read(member.size)
        self.kept_bytes += len(content)
        return content

    def add_layer(self, stream: BinaryIO, name: str) -> None:
        """Apply one uncompressed layer tar stream (read once, front to back) over the layers below it."""
        lower = set(self._nodes)  # whiteouts and opaque directories hide only what lower layers made
        opaque: list[str] = []
        whiteouts: list[str] = []
        additions: list[tuple[str, _Node]] = []
        hard_links: list[tuple[str, str]] = []
        with tarfile.open(fileobj=stream, mode="r|") as reader:
            for member in reader:
                self.entries += 1
                if self.entries > self.max_entries:
                    raise LayerLimitExceeded(f"more than {self.max_entries} entries (layer {name})")
                path = _clean(member.name) if len(member.name) <= MAX_PATH else None
                if path is None:
                    self._note(f"layer {name}: entry {member.name[:200]!r} climbs with '..' or is too long (not applied)")
                    continue
                base = posixpath.basename(path)
                if base == OPAQUE:
                    opaque.append(posixpath.dirname(path))
                elif base.startswith(WHITEOUT):
                    whiteouts.append(posixpath.join(posixpath.dirname(path), base[len(WHITEOUT) :]))
                elif member.isdir():
                    additions.append((path, _Node("dir")))
                elif member.issym():
                    additions.append((path, _Node("link", target=member.linkname)))
                elif member.islnk():
                    target = _clean(member.linkname)
                    if target is not None:
                        hard_links.append((path, target))
                elif member.isreg():
                    additions.append((path, _Node("file", member.size, self._keep(path, member, reader))))
        for directory in opaque:
            for child in list(self._children.get(directory, ())):
                if posixpath.join(directory, child) in lower:
                    self._remove(posixpath.join(directory, child))
        for path in whiteouts:
            if path in lower:
                self._remove(path)
        for path, node in additions:
            self._put(path, node)
        for path, target in hard_links:
            source = self._nodes.get(target)
            if source is not None and source.kind == "file":
                self._put(path, _Node("file", source.size, source.content))

    def _note(self, note: str) -> None:
        if len(self.incomplete) < MAX_NOTES:
            self.incomplete.append(note)
        else:
            self._skipped += 1

    def finish(self) -> LayerFiles:
        if self._skipped:
            self.incomplete.append(f"{self._skipped} more malformed entries not applied")
        if self._unkept:
            self.incomplete.append(f"{self._unkept} candidate files not read: over the limit of {self.max_kept_bytes} bytes kept")
        return self

    def kept_python_files(self) -> list[str]:
        """Every `.py` file whose content was kept (outside installed packages and the standard library)."""
        return sorted(p for p, n in self._nodes.items() if n.kind == "file" and n.content is not None and p.endswith(".py"))

    # -- reading (the `ImageFiles` interface) ---------------------------------------------------

    def canonical(self, path: str) -> str:
        return resolve("/" + path.lstrip("/"), self.symlinks)

    def _node(self, path: str) -> _Node | None:
        return self._nodes.get(self.canonical(path))

    def is_file(self, path: str) -> bool:
        node = self._node(path)
        return node is not None and node.kind == "file"

    def is_dir(self, path: str) -> bool:
        node = self._node(path)
        return node is not None and node.kind == "dir"

    def read_bytes(self, path: str, limit: int = MAX_FILE_BYTES) -> bytes:
        node = self._node(path)
        if node is None or node.kind != "file":
            raise OSError(f"{path}: not a regular file in the image")
        if node.size > limit:
            raise OSError(f"{path}: {node.size} bytes, more than {limit}")
        if node.content is None:
            raise OSError(f"{path}: content not read from the layers")
        return node.content[:limit]

    def head(self, path: str, size: int = 256) -> bytes:
        try:
            return self.read_bytes(path)[:size]
        except OSError:
            return b""

    def listdir(self, path: str) -> list[str]:
        canonical = self.canonical(path)
        node = self._nodes.get(canonical)
        return sorted(self._children.get(canonical, ())) if node is not None and node.kind == "dir" else []

    def walk_files(self, top: str, skip_dir, limit: int) -> Iterator[str]:
        """Regular files under `top` (canonical image paths), never through links, at most `limit`."""
        pending = [self.canonical(top)]
        seen = 0
        while pending:
            directory = pending.pop(0)
            for name in self.listdir(directory):
                child = f"{directory.rstrip('/')}/{name}"
                node = self._nodes.get(child)
                if node is None:
                    continue
                if node.kind == "dir":
                    if not skip_dir(name, child):
                        pending.append(child)
                elif node.kind == "file":
                    seen += 1
                    if seen > limit:
                        return
                    yield child


def read_layers(streams: Iterable[tuple[str, BinaryIO]], **limits: int) -> LayerFiles:
    """The merged tree of `(name, uncompressed tar stream)` layers, bottom layer first."""
    files = LayerFiles(**limits)
    for name, stream in streams:
        files.add_layer(stream, name)
    return files.finish()
