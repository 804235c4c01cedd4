"""Record every file a sandboxed workload opens or executes, with fanotify.

A `FAN_MARK_FILESYSTEM` mark on the run's own overlay filesystem sees every open and exec inside
the container and nothing of the host (the overlay is a filesystem of its own). Notification-only
events cost the workload almost nothing, unlike ptrace. Paths are reported relative to the
image root, with first-seen time and counts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import threading
import time
from dataclasses import dataclass, field

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


class FileTracer:
    """Watches one mounted filesystem; `opens` and `execs` map image paths to records."""

    def __init__(self, mount_point: str):
        self.mount_point = os.path.realpath(mount_point)
        self.started = time.monotonic()
        self.opens: dict[str, PathRecord] = {}
        self.execs: dict[str, PathRecord] = {}
        self.overflowed = False
        self.last_new_path = self.started
        self.phase = "idle"
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

    def _record(self, table: dict[str, PathRecord], path: str, flag: str, now: float) -> None:
        record = table.get(path)
        if record is None:
            table[path] = record = PathRecord(first_seen=round(now - self.started, 3), phase=self.phase)
            self.last_new_path = now
        record.count += 1
        record.flags.add(flag)

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
            now = time.monotonic()
            offset = 0
            with self._lock:
                while offset + _METADATA.size <= len(data):
                    event_len, _vers, _res, _meta_len, mask, fd, _pid = _METADATA.unpack_from(data, offset)
                    offset += event_len or _METADATA.size
                    if mask & FAN_Q_OVERFLOW:
                        self.overflowed = True
                    if fd == FAN_NOFD or fd < 0:
                        continue
                    try:
                        path = os.readlink(f"/proc/self/fd/{fd}")
                    except OSError:
                        path = None
                    finally:
                        os.close(fd)
                    relative = self._relative(path) if path else None
                    if relative is None:
                        continue
                    if mask & FAN_OPEN_EXEC:
                        self._record(self.execs, relative, "exec", now)
                    if mask & FAN_OPEN:
                        self._record(self.opens, relative, "O_RDONLY", now)
                    if mask & FAN_CLOSE_WRITE:
                        self._record(self.opens, relative, "O_WRONLY", now)

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

    def __init__(self, mount_point: str):
        self.mount_point = os.path.realpath(mount_point)
        self.started = self.last_new_path = time.monotonic()
        self.opens, self.execs, self.overflowed, self.phase = {}, {}, False, "idle"
        self._lock = threading.Lock()

    def drain(self) -> None:
        pass

    def stop(self) -> None:
        pass
