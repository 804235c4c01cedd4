"""What a code file is by content, so that a copy, a rename or an archive member is still recognised.

The image reader takes the identity of every code file in the image's final filesystem; the local
tracer takes it of every code file the workload opens, at the moment it opens it. Both use this
one definition, so the two can be compared. Code is a Python source or bytecode file, a shared
object or other ELF file, an archive the interpreters import from (zip, jar, egg, wheel, pyz) or a
script with a `#!` line; archives also list the identity of their code members. A zip is an archive
whatever its name and whatever is prepended to it (a zipapp's `#!` line, an ELF file it is appended
to): the interpreters import from it all the same. Any other file is `data`: its digest is still
taken, so that a package's code read under another name (`exec(open("x.txt").read())`) is recognised.
Every read is bounded: what a bound cut short says so (`truncated`), and is never taken for a match.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

IDENTITY_HEAD = 4
MIN_IDENTITY_BYTES = 64  # a smaller file (an empty `__init__.py`) names no particular package
MAX_ARCHIVE_BYTES = 64 << 20
MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 16 << 20
MAX_ARCHIVE_READ = 256 << 20  # decompressed bytes read from one archive's members, in all
MAX_CENTRAL_DIRECTORY = MAX_MEMBERS * 512  # bytes of an archive's member list parsed at most
ZIP_TAIL = 22 + 0xFFFF  # a zip's end record lies within this many bytes of its end (22 + the longest comment)
# Markers a tracer records in place of a digest: the file opened there was written while the workload ran
# (what it held when it was loaded is not known), or it was code too large to read in full.
CHANGED_MARK = "changed-during-run"
UNREAD_MARK = "not-read-in-full"

ELF_MAGIC = b"\x7fELF"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
SOURCE, BYTECODE, NATIVE, ARCHIVE, SCRIPT = "source", "bytecode", "native", "archive", "script"
DATA = "data"  # not code by name or first bytes: identified only to recognise code content under another name

_SHARED_OBJECT = re.compile(r"\.so(\.[0-9]+)*$")
_SOURCE_SUFFIXES = (".py", ".pyw", ".js", ".mjs", ".cjs", ".rb", ".php", ".pl", ".pm")
_BYTECODE_SUFFIXES = (".pyc", ".pyo", ".class")
_ARCHIVE_SUFFIXES = (".zip", ".egg", ".whl", ".pyz", ".jar", ".war", ".ear")
_NATIVE_SUFFIXES = (".node", ".dylib", ".pyd")


def kind_of(path: str, head: bytes = b"", mode: int = 0) -> str | None:
    """The kind of code a file is, from its name and first bytes (None: not code)."""
    name = posixpath.basename(path)
    if head.startswith(ELF_MAGIC) or _SHARED_OBJECT.search(name) or name.endswith(_NATIVE_SUFFIXES):
        return NATIVE
    if head.startswith(ZIP_MAGIC) or name.endswith(_ARCHIVE_SUFFIXES):
        return ARCHIVE
    if name.endswith(_BYTECODE_SUFFIXES):
        return BYTECODE
    if name.endswith(_SOURCE_SUFFIXES):
        return SOURCE
    if head.startswith(b"#!") and mode & 0o111:
        return SCRIPT
    return None


def is_code(path: str, mode: int, head: bytes) -> bool:
    return kind_of(path, head, mode) is not None


@dataclass(frozen=True)
class CodeIdentity:
    sha256: str  # hex digest of the whole file
    size: int
    kind: str
    members: tuple[tuple[str, str], ...] = ()  # archives: (member name, sha256 hex) of each code member
    truncated: str = field(default="")  # why members were not (all) listed

    @property
    def distinctive(self) -> bool:
        """Whether the content is enough to name a package: not tiny, and read in full."""
        return bool(self.sha256) and self.size >= MIN_IDENTITY_BYTES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["members"] = [list(m) for m in self.members]
        return {k: v for k, v in data.items() if v not in ("", [])}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeIdentity:
        return cls(
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            kind=str(data["kind"]),
            members=tuple((str(n), str(d)) for n, d in data.get("members") or ()),
            truncated=str(data.get("truncated", "")),
        )


class IdentityHasher:
    """Hashes a file's bytes as they stream past (tar member, opened file); keeps its bytes, up to a
    bound, to list its members once the whole file was seen and it turns out to be a zip."""

    def __init__(self, path: str, head: bytes, mode: int = 0):
        self.kind = kind_of(path, head, mode) or DATA
        self._sha = hashlib.sha256(head)
        self._size = len(head)
        self._chunks: list[bytes] | None = [head]
        self._tail = head[-ZIP_TAIL:]

    def update(self, chunk: bytes) -> None:
        self._sha.update(chunk)
        self._size += len(chunk)
        self._tail = (self._tail + chunk[-ZIP_TAIL:])[-ZIP_TAIL:]
        if self._chunks is not None:
            if self._size > MAX_ARCHIVE_BYTES:
                self._chunks = None
            else:
                self._chunks.append(chunk)

    def finish(self) -> CodeIdentity:
        members: tuple[tuple[str, str], ...] = ()
        truncated = ""
        kind = self.kind
        if kind == ARCHIVE:
            if self._chunks is None:
                truncated = f"archive larger than {MAX_ARCHIVE_BYTES} bytes: members not listed"
            else:
                members, truncated = archive_members(io.BytesIO(b"".join(self._chunks))) or ((), "")
        elif ZIP_END in self._tail and self._chunks is not None:
            # A zip under another name or behind other bytes: an archive when it lists code members.
            listed = archive_members(io.BytesIO(b"".join(self._chunks)), code_only_listing=True)
            if listed is not None:
                members, truncated = listed
                kind = ARCHIVE if kind in (DATA, SCRIPT) else kind
        self._chunks = None
        return CodeIdentity(self._sha.hexdigest(), self._size, kind, members, truncated)


def identity_hasher(path: str, head: bytes, mode: int = 0) -> IdentityHasher:
    return IdentityHasher(path, head, mode)


def _central_directory_size(data: BinaryIO) -> int:
    """The size the end record gives the member list (0 when there is no end record to read)."""
    data.seek(0, io.SEEK_END)
    size = data.tell()
    data.seek(max(0, size - ZIP_TAIL))
    tail = data.read()
    at = tail.rfind(ZIP_END)
    data.seek(0)
    if at < 0 or len(tail) < at + 22:
        return 0
    size = int.from_bytes(tail[at + 12 : at + 16], "little")
    return 0 if size == 0xFFFFFFFF else size  # zip64: the real size is elsewhere, and the archive bound holds


def archive_members(data: BinaryIO, code_only_listing: bool = False) -> tuple[tuple[tuple[str, str], ...], str] | None:
    """(name, sha256) of an archive's code members, and why the list is short when it is.

    With `code_only_listing`, a file that is not a readable zip or lists no code member gives None
    (it is not an archive the interpreters would import from)."""
    try:
        if _central_directory_size(data) > MAX_CENTRAL_DIRECTORY:  # parsing it would hold every entry in memory
            return (), f"member list over {MAX_CENTRAL_DIRECTORY} bytes: members not listed"
        archive = zipfile.ZipFile(data)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        return None if code_only_listing else ((), f"not a readable zip archive ({str(exc)[:120]})")
    if code_only_listing and not any(not info.is_dir() and kind_of(info.filename) is not None for info in infos):
        return None
    members: list[tuple[str, str]] = []
    read = 0
    for index, info in enumerate(infos):
        if index >= MAX_MEMBERS:
            return tuple(members), f"more than {MAX_MEMBERS} members: the rest not listed"
        if info.is_dir() or kind_of(info.filename) is None:
            continue
        if info.file_size > MAX_MEMBER_BYTES or read + info.file_size > MAX_ARCHIVE_READ:
            return tuple(members), f"member {info.filename[:200]!r} over the read bound: the rest not listed"
        try:
            with archive.open(info) as member:
                content = member.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
            return tuple(members), f"member {info.filename[:200]!r} unreadable ({str(exc)[:120]})"
        if len(content) > MAX_MEMBER_BYTES:
            return tuple(members), f"member {info.filename[:200]!r} over the read bound: the rest not listed"
        read += len(content)
        members.append((info.filename, hashlib.sha256(content).hexdigest()))
    return tuple(members), ""


def identity_of_stream(
    path: str, stream: BinaryIO, mode: int = 0, limit: int = 1 << 30, data: bool = False
) -> CodeIdentity | None:
    """The identity of an open file read from its start (None when it is not code, unless `data`)."""
    head = stream.read(IDENTITY_HEAD)
    if kind_of(path, head, mode) is None and not data:
        return None
    hasher = IdentityHasher(path, head, mode)
    left = limit
    while left > 0 and (chunk := stream.read(min(1 << 20, left))):
        hasher.update(chunk)
        left -= len(chunk)
    found = hasher.finish()
    if left <= 0 and stream.read(1):
        return CodeIdentity("", found.size, found.kind, (), f"larger than {limit} bytes: not read in full")
    return found
