"""A directory of write-once documents: once stored, a document's bytes never change.

A document is published with a hard link from a finished temporary file, so it appears whole or
not at all and two writers cannot both win; writing the same bytes again (a retried step) is a
no-op, writing different bytes is refused. Reads can be checked against the SHA-256 recorded
when the document was written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from vexxy.errors import VexxyError


class EvidenceConflict(VexxyError):
    """A different document already exists at that location: stored evidence is never replaced."""


class EvidenceMissing(VexxyError):
    """The document was never written (or was removed from the store)."""


class EvidenceCorrupted(VexxyError):
    """The stored bytes no longer match the SHA-256 recorded when they were written."""


@dataclass(frozen=True)
class StoredDocument:
    path: str
    sha256: str
    size: int


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


class DocumentStore:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    def path(self, location: PurePosixPath) -> Path:
        parts = PurePosixPath(location).parts
        if not parts or location.is_absolute() or any(p in ("", ".", "..") or "\\" in p for p in parts):
            raise ValueError(f"refusing evidence location {str(location)!r}")
        return self.root.joinpath(*parts)

    def put(self, location: PurePosixPath, data: bytes) -> StoredDocument:
        target = self.path(location)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, target)
            except FileExistsError:
                existing = target.read_bytes()
                if existing != data:
                    raise EvidenceConflict(
                        f"Evidence {location} already exists with other content "
                        f"(stored sha256:{_sha256(existing)}, new sha256:{_sha256(data)}).",
                        hint="Stored documents are immutable; each analysis run writes its own folder.",
                    ) from None
        finally:
            os.unlink(tmp)
        return StoredDocument(str(target), _sha256(data), len(data))

    def put_file(self, location: PurePosixPath, source: Path) -> StoredDocument:
        """Publish a finished file too large to hold in memory (same rules as `put`); `source` is consumed.

        An existing document with other bytes is refused, like `put` (and `source` is left in place).
        """
        target = self.path(location)
        target.parent.mkdir(parents=True, exist_ok=True)
        sha256, size = _file_sha256(source), source.stat().st_size
        os.chmod(source, 0o444)
        try:
            os.link(source, target)
        except FileExistsError:
            existing = _file_sha256(target)
            if existing != sha256:
                raise EvidenceConflict(
                    f"Evidence {location} already exists with other content (stored sha256:{existing}, new sha256:{sha256}).",
                    hint="Stored documents are immutable; each analysis run writes its own folder.",
                ) from None
        source.unlink()
        return StoredDocument(str(target), sha256, size)

    def exists(self, location: PurePosixPath) -> bool:
        return self.path(location).is_file()

    def get(self, location: PurePosixPath, sha256: str | None = None) -> bytes:
        target = self.path(location)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise EvidenceMissing(f"Evidence {location} is not in the store at {self.root}.") from None
        if sha256 is not None and _sha256(data) != sha256:
            raise EvidenceCorrupted(
                f"Evidence {location} changed since it was written (recorded sha256:{sha256}, stored sha256:{_sha256(data)}).",
                hint="Restore the document from a backup or re-run the analysis.",
            )
        return data
