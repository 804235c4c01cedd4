"""What one layer's tar stream says, checked once, in stream order, for every reader of layers.

The sandbox's unpacker, the static import reader and the link reader must all see the same final
filesystem, or what the analysis reads is not what the workload runs. So every one of them takes a
layer's entries from here, and this is where a layer that could be applied in two ways is refused:

- a name that climbs with `..`, is longer than PATH_MAX or has a component longer than NAME_MAX;
- an entry beneath a symlink or a file the same layer made (a tar of a real filesystem never has
  one; applying it means choosing whether to follow the link);
- a hard link whose target is not a regular file the same layer wrote earlier in the stream (it is
  resolved as it was when linked: a file rewritten after the link does not change what the link holds);
- a whiteout that hides nothing (`.wh.`, `.wh..`).

Whiteouts and opaque markers are reported as such; what they hide below is the appliers' business.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

from vexxy.errors import VexxyError

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
MAX_PATH = 4096  # PATH_MAX: the container could not open a longer name either
MAX_NAME = 255  # NAME_MAX

DIR, FILE, SYMLINK, HARDLINK, WHITEOUT, OPAQUE, OTHER = "dir", "file", "symlink", "hardlink", "whiteout", "opaque", "other"


class UnsafeLayer(VexxyError):
    """A layer tries to place something outside its directory, is ambiguous to apply, or is too large."""


@dataclass(frozen=True)
class LayerEntry:
    """One checked entry: `path` is absolute and clean (`/app/x.py`); `target` is the hard link's
    source path or the symlink's target as written; `file_id` names the regular file's content
    within the layer (a hard link carries the id of the file it links to)."""

    kind: str
    path: str
    member: tarfile.TarInfo
    target: str = ""
    file_id: int = 0

    @property
    def parent(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


def clean_path(name: str, layer: str) -> str:
    """`./app//x.py` -> `/app/x.py`; refuses names that climb out of the root or exceed the kernel's limits."""
    if len(name) > MAX_PATH:
        raise UnsafeLayer(f"Layer {layer} contains a name of {len(name)} characters, longer than PATH_MAX ({MAX_PATH}).")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(
            f"Layer {layer} contains the path {name[:200]!r}, which climbs out of the root filesystem with '..'.",
            hint="The image is malformed or hostile; rebuild it with a standard tool.",
        )
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME for p in parts):
        raise UnsafeLayer(f"Layer {layer} contains a path component longer than NAME_MAX ({MAX_NAME}): {name[:200]!r}.")
    return "/" + "/".join(parts)


class _LayerState:
    """What this layer itself has written so far: the kind at each path, and each regular file's id."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {"/": DIR}
        self.children: dict[str, set[str]] = {"/": set()}
        self.file_ids: dict[str, int] = {}
        self._next_id = 0

    def new_file_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def drop(self, path: str) -> None:
        """Forget `path` and, for a directory, everything beneath it."""
        if self.kinds.pop(path, None) is None:
            return
        self.file_ids.pop(path, None)
        self.children.get(posixpath.dirname(path), set()).discard(path)
        for child in self.children.pop(path, set()):
            self.drop(child)

    def _set(self, path: str, kind: str) -> None:
        self.kinds[path] = kind
        self.children.setdefault(posixpath.dirname(path), set()).add(path)
        if kind == DIR:
            self.children.setdefault(path, set())

    def make_parents(self, path: str, layer: str, name: str) -> None:
        parent = posixpath.dirname(path)
        chain = []
        while parent not in ("/", ""):
            chain.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(chain):
            kind = self.kinds.get(directory)
            if kind in (SYMLINK, FILE, OTHER):
                raise UnsafeLayer(
                    f"Layer {layer} places {name[:200]!r} beneath {directory!r}, which the same layer made a "
                    f"{'symbolic link' if kind == SYMLINK else 'non-directory'}; the layer is ambiguous and is refused.",
                    hint="The image is malformed or hostile; rebuild it with a standard tool.",
                )
            if kind != DIR:  # absent, or a whiteout this layer wrote: a directory now
                self.drop(directory)
                self._set(directory, DIR)

    def put(self, path: str, kind: str, file_id: int = 0) -> None:
        if not (kind == DIR and self.kinds.get(path) == DIR):
            self.drop(path)
            self._set(path, kind)
        if file_id:
            self.file_ids[path] = file_id


def layer_entries(tar: tarfile.TarFile, layer: str) -> Iterator[LayerEntry]:
    """The checked entries of one layer, in stream order (the caller reads a regular file's content
    from `tar` when it gets its entry, before asking for the next)."""
    state = _LayerState()
    for member in tar:
        path = clean_path(member.name, layer)
        if path == "/":
            continue
        state.make_parents(path, layer, member.name)
        base = posixpath.basename(path)
        if base == OPAQUE_MARKER:
            yield LayerEntry(OPAQUE, posixpath.dirname(path), member)
            continue
        if base.startswith(WHITEOUT_PREFIX):
            hidden = base[len(WHITEOUT_PREFIX) :]
            if hidden in ("", ".", ".."):
                raise UnsafeLayer(f"Layer {layer} contains the whiteout {member.name[:200]!r}, which hides no file.")
            hidden_path = posixpath.join(posixpath.dirname(path), hidden)
            state.put(hidden_path, WHITEOUT)
            yield LayerEntry(WHITEOUT, hidden_path, member)
        elif member.isdir():
            state.put(path, DIR)
            yield LayerEntry(DIR, path, member)
        elif member.issym():
            state.put(path, SYMLINK)
            yield LayerEntry(SYMLINK, path, member, target=member.linkname)
        elif member.islnk():
            source = clean_path(member.linkname, layer)
            file_id = state.file_ids.get(source) if state.kinds.get(source) == FILE else None
            if file_id is None or source == path or source.startswith(path + "/"):
                raise UnsafeLayer(
                    f"Layer {layer} hard-links {member.name[:200]!r} to {member.linkname[:200]!r}, which is not a file "
                    "the same layer wrote before it; the layer is refused.",
                    hint="The image is malformed or hostile; rebuild it with a standard tool.",
                )
            state.put(path, FILE, file_id)
            yield LayerEntry(HARDLINK, path, member, target=source, file_id=file_id)
        elif member.isreg():
            file_id = state.new_file_id()
            state.put(path, FILE, file_id)
            yield LayerEntry(FILE, path, member, file_id=file_id)
        else:  # devices and FIFOs are never materialized from an image, but they do replace what was there
            state.put(path, OTHER)
            yield LayerEntry(OTHER, path, member)
