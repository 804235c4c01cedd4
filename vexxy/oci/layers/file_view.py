"""What a reader asks of an image's files, the same whether they are unpacked on disk (`ImageFiles`) or
merged from the layers (`merged.LayerFiles`): paths go through the image's own symlinks, reads are bounded."""

from __future__ import annotations

from collections.abc import Iterator

from vexxy.oci.layers.symlinks import resolve

MAX_FILE_BYTES = 2 * 1024 * 1024  # the largest file whose content is read


class FileView:
    """A view supplies `symlinks`, `read_bytes`, `listdir` and `_kind`; the rest is the same for every view."""

    symlinks: dict[str, str]

    def _kind(self, canonical: str) -> str | None:
        """ "dir", "file" or None (anything else, or missing) for a canonical path, not following its last link."""
        raise NotImplementedError

    def read_bytes(self, path: str, limit: int = MAX_FILE_BYTES) -> bytes:
        raise NotImplementedError

    def listdir(self, path: str) -> list[str]:
        raise NotImplementedError

    def canonical(self, path: str) -> str:
        return resolve("/" + path.lstrip("/"), self.symlinks)

    def is_file(self, path: str) -> bool:
        return self._kind(self.canonical(path)) == "file"

    def is_dir(self, path: str) -> bool:
        return self._kind(self.canonical(path)) == "dir"

    def head(self, path: str, size: int = 256) -> bytes:
        try:
            return self.read_bytes(path)[:size]
        except OSError:
            return b""

    def walk_files(self, top: str, skip_dir, limit: int) -> Iterator[str]:
        """Regular files under `top` (canonical image paths), never through links, at most `limit`."""
        pending = [self.canonical(top)]
        seen = 0
        while pending:
            directory = pending.pop(0)
            for name in self.listdir(directory):
                child = f"{directory.rstrip('/')}/{name}"
                kind = self._kind(child) if child not in self.symlinks else None
                if kind == "dir":
                    if not skip_dir(name, child):
                        pending.append(child)
                elif kind == "file":
                    seen += 1
                    if seen > limit:
                        return
                    yield child
