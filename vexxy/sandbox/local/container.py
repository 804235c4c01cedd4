"""The run's runc container: started with --keep, so its cgroup (OOM and pids counters) stays until it is deleted."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from vexxy.sandbox.log_tail import CHUNK_BYTES, TAIL_BYTES, redacted_tail
from vexxy.sandbox.state import PRIVATE_DIR, private_file


class Container:
    """One container id under the runtime's state root: run, state and pid, delete, kill; and its log."""

    def __init__(self, runtime: str, runc_root: Path, container_id: str, bundle: Path, log: Path, secrets: tuple[str, ...]):
        self.runtime, self.runc_root, self.id = runtime, runc_root, container_id
        self.bundle, self.log = bundle, log
        self.secrets = secrets  # hidden from the log before its tail is kept
        self.process: subprocess.Popen | None = None
        self.expected = False  # whether a container of ours should exist (we delete exited ones)

    def _runc(self, *args: str) -> list[str]:
        return [self.runtime, "--root", str(self.runc_root), *args]

    def run(self) -> None:
        """Start the bundle's process, its output appended to the log."""
        self.runc_root.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)  # runc's state holds the config
        log = private_file(self.log, append=True)
        self.process = subprocess.Popen(
            # --keep: the container (and its cgroup, with OOM and pids counters) stays until we delete it.
            self._runc("run", "--keep", "--bundle", str(self.bundle), self.id),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.expected = True
        log.close()

    def exited(self) -> int | None:
        """The exit code once the process has ended, else None (also before it ever started)."""
        if self.process is None:
            return None
        code = self.process.poll()
        return code

    def wait(self) -> int:
        return self.process.wait()

    def pid(self) -> int | None:
        """The container's init process on the host, while runc says it is running."""
        result = subprocess.run(self._runc("state", self.id), capture_output=True, text=True)
        if result.returncode != 0:
            return None
        state = json.loads(result.stdout)
        return state.get("pid") if state.get("status") == "running" else None

    def exists(self) -> bool:
        """Whether runc still knows the container (someone else may have deleted it)."""
        return subprocess.run(self._runc("state", self.id), capture_output=True).returncode == 0

    def delete(self) -> None:
        subprocess.run(self._runc("delete", "--force", self.id), capture_output=True)
        self.expected = False

    def stop(self) -> None:
        """TERM, then KILL to every process of it, then the runc process itself."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run(self._runc("kill", self.id, "TERM"), capture_output=True)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                subprocess.run(self._runc("kill", "--all", self.id, "KILL"), capture_output=True)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()

    def log_tail(self, limit: int = TAIL_BYTES) -> str:
        """The log's last bytes, secret values hidden in the whole log first (see log_tail.py)."""
        try:
            with open(self.log, "rb") as log:
                if not self.secrets:
                    log.seek(max(0, os.fstat(log.fileno()).st_size - limit))
                return redacted_tail(iter(lambda: log.read(CHUNK_BYTES), b""), self.secrets, limit)
        except OSError:
            return ""
