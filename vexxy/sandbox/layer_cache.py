"""Unpacked layers shared between images: one directory per verified diff_id, leased while used, evicted LRU.

A directory is stored under a diff_id only after the layer's uncompressed bytes hashed to that
diff_id, and it records which `registry/repository@blob` sources were seen to produce it: an
image may reuse it only through a blob its own repository served and that was checked here, so
copying another image's diff_ids buys neither that image's files nor a place in its cache entry.
A sandbox holds a lease on the layers it stacks; eviction (least recently used first, until the
cache fits its size and entry settings: empty files take no blocks but do take inodes) never
removes a leased layer, nor one being unpacked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vexxy.oci.layers.digests import digest_hex
from vexxy.oci.layers.unpack import UnpackReport
from vexxy.sandbox.state import owner_alive

META = "meta.json"
TREE = "fs"
_OWNER = re.compile(r"[0-9a-zA-Z_-]{1,64}")


class DiffIdMismatch(Exception):
    """A layer's bytes do not hash to the diff_id it was presented as (carries the real digest)."""

    def __init__(self, actual: str):
        super().__init__(actual)
        self.actual = actual


@dataclass(frozen=True)
class CachedLayer:
    diff_id: str
    tree: Path  # the layer's files in overlay format, usable as an overlay lower dir
    report: UnpackReport
    disk_bytes: int


def disk_usage(root: Path) -> int:
    """Bytes a tree occupies on disk (allocated blocks; hard links counted once)."""
    seen: set[int] = set()
    total = os.lstat(root).st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            info = os.lstat(os.path.join(dirpath, name))
            if info.st_ino in seen:
                continue
            seen.add(info.st_ino)
            total += info.st_blocks * 512
    return total


class LayerCache:
    def __init__(self, cache_dir: Path, max_bytes: int, max_entries: int = 1_000_000):
        self.root = Path(cache_dir) / "layers"
        self.leases = Path(cache_dir) / "leases"
        self.max_bytes = max_bytes
        self.max_entries = max_entries

    # --- paths and metadata ------------------------------------------------------------------

    def path(self, diff_id: str) -> Path:
        """The directory of a verified diff_id (refuses anything but `sha256:<64 hex>`)."""
        return self.root / digest_hex(diff_id)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_meta(self, directory: Path) -> dict | None:
        try:
            return json.loads((directory / META).read_text())
        except (OSError, ValueError):
            return None

    def _write_meta(self, directory: Path, meta: dict) -> None:
        tmp = directory / f".{META}.{os.getpid()}"
        tmp.write_text(json.dumps(meta, sort_keys=True))
        os.replace(tmp, directory / META)

    def _layer(self, diff_id: str, meta: dict) -> CachedLayer:
        report = UnpackReport(**meta["report"])
        return CachedLayer(diff_id, self.path(diff_id) / TREE, report, int(meta["disk_bytes"]))

    # --- use ---------------------------------------------------------------------------------

    def get(self, diff_id: str, source: str) -> CachedLayer | None:
        """The cached layer, if `source` (registry/repository@blob) is known to produce it; marks it used."""
        directory = self.path(diff_id)
        meta = self._read_meta(directory)
        if meta is None or source not in meta.get("sources", []):
            return None
        os.utime(directory / META)
        return self._layer(diff_id, meta)

    def known(self, diff_id: str) -> bool:
        return self._read_meta(self.path(diff_id)) is not None

    def vouch(self, diff_id: str, source: str, verify: Callable[[], str]) -> CachedLayer:
        """Reuse an unpacked layer for a new source once `verify()` (the source's bytes, hashed) matches."""
        actual = verify()
        if actual != diff_id:
            raise DiffIdMismatch(actual)
        with self._locked():
            directory = self.path(diff_id)
            meta = self._read_meta(directory)
            if meta is None:
                raise FileNotFoundError(directory)
            meta["sources"] = sorted(set(meta.get("sources", [])) | {source})
            self._write_meta(directory, meta)
        return self._layer(diff_id, meta)

    def add(self, diff_id: str, source: str, unpack: Callable[[Path], tuple[str, UnpackReport]]) -> CachedLayer:
        """Unpack a layer with `unpack(tree)` and store it under `diff_id` only if its bytes hashed to it."""
        self.root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".unpack-{os.getpid()}-", dir=self.root))
        try:
            (work / TREE).mkdir()
            actual, report = unpack(work / TREE)
            if actual != diff_id:
                raise DiffIdMismatch(actual)
            meta = {
                "diff_id": diff_id,
                "sources": [source],
                "report": report.__dict__,
                "disk_bytes": disk_usage(work / TREE),
            }
            self._write_meta(work, meta)
            with self._locked():
                try:
                    os.rename(work, self.path(diff_id))
                except OSError:  # another process stored the same layer first: keep theirs, add our source
                    existing = self._read_meta(self.path(diff_id)) or meta
                    existing["sources"] = sorted(set(existing.get("sources", [])) | {source})
                    self._write_meta(self.path(diff_id), existing)
                    meta = existing
            return self._layer(diff_id, meta)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # --- leases and eviction -----------------------------------------------------------------

    @contextlib.contextmanager
    def lease(self, owner: str, diff_ids: list[str]) -> Iterator[None]:
        """Keep `diff_ids` from eviction while the block runs (and while `owner`'s process lives)."""
        if not _OWNER.fullmatch(owner):
            raise ValueError(f"lease owner {owner!r} is not a plain id")
        lease = self.leases / f"{owner}.json"
        with self._locked():
            self.leases.mkdir(parents=True, exist_ok=True)
            lease.write_text(json.dumps({"pid": os.getpid(), "layers": [digest_hex(d) for d in diff_ids]}))
        try:
            yield
        finally:
            lease.unlink(missing_ok=True)

    def _leased(self) -> set[str]:
        leased: set[str] = set()
        for lease in self.leases.glob("*.json") if self.leases.exists() else []:
            try:
                data = json.loads(lease.read_text())
            except (OSError, ValueError):
                continue
            if owner_alive(int(data.get("pid", 0))):
                leased.update(data.get("layers", []))
            else:
                lease.unlink(missing_ok=True)
        return leased

    def _stored(self) -> list[tuple[float, str, int, int]]:
        """(last used, diff hex, disk bytes, files and directories) of every stored layer, least recent first."""
        found = []
        for directory in self.root.iterdir() if self.root.exists() else []:
            if directory.name.startswith("."):
                continue
            meta = self._read_meta(directory)
            if meta is None:
                continue
            entries = int(meta["report"].get("entries", 0))
            found.append(((directory / META).stat().st_mtime, directory.name, int(meta["disk_bytes"]), entries))
        return sorted(found)

    def entries(self) -> list[tuple[float, str, int]]:
        """(last used, diff hex, disk bytes) of every stored layer."""
        return [(used, name, size) for used, name, size, _ in self._stored()]

    def size(self) -> int:
        return sum(size for _, _, size, _ in self._stored())

    def entry_count(self) -> int:
        """Files, directories and links of every stored layer: the cache's inodes."""
        return sum(count for _, _, _, count in self._stored())

    def evict(self) -> list[str]:
        """Remove least recently used layers until the cache fits `max_bytes` and `max_entries`; leased ones
        stay. Returns diff_ids."""
        doomed: list[Path] = []
        evicted: list[str] = []
        with self._locked():
            leased = self._leased()
            stored = self._stored()
            total = sum(size for _, _, size, _ in stored)
            total_entries = sum(count for _, _, _, count in stored)
            for _, name, size, count in stored:
                if total <= self.max_bytes and total_entries <= self.max_entries:
                    break
                if name in leased:
                    continue
                target = self.root / f".evict-{name}-{time.time_ns()}"
                os.rename(self.root / name, target)
                doomed.append(target)
                evicted.append(f"sha256:{name}")
                total -= size
                total_entries -= count
            doomed.extend(self.root.glob(".evict-*"))  # left by a process killed while removing
            for stale in self.root.glob(".unpack-*"):
                pid = stale.name.split("-")[1]
                if pid.isdigit() and not owner_alive(int(pid)):
                    doomed.append(stale)
        for directory in doomed:
            shutil.rmtree(directory, ignore_errors=True)
        return evicted
