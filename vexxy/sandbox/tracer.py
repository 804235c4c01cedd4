"""Record every file a sandboxed workload opens or executes, with fanotify.

A `FAN_MARK_FILESYSTEM` mark on the run's own overlay filesystem sees every open and exec inside
the container and nothing of the host (the overlay is a filesystem of its own). Notification-only
events cost the workload almost nothing, unlike ptrace. Paths are reported relative to the
image root, with first-seen time and counts.

Each file opened or executed is also identified by content (`vexxy.oci.layers.identity`), read
through the event's own file descriptor when it is opened: a package file copied, renamed or
zipped elsewhere by the workload is still recognised, whatever its path or name says. Each inode
version is read once. The read comes after the open, so a file written while the workload ran
(through any of its names, before or after it was opened) is marked `CHANGED_MARK`: the content
hashed may not be what was loaded. Code too large to read in full is marked `UNREAD_MARK`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import stat
import struct
import threading
from dataclasses import dataclass, field

from vexxy.oci.layers.identity import (
    CHANGED_MARK,
    IDENTITY_HEAD,
    MAX_ARCHIVE_BYTES,
    UNREAD_MARK,
    CodeIdentity,
    identity_of_stream,
    kind_of,
)
from vexxy.sandbox.clock import SYSTEM_CLOCK, Clock

FAN_CLOEXEC = 0x00000001
FAN_NONBLOCK = 0x00000002
FAN_CLASS_NOTIF = 0x00000000
FAN_UNLIMITED_QUEUE = 0x00000010
FAN_MARK_ADD = 0x00000001
FAN_MARK_FILESYSTEM = 0x00000100
FAN_OPEN = 0x00000020
FAN_OPEN_EXEC = 0x00001000
FAN_CLOSE_WRITE = 0x00000008
FAN_Q_OVERFLOW = 0x00004000
FAN_NOFD = -1
AT_FDCWD = -100
DELETED = " (deleted)"  # what the kernel appends to the link of a descriptor whose file was unlinked
MAX_IDENTIFIED_BYTES = 256 << 20  # a larger code file is recorded as UNREAD_MARK (never matched)
MAX_DATA_BYTES = MAX_ARCHIVE_BYTES  # a larger file of no code kind is not identified (no package's code is that large)
_METADATA = struct.Struct("=IBBHQii")

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
_libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]


class TracerError(OSError):
    pass


@dataclass
class PathRecord:
    first_seen: float  # seconds since the observation started
    count: int = 0
    flags: set[str] = field(default_factory=set)
    phase: str = "idle"
    identities: set[str] = field(default_factory=set)  # sha256 of each content seen at this path


class _EventFile:
    """A file-like view of a fanotify event's descriptor, read with pread (its offset is never moved)."""

    def __init__(self, fd: int):
        self._fd, self._offset = fd, 0

    def read(self, size: int = -1) -> bytes:
        data = os.pread(self._fd, size if size >= 0 else 1 << 20, self._offset)
        self._offset += len(data)
        return data


class FileTracer:
    """Watches one mounted filesystem; `opens` and `execs` map image paths to records."""

    def __init__(self, mount_point: str, clock: Clock = SYSTEM_CLOCK):
        self.mount_point = os.path.realpath(mount_point)
        self.clock = clock
        self.started = clock.monotonic()
        self.opens: dict[str, PathRecord] = {}
        self.execs: dict[str, PathRecord] = {}
        self.overflowed = False
        self.last_new_path = self.started
        self.phase = "idle"
        self.identities: dict[str, CodeIdentity] = {}  # sha256 -> what the content is
        self._identified: dict[tuple[int, ...], CodeIdentity | None] = {}
        self._records_of: dict[tuple[int, int], list[PathRecord]] = {}  # inode -> the records of paths opened as it
        self._written: set[tuple[int, int]] = set()  # inodes written while the workload ran
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fd = _libc.fanotify_init(
            FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE, os.O_RDONLY | os.O_LARGEFILE | os.O_CLOEXEC
        )
        if fd < 0:
            code = ctypes.get_errno()
            raise TracerError(
                code, f"fanotify_init failed: {os.strerror(code)} (the tracer needs root and a Linux kernel with fanotify)"
            )
        self._fd = fd
        mask = FAN_OPEN | FAN_OPEN_EXEC | FAN_CLOSE_WRITE
        if _libc.fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, self.mount_point.encode()) != 0:
            code = ctypes.get_errno()
            os.close(fd)
            raise TracerError(code, f"fanotify_mark on {self.mount_point} failed: {os.strerror(code)}")
        self._thread = threading.Thread(target=self._loop, name="vexxy-tracer", daemon=True)
        self._thread.start()

    def _relative(self, path: str) -> str | None:
        if path.startswith(self.mount_point + "/"):
            return path[len(self.mount_point) :]
        if path == self.mount_point:
            return "/"
        # Seen through the container's own mount namespace: the path is already image-relative.
        return path if path.startswith("/") else None

    def _record(
        self,
        table: dict[str, PathRecord],
        path: str,
        flag: str,
        now: float,
        identity: str = "",
        inode: tuple[int, int] | None = None,
    ) -> None:
        record = table.get(path)
        if record is None:
            table[path] = record = PathRecord(first_seen=round(now - self.started, 3), phase=self.phase)
            self.last_new_path = now
        record.count += 1
        record.flags.add(flag)
        if identity:
            record.identities.add(identity)
        if inode is not None:
            records = self._records_of.setdefault(inode, [])
            if not any(r is record for r in records):
                records.append(record)
            if inode in self._written:
                record.identities.add(CHANGED_MARK)

    def _changed(self, inode: tuple[int, int]) -> None:
        """The file `inode` was written: every path it was or will be opened as is marked."""
        self._written.add(inode)
        for record in self._records_of.get(inode, ()):
            record.identities.add(CHANGED_MARK)

    def _identify(self, fd: int, path: str, info: os.stat_result) -> str:
        """The sha256 of a regular file's content as opened (`UNREAD_MARK` for code too large to read,
        empty for a large file of no code kind), once per inode version."""
        if not stat.S_ISREG(info.st_mode):
            return ""
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if key not in self._identified:
            try:
                code = kind_of(path, os.pread(fd, IDENTITY_HEAD, 0), info.st_mode) is not None
                limit = MAX_IDENTIFIED_BYTES if code else MAX_DATA_BYTES
                found = identity_of_stream(path, _EventFile(fd), info.st_mode, limit, data=True)
                if found is not None and not found.sha256 and not code:
                    found = None
            except OSError:
                found = None
            self._identified[key] = found
        found = self._identified[key]
        if found is None:
            return ""
        if not found.sha256:
            return UNREAD_MARK
        self.identities.setdefault(found.sha256, found)
        return found.sha256

    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            self.drain()

    def drain(self) -> None:
        """Read every queued event (also called once more after the workload stopped)."""
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EBADF,):
                    return
                raise
            if not data:
                return
            now = self.clock.monotonic()
            offset = 0
            while offset + _METADATA.size <= len(data):
                event_len, _vers, _res, _meta_len, mask, fd, _pid = _METADATA.unpack_from(data, offset)
                offset += event_len or _METADATA.size
                if mask & FAN_Q_OVERFLOW:
                    self.overflowed = True
                if fd == FAN_NOFD or fd < 0:
                    continue
                identity = ""
                inode = None
                try:
                    path = os.readlink(f"/proc/self/fd/{fd}")
                    if path.endswith(DELETED):  # replaced or removed since it was opened: where it was
                        path = path[: -len(DELETED)]
                    relative = self._relative(path)
                    if relative is not None:
                        info = os.fstat(fd)
                        inode = (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None
                        if mask & (FAN_OPEN | FAN_OPEN_EXEC):
                            identity = self._identify(fd, relative, info)
                except OSError:
                    relative = None
                finally:
                    os.close(fd)
                if relative is None:
                    continue
                with self._lock:
                    if mask & FAN_OPEN_EXEC:
                        self._record(self.execs, relative, "exec", now, identity, inode)
                    if mask & FAN_OPEN:
                        self._record(self.opens, relative, "O_RDONLY", now, identity, inode)
                    if mask & FAN_CLOSE_WRITE:
                        self._record(self.opens, relative, "O_WRONLY", now, inode=inode)
                        if inode is not None:
                            self._changed(inode)

    def snapshot_size(self) -> int:
        with self._lock:
            return len(self.opens) + len(self.execs)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.drain()
        try:
            os.close(self._fd)
        except OSError:
            pass


class NullTracer(FileTracer):
    """Records nothing (for measuring what tracing costs); same interface as FileTracer."""

    def __init__(self, mount_point: str, clock: Clock = SYSTEM_CLOCK):
        self.mount_point = os.path.realpath(mount_point)
        self.clock = clock
        self.started = self.last_new_path = clock.monotonic()
        self.opens, self.execs, self.overflowed, self.phase = {}, {}, False, "idle"
        self.identities = {}
        self._records_of, self._written = {}, set()
        self._lock = threading.Lock()

    def drain(self) -> None:
        pass

    def stop(self) -> None:
        pass
