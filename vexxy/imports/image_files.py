"""Read-only access to an unpacked image's files, as the container would see them.

Every path goes through the image's own symlinks (an absolute target restarts at the image root,
`..` never climbs above it) and is opened without following host links, so a hostile image cannot
make the analysis read a host file. Reads are bounded in size and count.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from vexxy.oci.layers.merged import MAX_FILE_BYTES
from vexxy.oci.layers.symlinks import collect_symlinks, resolve


class ImageFiles:
    def __init__(self, root: Path, symlinks: dict[str, str] | None = None):
        self.root = Path(root)
        self.symlinks = collect_symlinks(self.root) if symlinks is None else symlinks

    def canonical(self, path: str) -> str:
        return resolve("/" + path.lstrip("/"), self.symlinks)

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

    def _stat(self, path: str) -> os.stat_result | None:
        host = self._host(self.canonical(path))
        if host is None:
            return None
        try:
            return os.lstat(host)
        except OSError:
            return None

    def is_file(self, path: str) -> bool:
        st = self._stat(path)
        return st is not None and stat.S_ISREG(st.st_mode)

    def is_dir(self, path: str) -> bool:
        st = self._stat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

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

    def head(self, path: str, size: int = 256) -> bytes:
        try:
            return self.read_bytes(path, limit=MAX_FILE_BYTES)[:size]
        except OSError:
            return b""

    def listdir(self, path: str) -> list[str]:
        host = self._host(self.canonical(path))
        if host is None:
            return []
        try:
            return sorted(os.listdir(host))
        except OSError:
            return []

    def walk_files(self, top: str, skip_dir, limit: int) -> Iterator[str]:
        """Regular files under `top` (canonical image paths), never through links, at most `limit`."""
        pending = [self.canonical(top)]
        seen = 0
        while pending:
            directory = pending.pop(0)
            for name in self.listdir(directory):
                child = f"{directory.rstrip('/')}/{name}"
                st = self._stat(child) if child not in self.symlinks else None
                if st is None:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if not skip_dir(name, child):
                        pending.append(child)
                elif stat.S_ISREG(st.st_mode):
                    seen += 1
                    if seen > limit:
                        return
                    yield child
