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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from vexxy.oci.layers.entries import DIR, FILE, HARDLINK, OPAQUE, SYMLINK, WHITEOUT, layer_entries
from vexxy.oci.layers.file_view import MAX_FILE_BYTES, FileView
from vexxy.oci.layers.identity import DATA, IDENTITY_HEAD, CodeIdentity, identity_hasher

MAX_ENTRIES = 500_000
MAX_KEPT_BYTES = 64 << 20
KEPT_NAMES = frozenset({"top_level.txt", "entry_points.txt", "setup.cfg"})
_NOT_FIRST_PARTY_PY = re.compile(r"/(site-packages|dist-packages)/|/lib/python\d[\d.]*/")


class LayerLimitExceeded(Exception):
    """More tar entries than the reader accepts for one image."""


@dataclass
class _Node:
    kind: str  # "file" | "dir" | "link" | "whiteout" (the last only in one layer's own tree)
    size: int = 0
    content: bytes | None = None  # kept content (files only)
    target: str = ""  # symlink target as written
    opaque: bool = False  # a directory that hides what lower layers hold at its path
    identity: CodeIdentity | None = None  # what a code file is, by content


class _Tree:
    """Paths to nodes with each directory's children: one layer's own tree, or the merged image."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {"/": _Node("dir")}
        self.children: dict[str, set[str]] = {"/": set()}

    def remove(self, path: str) -> None:
        node = self.nodes.pop(path, None)
        if node is None:
            return
        self.children.get(posixpath.dirname(path), set()).discard(posixpath.basename(path))
        for child in list(self.children.pop(path, ())):
            self.remove(posixpath.join(path, child))

    def ensure_dir(self, path: str) -> _Node:
        node = self.nodes.get(path)
        if node is not None and node.kind == "dir":
            return node
        parent = posixpath.dirname(path)
        self.ensure_dir(parent)
        self.remove(path)
        node = self.nodes[path] = _Node("dir")
        self.children[path] = set()
        self.children[parent].add(posixpath.basename(path))
        return node

    def put(self, path: str, node: _Node) -> None:
        """Place `node` at `path`, replacing what was there; a directory over a directory keeps its children."""
        if node.kind == "dir":
            self.ensure_dir(path)
            return
        parent = posixpath.dirname(path)
        self.ensure_dir(parent)
        self.remove(path)
        self.nodes[path] = node
        self.children[parent].add(posixpath.basename(path))

    def merge(self, upper: _Tree, path: str = "/") -> None:
        """Lay `upper` (one layer's own tree) over this one the way overlayfs does: a whiteout removes,
        an opaque directory hides what is below it, a directory over a directory merges, anything
        else replaces."""
        if upper.nodes[path].opaque:
            for child in list(self.children.get(path, ())):
                self.remove(posixpath.join(path, child))
        for name in sorted(upper.children.get(path, ())):
            child = posixpath.join(path, name)
            node = upper.nodes[child]
            if node.kind == "whiteout":
                self.remove(child)
            elif node.kind == "dir":
                self.ensure_dir(child)
                self.merge(upper, child)
            else:
                self.put(child, node)


def wanted(path: str, head: bytes) -> bool:
    """Whether a regular file's content is kept: candidate first-party code and module-naming files."""
    name = posixpath.basename(path)
    if name in KEPT_NAMES:
        return True
    if name.endswith(".py"):
        return _NOT_FIRST_PARTY_PY.search(path) is None
    return head.startswith(b"#!")


class LayerFiles(FileView):
    """The merged tree of an image's layers; the same reading interface as `ImageFiles`."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_kept_bytes: int = MAX_KEPT_BYTES):
        self._tree = _Tree()
        self._nodes = self._tree.nodes
        self._children = self._tree.children
        self.max_entries = max_entries
        self.max_kept_bytes = max_kept_bytes
        self.entries = 0
        self.kept_bytes = 0
        self.incomplete: list[str] = []  # what a bound left unread
        self._unkept = 0

    @property
    def symlinks(self) -> dict[str, str]:
        return {path: node.target for path, node in self._nodes.items() if node.kind == "link"}

    # -- building --------------------------------------------------------------------------------

    def _read_file(self, path: str, member: tarfile.TarInfo, reader: tarfile.TarFile) -> _Node:
        """A regular file's node: its content when the import reader wants it, its identity when it is code."""
        stream = reader.extractfile(member)
        if stream is None:
            return _Node("file", member.size)
        head = stream.read(IDENTITY_HEAD)
        keep = member.size <= MAX_FILE_BYTES and wanted(path, head[:2])
        if keep and self.kept_bytes + member.size > self.max_kept_bytes:
            self._unkept += 1
            keep = False
        # Every file is identified: a zip is code whatever its name, and a file of no code kind still
        # shows a package's code read under another name (`code_identities` keeps those).
        hasher = identity_hasher(path, head, member.mode)
        chunks = [head]
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
            if keep:
                chunks.append(chunk)
        content = b"".join(chunks) if keep else None
        if content is not None:
            self.kept_bytes += len(content)
        return _Node("file", member.size, content, identity=hasher.finish())

    def add_layer(self, stream: BinaryIO, name: str) -> None:
        """Apply one uncompressed layer tar stream (read once, front to back) over the layers below it,
        from the checked entries every reader of layers takes (`vexxy.oci.layers.entries`)."""
        upper = _Tree()
        files: dict[int, _Node] = {}
        with tarfile.open(fileobj=stream, mode="r|") as reader:
            for entry in layer_entries(reader, name):
                self.entries += 1
                if self.entries > self.max_entries:
                    raise LayerLimitExceeded(f"more than {self.max_entries} entries (layer {name})")
                if entry.kind == OPAQUE:
                    upper.ensure_dir(entry.path).opaque = True
                elif entry.kind == WHITEOUT:
                    upper.put(entry.path, _Node("whiteout"))
                elif entry.kind == DIR:
                    upper.put(entry.path, _Node("dir"))
                elif entry.kind == SYMLINK:
                    upper.put(entry.path, _Node("link", target=entry.target))
                elif entry.kind == FILE:
                    files[entry.file_id] = node = self._read_file(entry.path, entry.member, reader)
                    upper.put(entry.path, node)
                elif entry.kind == HARDLINK:
                    node = files[entry.file_id]  # the file as it was when linked
                    if node.content is None and wanted(entry.path, b""):
                        self.incomplete.append(f"layer {name}: {entry.path} links to {entry.target}, whose content was not read")
                    upper.put(entry.path, node)
                else:  # a device or FIFO: never materialized, but it replaces what was there
                    upper.remove(entry.path)
        self._tree.merge(upper)

    def finish(self) -> LayerFiles:
        if self._unkept:
            self.incomplete.append(f"{self._unkept} candidate files not read: over the limit of {self.max_kept_bytes} bytes kept")
        return self

    def code_identities(self) -> dict[str, CodeIdentity]:
        """Every code file of the final filesystem (by its path in the image) with what it is by content,
        and every other file whose content is that of a code file (a module kept under a data name)."""
        files = [(path, node.identity) for path, node in sorted(self._nodes.items()) if node.identity is not None]
        code = {identity.sha256 for _, identity in files if identity.kind != DATA}
        return {path: identity for path, identity in files if identity.kind != DATA or identity.sha256 in code}

    def kept_python_files(self) -> list[str]:
        """Every `.py` file whose content was kept (outside installed packages and the standard library)."""
        return sorted(p for p, n in self._nodes.items() if n.kind == "file" and n.content is not None and p.endswith(".py"))

    # -- reading (the `ImageFiles` interface) ---------------------------------------------------

    def _kind(self, canonical: str) -> str | None:
        node = self._nodes.get(canonical)
        return node.kind if node is not None and node.kind in ("dir", "file") else None

    def _node(self, path: str) -> _Node | None:
        return self._nodes.get(self.canonical(path))

    def read_bytes(self, path: str, limit: int = MAX_FILE_BYTES) -> bytes:
        node = self._node(path)
        if node is None or node.kind != "file":
            raise OSError(f"{path}: not a regular file in the image")
        if node.size > limit:
            raise OSError(f"{path}: {node.size} bytes, more than {limit}")
        if node.content is None:
            raise OSError(f"{path}: content not read from the layers")
        return node.content[:limit]

    def listdir(self, path: str) -> list[str]:
        canonical = self.canonical(path)
        node = self._nodes.get(canonical)
        return sorted(self._children.get(canonical, ())) if node is not None and node.kind == "dir" else []


def read_layers(streams: Iterable[tuple[str, BinaryIO]], **limits: int) -> LayerFiles:
    """The merged tree of `(name, uncompressed tar stream)` layers, bottom layer first."""
    files = LayerFiles(**limits)
    for name, stream in streams:
        files.add_layer(stream, name)
    return files.finish()
