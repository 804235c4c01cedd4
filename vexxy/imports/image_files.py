"""Read-only access to an unpacked image's files, as the container would see them.

Every path goes through the image's own symlinks (an absolute target restarts at the image root,
`..` never climbs above it) and is opened without following host links, so a hostile image cannot
make the analysis read a host file. Reads are bounded in size and count.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vexxy.oci.layers.file_view import MAX_FILE_BYTES, FileView
from vexxy.oci.layers.symlinks import collect_symlinks


class ImageFiles(FileView):
    def __init__(self, root: Path, symlinks: dict[str, str] | None = None):
        self.root = Path(root)
        self.symlinks = collect_symlinks(self.root) if symlinks is None else symlinks

    def _host(self, canonical: str) -> Path | None:
        """The host path of a canonical image path, None when any part of it is a link on the host."""
        host = self.root
        for part in canonical.strip("/").split("/"):
            if not part:
                continue
            host = host / part
            try:
                if stat.S_ISLNK(os.lstat(host).st_mode):
                    return None
            except OSError:
                return None
        return host

    def _kind(self, canonical: str) -> str | None:
        host = self._host(canonical)
        try:
            mode = os.lstat(host).st_mode if host is not None else 0
        except OSError:
            return None
        return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else None

    def read_bytes(self, path: str, limit: int = MAX_FILE_BYTES) -> bytes:
        """The file's content; OSError when it is not a regular file in the image or larger than `limit`."""
        host = self._host(self.canonical(path))
        if host is None:
            raise OSError(f"{path}: not inside the image")
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(f"{path}: not a regular file")
            if st.st_size > limit:
                raise OSError(f"{path}: {st.st_size} bytes, more than {limit}")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(limit + 1)[:limit]
        finally:
            os.close(fd)

    def listdir(self, path: str) -> list[str]:
        host = self._host(self.canonical(path))
        if host is None:
            return []
        try:
            return sorted(os.listdir(host))
        except OSError:
            return []
